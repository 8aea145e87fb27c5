/* fuzz_list.c - `@LIST` input files (host/cli/inputs.c) through p3d_inputs_add("@FILE"), as `run` and
 * `inputs` expand them, then the name matching, depth matching and sharding that follow. Entries are
 * resolved relative to the list's private folder, which holds only the list itself. */
#include "cli/inputs.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    p3d_fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = p3d_fuzz_file("photos.txt", data, size);
    char arg[256];
    snprintf(arg, sizeof arg, "@%s", path);
    p3d_input_list l;
    p3d_inputs_init(&l);
    p3d_inputs_opts o = {NULL, NULL};
    if (p3d_inputs_add(&l, arg, &o) == P3D_OK) {
        (void)p3d_inputs_match_depth(&l, p3d_fuzz_dir, ".npy");
        p3d_inputs_shard(&l, 0, 2);
    }
    p3d_inputs_free(&l);
    return 0;
}
