/* test_fill_bands.c - the non-learned fill never paints the foreground into the hidden layers
 * (issue 15): on the project's sample, every synthesised band (a link-connected set of inpainted
 * nodes) is compared with the two sides of its edge. The background side: the photo's nodes reached
 * from the band through links (the band is linked to the surface it continues) within BAND_REACH
 * steps; the foreground side: the photo's nodes in front of the band's nodes (the occluder at the same
 * pixels) and those linked to them within BAND_REACH steps, less the background side. The band's
 * colour histogram (4 x 4 x 4 RGB bins) must intersect the background side's more than BAND_MARGIN
 * times the foreground side's. Before issue 15 the band behind the pillar's left edge was the
 * pillar's wood (intersection 0.673 with the bricks beside it, 0.703 with the wood); the band behind
 * the right edge, bricks then too, passed (0.841 against 0.672). Coarse bins: the sample's brick
 * orange and wood brown are near, and a fill's smoother colours must still land in the bins of the
 * texture they continue. */
#include "p3d_test.h"

#include "pipeline/photo3d.h"

#define BAND_REACH 12
#define BAND_MIN_NODES 300
#define BAND_MARGIN 1.0
#define BINS 64

static int32_t bin_of(const uint8_t *c) { return (c[0] >> 6) * 16 + (c[1] >> 6) * 4 + (c[2] >> 6); }

static int is_synth(uint8_t label) {
    return label == P3D_LABEL_INPAINT1 || label == P3D_LABEL_INPAINT2 || label == P3D_LABEL_OCCLUSION;
}

/* Breadth-first growth over links from the nodes flagged `seed_tag` in tag[] through ORIGINAL nodes
 * (tag 0), tagging them `tag_val`, up to `reach` steps. queue: n_nodes ints. */
static void grow(const p3d_ldi *l, uint8_t *tag, uint8_t seed_tag, uint8_t tag_val, int32_t reach, int32_t *queue,
                 int32_t *dist, const int32_t *seeds, int32_t n_seeds) {
    int32_t qh = 0, qt = 0;
    for (int32_t i = 0; i < n_seeds; i++) {
        queue[qt++] = seeds[i];
        dist[seeds[i]] = 0;
    }
    (void)seed_tag;
    while (qh < qt) {
        const int32_t a = queue[qh++];
        if (dist[a] >= reach) continue;
        for (int32_t d = 0; d < 4; d++) {
            const int32_t b = l->link[4 * (size_t)a + d];
            if (b < 0 || tag[b] != 0 || l->label[b] != P3D_LABEL_ORIGINAL) continue;
            tag[b] = tag_val;
            dist[b] = dist[a] + 1;
            queue[qt++] = b;
        }
    }
}

