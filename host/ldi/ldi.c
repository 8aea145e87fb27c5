/* ldi.c - the LDI container: allocation, node insertion, links, invariant check (ldi.h). */
#include "ldi/ldi.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

p3d_status p3d_ldi_init(p3d_ldi *l, int32_t width, int32_t height, int32_t border, const p3d_camera *cam) {
    memset(l, 0, sizeof *l);
    if (width < 1 || height < 1 || border < 0 || width > 32768 || height > 32768 || border > 4096)
        return p3d_fail(P3D_ERR_INVALID_ARG, "LDI: bad size %dx%d, border %d", (int)width, (int)height, (int)border);
    l->width = width;
    l->height = height;
    l->border = border;
    l->ext_w = width + 2 * border;
    l->ext_h = height + 2 * border;
    l->cam = *cam;
    size_t n = (size_t)l->ext_w * (size_t)l->ext_h;
    if (!(l->head = (int32_t *)malloc(n * sizeof *l->head))) return p3d_fail(P3D_ERR_OOM, "LDI: out of memory");
    memset(l->head, 0xff, n * sizeof *l->head);
    return P3D_OK;
}

void p3d_ldi_free(p3d_ldi *l) {
    if (!l) return;
    free(l->pix);
    free(l->depth);
    free(l->rgb);
    free(l->label);
    free(l->iter);
    free(l->link);
    free(l->next);
    free(l->head);
    memset(l, 0, sizeof *l);
}

/* realloc that leaves *p untouched on failure. */
static int grow(void **p, size_t bytes) {
    void *q = realloc(*p, bytes);
    if (!q) return 0;
    *p = q;
    return 1;
}

p3d_status p3d_ldi_reserve(p3d_ldi *l, int32_t n) {
    if (n <= l->cap_nodes) return P3D_OK;
    int64_t cap = l->cap_nodes ? (int64_t)l->cap_nodes : 1024;
    while (cap < n) cap *= 2;
    if (cap > INT32_MAX) cap = INT32_MAX;
    if (cap < n) return p3d_fail(P3D_ERR_OOM, "LDI: more than %d nodes", (int)INT32_MAX);
    size_t c = (size_t)cap;
    if (!grow((void **)&l->pix, c * sizeof *l->pix) || !grow((void **)&l->depth, c * sizeof *l->depth) ||
        !grow((void **)&l->rgb, c * 3) || !grow((void **)&l->label, c) || !grow((void **)&l->iter, c) ||
        !grow((void **)&l->link, c * 4 * sizeof *l->link) || !grow((void **)&l->next, c * sizeof *l->next))
        return p3d_fail(P3D_ERR_OOM, "LDI: out of memory for %lld nodes", (long long)cap);
    l->cap_nodes = (int32_t)cap;
    return P3D_OK;
}

p3d_status p3d_ldi_add_node(p3d_ldi *l, int32_t x, int32_t y, float depth, const uint8_t rgb[3], uint8_t label,
                            uint8_t iter, int32_t *id) {
    if (x < 0 || y < 0 || x >= l->ext_w || y >= l->ext_h)
        return p3d_fail(P3D_ERR_INVALID_ARG, "LDI: node at (%d, %d) outside the %dx%d canvas", (int)x, (int)y,
                        (int)l->ext_w, (int)l->ext_h);
    if (!isfinite(depth) || !(depth > 0))
        return p3d_fail(P3D_ERR_INVALID_ARG, "LDI: node at (%d, %d) has depth %g", (int)x, (int)y, (double)depth);
    int32_t p = y * l->ext_w + x;
    int32_t prev = -1, cur = l->head[p];
    while (cur >= 0 && l->depth[cur] < depth) {
        prev = cur;
        cur = l->next[cur];
    }
    if (cur >= 0 && l->depth[cur] == depth)
        return p3d_fail(P3D_ERR_INVALID_ARG, "LDI: a node of depth %g exists at (%d, %d)", (double)depth, (int)x,
                        (int)y);
    P3D_TRY(p3d_ldi_reserve(l, l->n_nodes + 1));
    int32_t n = l->n_nodes++;
    l->pix[n] = p;
    l->depth[n] = depth;
    memcpy(l->rgb + 3 * (size_t)n, rgb, 3);
    l->label[n] = label;
    l->iter[n] = iter;
    for (int32_t d = 0; d < 4; d++) l->link[4 * (size_t)n + d] = -1;
    l->next[n] = cur;
    if (prev < 0)
        l->head[p] = n;
    else
        l->next[prev] = n;
    if (id) *id = n;
    return P3D_OK;
}

