/* test_flow_parity.c - the device pipeline against the CPU reference where issue 14 asks for it:
 *  - learned fill: the whole job (photo + depth -> LDI with the three random-weight nets -> mesh) on the
 *    CPU and on the CUDA context, at a size the emulated device runs in seconds; the meshes agree
 *    within the networks' tolerance (see test_learned_parity for what and why);
 *  - the renderer reads the device mesh: `run`'s dense-mesh videos on a GPU build the mesh on the
 *    device (p3d_photo_opts.device_mesh) and render it from there (p3d_renderer_init_device): frames
 *    identical to rendering the downloaded mesh, with the positions and faces not uploaded again.
 * The random-weight blobs are tools/make_test_weights.py's ($P3D_BUILD_DIR/testdata, the ctest fixture
 * inpaint_test_weights); without them the case SKIPs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p3d_test.h"
#include "pipeline/photo3d.h"
#include "render/render.h"
#include "render/trajectory.h"
#ifdef P3D_HAVE_CUDA
#include "p3d_cuda.h"
#endif

/* A random-weight net made tame: its last layer's weights scaled by `scale` and its bias set to `bias`,
 * so the output still depends on every layer's arithmetic (the parity under test) but stays near
 * sigmoid(bias) / bias. Fully random nets predict noise, which makes every synthesised pixel a depth
 * edge of the next pass and the run minutes long at any size. */
static p3d_status load_net(p3d_ctx *ctx, p3d_inpaint_kind kind, float scale, float bias, p3d_inpaint_net **net) {
    char path[1024];
    const char *b = getenv("P3D_BUILD_DIR");
    snprintf(path, sizeof path, "%s/testdata/%s-random.p3dw", b && b[0] ? b : "build", p3d_inpaint_kind_name(kind));
    setenv("P3D_WEIGHTS_NO_MMAP", "1", 1); /* a private, writable copy */
    p3d_weights *w;
    P3D_TRY(p3d_weights_load(path, &w));
    const int32_t n = p3d_weights_count(w);
    p3d_tensor wt, bt;
    p3d_weights_tensor_at(w, n - 2, &wt);
    p3d_weights_tensor_at(w, n - 1, &bt);
    for (int64_t i = 0; i < p3d_tensor_numel(&wt); i++) ((float *)wt.data)[i] *= scale;
    for (int64_t i = 0; i < p3d_tensor_numel(&bt); i++) ((float *)bt.data)[i] = bias;
    p3d_status s = p3d_inpaint_net_init(net, ctx, w, kind);
    p3d_weights_free(w);
    return s;
}

static p3d_status load_nets(p3d_ctx *ctx, p3d_ldi_nets *nets) {
    memset(nets, 0, sizeof *nets);
    /* edge: sigmoid(-4 + small): no predicted edge, so the passes stay small; depth and colour: outputs
     * that vary with the input around the context's mean log depth and mid grey */
    p3d_status s = load_net(ctx, P3D_INPAINT_EDGE, 0.05f, -4.0f, &nets->edge);
    if (s == P3D_OK) s = load_net(ctx, P3D_INPAINT_DEPTH, 0.05f, 0.0f, &nets->depth);
    if (s == P3D_OK) s = load_net(ctx, P3D_INPAINT_COLOR, 0.5f, 0.0f, &nets->color);
    if (s != P3D_OK) p3d_nets_free(nets);
    return s;
}

/* The sample (samples/scene.png with its disparity map) through the whole job at a longer side of side. */
static p3d_status run_sample(p3d_ctx *ctx, const p3d_ldi_nets *nets, int32_t side, int32_t device_mesh,
                             p3d_photo_result *r) {
    const char *src = getenv("P3D_SOURCE_DIR");
    char img[1024], disp[1024];
    snprintf(img, sizeof img, "%s/samples/scene.png", src && src[0] ? src : ".");
    snprintf(disp, sizeof disp, "%s/samples/scene_disp.png", src && src[0] ? src : ".");
    p3d_depth map;
    P3D_TRY(p3d_depth_read(disp, NULL, &map));
    p3d_photo_opts o = p3d_photo_opts_default();
    o.longer_side = side;
    o.device_mesh = device_mesh;
    if (nets->edge) {
        /* the nets' cost grows with the patch area, which the rings and the border set: thin ones keep
         * the learned job to seconds under the emulator (the defaults make 200-px patches at any size) */
        o.ldi.border = 8;
        o.ldi.background_thickness = o.ldi.background_thickness_2 = 8;
        o.ldi.context_thickness = o.ldi.context_thickness_2 = 12;
    }
    p3d_status s = p3d_photo_to_mesh(ctx, nets, img, &map, &o, r);
    p3d_depth_free(&map);
    return s;
}

