/* fuzz_traj.c - trajectory files (text lines and JSON) through p3d_traj_read, as `render --traj FILE`
 * reads them. Every accepted pose must be finite. */
#include <math.h>

#include "fuzz_common.h"
#include "render/trajectory.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    p3d_fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = p3d_fuzz_file("path.traj", data, size);
    p3d_traj t;
    if (p3d_traj_read(path, 1.0f, &t) == P3D_OK) {
        if (t.n < 1 || t.n > P3D_TRAJ_MAX_FRAMES) abort();
        for (int32_t i = 0; i < t.n; i++) {
            for (int32_t k = 0; k < 3; k++)
                if (!isfinite(t.poses[i].pos[k])) abort();
            for (int32_t k = 0; k < 9; k++)
                if (!isfinite(t.poses[i].rot[k])) abort();
            if (!isfinite(t.poses[i].focal_scale)) abort();
        }
        p3d_traj_free(&t);
    }
    return 0;
}