void p3d_ldi_link(p3d_ldi *l, int32_t a, int32_t d, int32_t b) {
    P3D_ASSERT(a >= 0 && b >= 0 && a < l->n_nodes && b < l->n_nodes && d >= 0 && d < 4);
    P3D_ASSERT(l->pix[b] == l->pix[a] + p3d_dir_dx(d) + p3d_dir_dy(d) * l->ext_w);
    int32_t old = l->link[4 * (size_t)a + d];
    if (old >= 0 && old != b) l->link[4 * (size_t)old + p3d_dir_opposite(d)] = -1;
    int32_t oldb = l->link[4 * (size_t)b + p3d_dir_opposite(d)];
    if (oldb >= 0 && oldb != a) l->link[4 * (size_t)oldb + d] = -1;
    l->link[4 * (size_t)a + d] = b;
    l->link[4 * (size_t)b + p3d_dir_opposite(d)] = a;
}

void p3d_ldi_unlink(p3d_ldi *l, int32_t a, int32_t d) {
    int32_t b = l->link[4 * (size_t)a + d];
    if (b < 0) return;
    l->link[4 * (size_t)a + d] = -1;
    l->link[4 * (size_t)b + p3d_dir_opposite(d)] = -1;
}

int32_t p3d_ldi_degree(const p3d_ldi *l, int32_t id) {
    const int32_t *k = l->link + 4 * (size_t)id;
    return (k[0] >= 0) + (k[1] >= 0) + (k[2] >= 0) + (k[3] >= 0);
}

int32_t p3d_ldi_layers(const p3d_ldi *l, int32_t x, int32_t y) {
    int32_t n = 0;
    for (int32_t c = l->head[y * l->ext_w + x]; c >= 0; c = l->next[c]) n++;
    return n;
}

p3d_status p3d_ldi_check(const p3d_ldi *l) {
    int64_t npix = (int64_t)l->ext_w * l->ext_h, listed = 0;
    for (int64_t p = 0; p < npix; p++) {
        float last = 0;
        for (int32_t c = l->head[p], k = 0; c >= 0; c = l->next[c], k++) {
            if (c >= l->n_nodes) return p3d_fail(P3D_ERR_FORMAT, "LDI: pixel %lld lists node %d of %d", (long long)p, (int)c, (int)l->n_nodes);
            if (l->pix[c] != p) return p3d_fail(P3D_ERR_FORMAT, "LDI: node %d listed at pixel %lld but placed at %d", (int)c, (long long)p, (int)l->pix[c]);
            if (k > 0 && !(l->depth[c] > last))
                return p3d_fail(P3D_ERR_FORMAT, "LDI: pixel %lld: layer %d (depth %g) not behind layer %d (%g)", (long long)p, (int)k, (double)l->depth[c], (int)k - 1, (double)last);
            last = l->depth[c];
            if (++listed > l->n_nodes) return p3d_fail(P3D_ERR_FORMAT, "LDI: pixel lists hold more entries than nodes (a cycle)");
        }
    }
    if (listed != l->n_nodes) return p3d_fail(P3D_ERR_FORMAT, "LDI: %lld of %d nodes are in pixel lists", (long long)listed, (int)l->n_nodes);
    for (int32_t a = 0; a < l->n_nodes; a++) {
        if (!(l->depth[a] > 0) || !isfinite(l->depth[a])) return p3d_fail(P3D_ERR_FORMAT, "LDI: node %d has depth %g", (int)a, (double)l->depth[a]);
        for (int32_t d = 0; d < 4; d++) {
            int32_t b = l->link[4 * (size_t)a + d];
            if (b < 0) continue;
            if (b >= l->n_nodes) return p3d_fail(P3D_ERR_FORMAT, "LDI: node %d links to node %d of %d", (int)a, (int)b, (int)l->n_nodes);
            if (l->link[4 * (size_t)b + p3d_dir_opposite(d)] != a)
                return p3d_fail(P3D_ERR_FORMAT, "LDI: link %d -> %d (direction %d) is not symmetric", (int)a, (int)b, (int)d);
            int32_t ax = l->pix[a] % l->ext_w, ay = l->pix[a] / l->ext_w;
            if (l->pix[b] % l->ext_w != ax + p3d_dir_dx(d) || l->pix[b] / l->ext_w != ay + p3d_dir_dy(d))
                return p3d_fail(P3D_ERR_FORMAT, "LDI: link %d -> %d (direction %d) does not join neighbouring pixels", (int)a, (int)b, (int)d);
        }
    }
    return P3D_OK;
}