/* Tolerance, and why: each net's output on the CUDA device is within 1e-4 of its maximum of the CPU's
 * (test_inpaint_nets: cuDNN / cuBLAS vs the CPU GEMM sum in other orders). After the nets the job
 * thresholds and rounds - the edge map at 0.5, colours to 8 bits, depths through the mesh's disparity
 * jump test - so a value that lands within 1e-4 of a threshold may go the other way and move a node,
 * a face or a colour level. The meshes must therefore agree in size within 1%, and, where the node
 * counts agree, 99% of the vertices within 1e-3 of their depth in position and 2 levels in colour.
 * The nets' cost grows with the patch area: even with thin rings and a narrow border the CPU half took
 * 359 s of a loaded 2-core machine at 48 px (the emulated device's half is slower still), so the case
 * runs with P3D_TEST_HEAVY=1 and is skipped, saying so, otherwise. */
static void test_learned_parity(void) {
    const char *heavy = getenv("P3D_TEST_HEAVY");
    if (!heavy || strcmp(heavy, "1") != 0) {
        SKIP("learned fill CPU vs CUDA: about 15 min on 2 cores under the emulator; set P3D_TEST_HEAVY=1 to run it");
        return;
    }
#ifdef P3D_HAVE_CUDA
    int32_t n = 0;
    const char *why = "";
    p3d_cuda_device_count(&n, &why);
    if (n < 1) {
        SKIP_GPU("CPU-vs-CUDA learned fill not run: %s", why);
        return;
    }
    p3d_t_gpu_present = 1;
    p3d_ctx *cpu = NULL, *gpu = NULL;
    p3d_device dc = {P3D_DEVICE_CPU, 0}, dg = {P3D_DEVICE_CUDA, 0};
    CHECK_OK(p3d_ctx_init(&cpu, dc));
    CHECK_OK(p3d_ctx_init(&gpu, dg));
    p3d_ldi_nets nc, ng;
    if (load_nets(cpu, &nc) != P3D_OK) {
        SKIP("learned fill: random-weight blobs not found (%s)", p3d_last_error());
        p3d_ctx_free(cpu);
        p3d_ctx_free(gpu);
        return;
    }
    CHECK_OK(load_nets(gpu, &ng));
    p3d_photo_result a, b;
    const int32_t side = 48;
    double t0 = p3d_time_now();
    CHECK_OK(run_sample(cpu, &nc, side, 0, &a));
    double t1 = p3d_time_now();
    printf("  cpu %.1f s\n", t1 - t0);
    fflush(stdout);
    CHECK_OK(run_sample(gpu, &ng, side, 0, &b));
    printf("  cuda %.1f s\n", p3d_time_now() - t1);
    printf("  cpu: %lld vertices %lld faces, net calls %d/%d/%d; cuda: %lld vertices %lld faces, net calls %d/%d/%d\n",
           (long long)a.mesh.n_vertices, (long long)a.mesh.n_faces, a.report.inpaint.net_calls[0],
           a.report.inpaint.net_calls[1], a.report.inpaint.net_calls[2], (long long)b.mesh.n_vertices,
           (long long)b.mesh.n_faces, b.report.inpaint.net_calls[0], b.report.inpaint.net_calls[1],
           b.report.inpaint.net_calls[2]);
    CHECK(a.report.inpaint.net_calls[1] > 0 && a.report.inpaint.net_calls[2] > 0);
    CHECK(llabs(a.mesh.n_vertices - b.mesh.n_vertices) * 100 <= a.mesh.n_vertices);
    CHECK(llabs(a.mesh.n_faces - b.mesh.n_faces) * 100 <= a.mesh.n_faces);
    if (a.mesh.n_vertices == b.mesh.n_vertices) {
        double dmax = 0;
        int32_t cmax = 0;
        int64_t outside = 0;
        for (int64_t i = 0; i < a.mesh.n_vertices; i++) {
            int off = 0;
            for (int k = 0; k < 3; k++) {
                const double d =
                    fabs((double)a.mesh.xyz[3 * i + k] - b.mesh.xyz[3 * i + k]) / fabs((double)a.mesh.xyz[3 * i + 2]);
                const int32_t c = abs((int)a.mesh.rgba[4 * i + k] - (int)b.mesh.rgba[4 * i + k]);
                if (d > dmax) dmax = d;
                if (c > cmax) cmax = c;
                off |= d > 1e-3 || c > 2;
            }
            outside += off;
        }
        printf("  max position diff / depth %.3g, max colour diff %d, %lld of %lld vertices outside the tolerance\n",
               dmax, (int)cmax, (long long)outside, (long long)a.mesh.n_vertices);
        CHECK(outside * 100 <= a.mesh.n_vertices);
    }
    p3d_photo_result_free(&a);
    p3d_photo_result_free(&b);
    p3d_nets_free(&nc);
    p3d_nets_free(&ng);
    p3d_ctx_free(cpu);
    p3d_ctx_free(gpu);
#else
    p3d_test_no_cuda();
#endif
}

