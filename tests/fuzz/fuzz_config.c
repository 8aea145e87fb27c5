/* fuzz_config.c - the YAML configuration (host/pipeline/config.c over libyaml) as `run --config FILE`
 * reads it: load, check, print; the same bytes also as one `--set KEY=VALUE` value. */
#include "fuzz_common.h"
#include "pipeline/config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    p3d_fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = p3d_fuzz_file("argument.yml", data, size);
    p3d_config c;
    p3d_config_defaults(&c);
    if (p3d_config_load_file(&c, path) == P3D_OK && p3d_config_check(&c) == P3D_OK) {
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            p3d_config_print(&c, null);
            fclose(null);
        }
        char warn[4096];
        (void)p3d_config_warnings(&c, warn, sizeof warn);
    }
    /* "--set filter_size=<bytes>": a list key, the value text as libyaml sees it */
    char *set = (char *)malloc(size + 16);
    if (!set) return 0;
    memcpy(set, "filter_size=", 12);
    memcpy(set + 12, data, size);
    set[12 + size] = '\0';
    p3d_config_defaults(&c);
    (void)p3d_config_set(&c, set);
    free(set);
    return 0;
}
