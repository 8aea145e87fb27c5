/* test_interrupt.c - Ctrl-C during an atomic write leaves neither the output nor a temporary file:
 * in flag mode the write stops at its next chunk (or before the rename) with P3D_ERR_INTERRUPTED;
 * in exit mode, and on a second signal in flag mode, the handler deletes the temporary file and the
 * process ends by the signal. Signals are raised by the writer itself, mid-write, so the test is
 * deterministic. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/file_io.h"
#include "core/interrupt.h"
#include "p3d_test.h"

/* Files in dir whose name starts with prefix. */
static int count_files(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

typedef struct writer_job {
    const char *path;
    int chunks;     /* 1 MiB chunks to write */
    int raise_at;   /* raise SIGINT before this chunk (-1 = never) */
    int raise_count;
    int use_stdio;  /* fprintf instead of p3d_file_put: a writer that never polls */
    int written;
} writer_job;

static p3d_status slow_writer(FILE *f, void *user) {
    writer_job *job = (writer_job *)user;
    static uint8_t chunk[1 << 20];
    for (int i = 0; i < job->chunks; i++) {
        if (i == job->raise_at)
            for (int r = 0; r < job->raise_count; r++) raise(SIGINT);
        if (job->use_stdio) {
            if (fprintf(f, "%d\n", i) < 0) return p3d_fail(P3D_ERR_IO, "%s: write failed", job->path);
        } else {
            P3D_TRY(p3d_file_put(f, job->path, chunk, sizeof chunk));
        }
        job->written++;
    }
    return P3D_OK;
}

static void test_flag_mode_stops_write(void) {
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/flag", p3d_test_tmpdir());
    CHECK_OK(p3d_dir_ensure(dir));
    snprintf(path, sizeof path, "%s/out.bin", dir);
    CHECK_OK(p3d_interrupt_install(P3D_INTERRUPT_FLAG));
    writer_job job = {path, 50, 3, 1, 0, 0};
    CHECK_FAILS(p3d_file_write_atomic_fn(path, slow_writer, &job), P3D_ERR_INTERRUPTED, "out.bin: interrupted (SIGINT)");
    CHECK(job.written == 3); /* stopped at the chunk after the signal */
    CHECK(p3d_interrupted() == SIGINT);
    CHECK(count_files(dir, "out.bin") == 0);
    /* A writer that never polls: the whole file is written, then discarded before the rename. */
    p3d_interrupt_clear();
    writer_job job2 = {path, 20, 5, 1, 1, 0};
    CHECK_FAILS(p3d_file_write_atomic_fn(path, slow_writer, &job2), P3D_ERR_INTERRUPTED, "interrupted");
    CHECK(job2.written == 20);
    CHECK(count_files(dir, "out.bin") == 0);
    /* An existing output is kept when the rewrite is interrupted. */
    p3d_interrupt_clear();
    CHECK_OK(p3d_file_write_atomic(path, "old", 3));
    CHECK_OK(p3d_interrupt_check("anything"));
    writer_job job3 = {path, 5, 1, 1, 0, 0};
    CHECK_FAILS(p3d_file_write_atomic_fn(path, slow_writer, &job3), P3D_ERR_INTERRUPTED, "interrupted");
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_OK(p3d_file_read(path, 100, &data, &len));
    CHECK(len == 3 && data && memcmp(data, "old", 3) == 0);
    free(data);
    CHECK(count_files(dir, "out.bin.tmp-") == 0);
    p3d_interrupt_clear();
    /* Many writes without a signal: each unregisters its temporary file (the 64 slots never run out). */
    for (int i = 0; i < 200; i++) CHECK_OK(p3d_file_write_atomic(path, "new", 3));
    int32_t slot = p3d_interrupt_register_temp("/nonexistent/x");
    CHECK(slot >= 0 && slot < 2);
    p3d_interrupt_unregister_temp(slot);
    CHECK_OK(p3d_interrupt_install(P3D_INTERRUPT_EXIT));
}

/* In a child: installs mode, writes with raise_count signals at chunk 2; the parent checks the child
 * died by SIGINT and left no file. */
static void run_child(const char *name, p3d_interrupt_mode mode, int raise_count) {
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/%s", p3d_test_tmpdir(), name);
    CHECK_OK(p3d_dir_ensure(dir));
    snprintf(path, sizeof path, "%s/out.bin", dir);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (p3d_interrupt_install(mode) != P3D_OK) _exit(10);
        writer_job job = {path, 50, 2, raise_count, 0, 0};
        p3d_file_write_atomic_fn(path, slow_writer, &job);
        _exit(11); /* reached only if the signal did not end the process */
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT, "child status 0x%x", status);
    CHECK_MSG(count_files(dir, "out.bin") == 0, "%d files left in %s", count_files(dir, "out.bin"), dir);
}

static void test_exit_mode_removes_temp(void) { run_child("exit", P3D_INTERRUPT_EXIT, 1); }

static void test_second_signal_removes_temp(void) { run_child("second", P3D_INTERRUPT_FLAG, 2); }

int main(void) {
    RUN(test_flag_mode_stops_write);
    RUN(test_exit_mode_removes_temp);
    RUN(test_second_signal_removes_temp);
    return p3d_test_finish();
}