static void test_render_device_mesh(void) {
#ifdef P3D_HAVE_CUDA
    int32_t n = 0;
    const char *why = "";
    p3d_cuda_device_count(&n, &why);
    if (n < 1) {
        SKIP_GPU("device-mesh rendering not run: %s", why);
        return;
    }
    p3d_t_gpu_present = 1;
    p3d_ctx *gpu = NULL;
    p3d_device dg = {P3D_DEVICE_CUDA, 0};
    CHECK_OK(p3d_ctx_init(&gpu, dg));
    if (!gpu) return;
    const p3d_ldi_nets none = {NULL, NULL, NULL};
    p3d_photo_result host, dev;
    CHECK_OK(run_sample(gpu, &none, 96, 0, &host));
    CHECK_OK(run_sample(gpu, &none, 96, 1, &dev));
    CHECK(host.mesh_xyz_dev == NULL && dev.mesh_xyz_dev != NULL && dev.mesh_faces_dev != NULL);
    /* the device-built mesh is the host-built one */
    CHECK(dev.mesh.n_vertices == host.mesh.n_vertices && dev.mesh.n_faces == host.mesh.n_faces);
    CHECK(!memcmp(dev.mesh.xyz, host.mesh.xyz, (size_t)host.mesh.n_vertices * 12) &&
          !memcmp(dev.mesh.faces, host.mesh.faces, (size_t)host.mesh.n_faces * 12) &&
          !memcmp(dev.mesh.rgba, host.mesh.rgba, (size_t)host.mesh.n_vertices * 4));
    const int32_t w = dev.width & ~1, h = dev.height & ~1;
    const p3d_render_opts ro = {w, h, 3, {128, 128, 128}};
    p3d_renderer *ra = NULL, *rb = NULL;
    const p3d_device_traffic t0 = p3d_ctx_traffic(gpu);
    CHECK_OK(p3d_renderer_init(gpu, &dev.mesh, &ro, &ra));
    const p3d_device_traffic t1 = p3d_ctx_traffic(gpu);
    CHECK_OK(p3d_renderer_init_device(gpu, &dev.mesh, dev.mesh_xyz_dev, dev.mesh_faces_dev, &ro, &rb));
    const p3d_device_traffic t2 = p3d_ctx_traffic(gpu);
    const int64_t up_host = t1.h2d_bytes - t0.h2d_bytes, up_dev = t2.h2d_bytes - t1.h2d_bytes;
    const int64_t mesh_bytes = dev.mesh.n_vertices * 12 + dev.mesh.n_faces * 12;
    printf("  renderer upload: %lld bytes from the host mesh, %lld from the device mesh (positions + faces %lld)\n",
           (long long)up_host, (long long)up_dev, (long long)mesh_bytes);
    CHECK(up_host - up_dev == mesh_bytes);
    uint8_t *fa = (uint8_t *)malloc((size_t)w * h * 3), *fb = (uint8_t *)malloc((size_t)w * h * 3);
    p3d_traj tr;
    CHECK_OK(p3d_traj_make("circle", "circle", -0.02, -0.02, -0.05, 0, 6, 0, &tr));
    int32_t same = 0;
    for (int32_t k = 0; ra && rb && fa && fb && k < tr.n; k++) {
        const float crop[4] = {0, 0, 0, 0};
        const p3d_view v = p3d_view_of_pose(&dev.mesh, &tr.poses[k], w, h, crop);
        CHECK_OK(p3d_render_frame(ra, &v, fa));
        CHECK_OK(p3d_render_frame(rb, &v, fb));
        same += !memcmp(fa, fb, (size_t)w * h * 3);
    }
    CHECK_MSG(same == tr.n, "%d of %d frames identical", (int)same, (int)tr.n);
    p3d_traj_free(&tr);
    free(fa);
    free(fb);
    p3d_renderer_free(ra);
    p3d_renderer_free(rb);
    p3d_photo_result_free(&host);
    p3d_photo_result_free(&dev);
    p3d_ctx_free(gpu);
#else
    p3d_test_no_cuda();
#endif
}

int main(void) {
    RUN(test_render_device_mesh);
    RUN(test_learned_parity);
    return p3d_test_finish();
}
