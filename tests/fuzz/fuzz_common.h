/* fuzz_common.h - shared by the libFuzzer harnesses tests/fuzz/fuzz_*.c (built with -DP3D_FUZZ=ON,
 * run by tools/fuzz.sh).
 *
 * The program's readers take a path (they stat, size-check and read the file themselves), so each
 * harness writes the fuzzer's bytes to one file in a private temporary folder and calls the reader on
 * it, exactly as the command line does. The folder is made once per process and removed at exit.
 * Logging is off: a reader's refusal is the expected outcome, and its message is not output.
 * The pixel limit is lowered to 2^22 so an accepted header never asks for more memory than
 * libFuzzer's default malloc limit (2 GB); the limit itself is what the hostile-input tests check. */
#ifndef P3D_FUZZ_COMMON_H
#define P3D_FUZZ_COMMON_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/file_io.h"
#include "core/p3d_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char p3d_fuzz_dir[64];

static void p3d_fuzz_cleanup(void) {
    char cmd[128];
    if (!p3d_fuzz_dir[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", p3d_fuzz_dir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", p3d_fuzz_dir);
}

/* Once per process: the private folder, quiet logging, the lowered pixel limit. */
static void p3d_fuzz_setup(void) {
    if (p3d_fuzz_dir[0]) return;
    const char *base = getenv("TMPDIR");
    snprintf(p3d_fuzz_dir, sizeof p3d_fuzz_dir, "%s/p3d-fuzz-XXXXXX", base && strlen(base) < 32 ? base : "/tmp");
    if (!mkdtemp(p3d_fuzz_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(p3d_fuzz_cleanup);
    p3d_log_set_level(P3D_LOG_ERROR);
    p3d_set_max_pixels((int64_t)1 << 22);
}

/* Writes the input to <private folder>/<name> and returns that path (static storage). */
static const char *p3d_fuzz_file(const char *name, const uint8_t *data, size_t size) {
    static char path[192];
    p3d_fuzz_setup();
    snprintf(path, sizeof path, "%s/%s", p3d_fuzz_dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror("fuzz: open");
        abort();
    }
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) {
            perror("fuzz: write");
            abort();
        }
        done += (size_t)n;
    }
    close(fd);
    return path;
}

#endif
