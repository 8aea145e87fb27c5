/* test_flow_parity.c - the device pipeline against the CPU reference where issue 14 asks for it: the
 * renderer reads the device mesh. `run`'s dense-mesh videos on a GPU build the mesh on the device
 * (p3d_photo_opts.device_mesh) and render it from there (p3d_renderer_init_device): frames identical to
 * rendering the downloaded mesh, with the positions and faces not uploaded again. (The learned fill's
 * CPU-vs-CUDA job is test_learned_parity.) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mesh_diff.h"
#include "p3d_test.h"
#include "pipeline/photo3d.h"
#include "render/render.h"
#include "render/trajectory.h"
#include "test_ctx.h"

/* The sample (samples/scene.png with its disparity map) through the whole job at a longer side of side. */
static p3d_status run_sample(p3d_ctx *ctx, int32_t side, int32_t device_mesh, p3d_photo_result *r) {
    const char *src = getenv("P3D_SOURCE_DIR");
    char img[1024], disp[1024];
    snprintf(img, sizeof img, "%s/samples/scene.png", src && src[0] ? src : ".");
    snprintf(disp, sizeof disp, "%s/samples/scene_disp.png", src && src[0] ? src : ".");
    p3d_depth map;
    P3D_TRY(p3d_depth_read(disp, NULL, &map));
    p3d_photo_opts o = p3d_photo_opts_default();
    o.longer_side = side;
    o.device_mesh = device_mesh;
    const p3d_ldi_nets none = {NULL, NULL, NULL};
    p3d_status s = p3d_photo_to_mesh(ctx, &none, img, &map, &o, r);
    p3d_depth_free(&map);
    return s;
}

static void test_render_device_mesh(void) {
#ifdef P3D_HAVE_CUDA
    p3d_ctx *gpu = cuda_ctx_or_skip("device-mesh rendering");
    if (!gpu) return;
    p3d_photo_result host, dev;
    CHECK_OK(run_sample(gpu, 96, 0, &host));
    CHECK_OK(run_sample(gpu, 96, 1, &dev));
    CHECK(host.mesh_xyz_dev == NULL && dev.mesh_xyz_dev != NULL && dev.mesh_faces_dev != NULL);
    /* the device-built mesh is the host-built one */
    p3d_t_mesh_diff d;
    p3d_t_mesh_compare(&host.mesh, &dev.mesh, 0, 0, &d);
    CHECK_MSG(p3d_t_mesh_identical(&d), "device-built mesh differs from the host-built one");
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
    return p3d_test_finish();
}