static void test_sample_bands(void) {
    p3d_device dev = {P3D_DEVICE_CPU, 0};
    p3d_ctx *ctx = NULL;
    CHECK_OK(p3d_ctx_init(&ctx, dev));
    p3d_depth map;
    CHECK_OK(p3d_depth_read("samples/scene_disp.png", NULL, &map));
    p3d_ldi_nets nets;
    memset(&nets, 0, sizeof nets); /* no nets: the non-learned fill */
    p3d_photo_opts o = p3d_photo_opts_default();
    p3d_photo_result r;
    CHECK_OK(p3d_photo_to_mesh(ctx, &nets, "samples/scene.png", &map, &o, &r));
    if (p3d_t_case_failed) return;
    const p3d_ldi *l = &r.ldi;
    const int32_t n = l->n_nodes;
    int32_t *comp = (int32_t *)malloc((size_t)n * sizeof *comp), *queue = (int32_t *)malloc((size_t)n * sizeof *queue);
    int32_t *dist = (int32_t *)malloc((size_t)n * sizeof *dist), *members = (int32_t *)malloc((size_t)n * sizeof *members);
    int32_t *seeds = (int32_t *)malloc((size_t)n * sizeof *seeds);
    uint8_t *tag = (uint8_t *)malloc((size_t)n);
    CHECK(comp && queue && dist && members && seeds && tag);
    for (int32_t i = 0; i < n; i++) comp[i] = -1;
    int32_t bands = 0, checked = 0;
    for (int32_t s = 0; s < n; s++) {
        if (!is_synth(l->label[s]) || comp[s] >= 0) continue;
        int32_t nm = 0, qh = 0;
        members[nm++] = s;
        comp[s] = bands;
        while (qh < nm) {
            const int32_t a = members[qh++];
            for (int32_t d = 0; d < 4; d++) {
                const int32_t b = l->link[4 * (size_t)a + d];
                if (b >= 0 && comp[b] < 0 && is_synth(l->label[b])) comp[b] = bands, members[nm++] = b;
            }
        }
        bands++;
        if (nm < BAND_MIN_NODES) continue;
        memset(tag, 0, (size_t)n);
        /* background side: ORIGINAL nodes linked to the band, grown */
        int32_t ns = 0;
        for (int32_t i = 0; i < nm; i++)
            for (int32_t d = 0; d < 4; d++) {
                const int32_t b = l->link[4 * (size_t)members[i] + d];
                if (b >= 0 && l->label[b] == P3D_LABEL_ORIGINAL && !tag[b]) tag[b] = 1, seeds[ns++] = b;
            }
        grow(l, tag, 1, 1, BAND_REACH, queue, dist, seeds, ns);
        /* foreground side: the photo's node in front of each band node, grown */
        ns = 0;
        for (int32_t i = 0; i < nm; i++) {
            const int32_t f = l->head[l->pix[members[i]]];
            if (f >= 0 && f != members[i] && l->label[f] == P3D_LABEL_ORIGINAL && !tag[f]) tag[f] = 2, seeds[ns++] = f;
        }
        grow(l, tag, 2, 2, BAND_REACH, queue, dist, seeds, ns);
        double hb[BINS] = {0}, hf[BINS] = {0}, nb = 0, nf = 0, mb[3] = {0}, mf[3] = {0}, mm[3] = {0};
        for (int32_t i = 0; i < n; i++) {
            const uint8_t *c = l->rgb + 3 * (size_t)i;
            if (tag[i] == 1) hb[bin_of(c)] += 1, nb += 1, mb[0] += c[0], mb[1] += c[1], mb[2] += c[2];
            if (tag[i] == 2) hf[bin_of(c)] += 1, nf += 1, mf[0] += c[0], mf[1] += c[1], mf[2] += c[2];
        }
        for (int32_t i = 0; i < nm; i++)
            for (int32_t c = 0; c < 3; c++) mm[c] += l->rgb[3 * (size_t)members[i] + c];
        if (nb < 50 || nf < 50) continue;
        double hm[BINS] = {0}, ib = 0, inf = 0;
        for (int32_t i = 0; i < nm; i++) hm[bin_of(l->rgb + 3 * (size_t)members[i])] += 1.0 / nm;
        for (int32_t k = 0; k < BINS; k++) {
            ib += hm[k] < hb[k] / nb ? hm[k] : hb[k] / nb;
            inf += hm[k] < hf[k] / nf ? hm[k] : hf[k] / nf;
        }
        const int32_t x = p3d_ldi_x(l, s) - l->border, y = p3d_ldi_y(l, s) - l->border;
        printf("band %d: %d nodes from (%d, %d), mean colour %.0f %.0f %.0f; background side %d nodes, %.0f %.0f %.0f; "
               "foreground side %d nodes, %.0f %.0f %.0f; histogram intersection with the background %.3f, with the "
               "foreground %.3f\n",
               (int)bands - 1, (int)nm, (int)x, (int)y, mm[0] / nm, mm[1] / nm, mm[2] / nm, (int)nb, mb[0] / nb,
               mb[1] / nb, mb[2] / nb, (int)nf, mf[0] / nf, mf[1] / nf, mf[2] / nf, ib, inf);
        CHECK_MSG(ib > BAND_MARGIN * inf, "band from (%d, %d): its colours are closer to the foreground's (%.3f) than "
                  "to the background's (%.3f)", (int)x, (int)y, inf, ib);
        checked++;
    }
    CHECK_MSG(checked >= 2, "only %d bands large enough to check", (int)checked);
    free(comp), free(queue), free(dist), free(members), free(seeds), free(tag);
    p3d_photo_result_free(&r);
    p3d_depth_free(&map);
    p3d_ctx_free(ctx);
}

int main(void) {
    RUN(test_sample_bands);
    return p3d_test_finish();
}
