/* test_progress.c - the --json report writer (RFC 8259 escaping, invalid UTF-8, numbers, structure,
 * atomic file) and progress output: plain log lines when stderr is not a terminal, the redrawn bar
 * on a terminal (rate-limited, never mixed with messages), and quiet mode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_io.h"
#include "core/json.h"
#include "p3d_test.h"
#include "core/progress.h"

/* JSON text of one string value. */
static char *escaped(const char *s) {
    p3d_text t = {0};
    p3d_json_escape(&t, s);
    if (t.oom) {
        p3d_text_free(&t);
        return NULL;
    }
    return t.s;
}

static void check_escape(const char *in, const char *want) {
    char *got = escaped(in);
    CHECK_MSG(got && strcmp(got, want) == 0, "escape -> %s, wanted %s", got ? got : "(null)", want);
    free(got);
}

static void test_json_escape(void) {
    check_escape("", "\"\"");
    check_escape("plain", "\"plain\"");
    check_escape("q\"b\\s/", "\"q\\\"b\\\\s/\"");
    check_escape("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
    check_escape("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\""); /* DEL needs no escape */
    check_escape("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x93\xb7", "\"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x93\xb7\"");
    /* Not UTF-8: a stray byte, a truncated sequence, an overlong '/', a surrogate, above U+10FFFF. */
    check_escape("a\xff" "b", "\"a\\ufffdb\"");
    check_escape("\xc3", "\"\\ufffd\"");
    check_escape("\xc0\xaf", "\"\\ufffd\\ufffd\"");
    check_escape("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
    check_escape("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    check_escape("\xe6\x97", "\"\\ufffd\\ufffd\"");
}

static void test_json_document(void) {
    p3d_json j;
    p3d_json_init(&j);
    p3d_json_begin_object(&j);
    p3d_json_key(&j, "device");
    p3d_json_string(&j, "cuda:0");
    p3d_json_key(&j, "n");
    p3d_json_int(&j, -9223372036854775807LL - 1);
    p3d_json_key(&j, "x");
    p3d_json_number(&j, 0.1);
    p3d_json_key(&j, "big");
    p3d_json_number(&j, 1e300);
    p3d_json_key(&j, "nan");
    p3d_json_number(&j, NAN);
    p3d_json_key(&j, "ok");
    p3d_json_bool(&j, 1);
    p3d_json_key(&j, "empty");
    p3d_json_begin_array(&j);
    p3d_json_end_array(&j);
    p3d_json_key(&j, "stages");
    p3d_json_begin_array(&j);
    p3d_json_begin_object(&j);
    p3d_json_key(&j, "name\n");
    p3d_json_null(&j);
    p3d_json_end_object(&j);
    p3d_json_int(&j, 2);
    p3d_json_end_array(&j);
    p3d_json_end_object(&j);
    const char *want = "{\n"
                       "  \"device\": \"cuda:0\",\n"
                       "  \"n\": -9223372036854775808,\n"
                       "  \"x\": 0.1,\n"
                       "  \"big\": 1e+300,\n"
                       "  \"nan\": null,\n"
                       "  \"ok\": true,\n"
                       "  \"empty\": [],\n"
                       "  \"stages\": [\n"
                       "    {\n"
                       "      \"name\\n\": null\n"
                       "    },\n"
                       "    2\n"
                       "  ]\n"
                       "}";
    CHECK_MSG(strcmp(p3d_json_text(&j), want) == 0, "got:\n%s", p3d_json_text(&j));
    char path[512];
    p3d_test_tmp_path("report.json", path, sizeof path);
    CHECK_OK(p3d_json_write_file(&j, path));
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_OK(p3d_file_read(path, 1 << 20, &data, &len));
    CHECK(data && len == strlen(want) + 1 && memcmp(data, want, strlen(want)) == 0 && data[len - 1] == '\n');
    free(data);
    p3d_json_free(&j);
    char num[40];
    p3d_fmt_double(num, sizeof num, 0.1 + 0.2);
    CHECK(strcmp(num, "0.30000000000000004") == 0);
    p3d_fmt_double(num, sizeof num, 1.0 / 3.0);
    CHECK(strcmp(num, "0.333333333333333") != 0 && strtod(num, NULL) == 1.0 / 3.0);
}

/* Unbalanced or misused documents are refused and write nothing. */
static void test_json_misuse(void) {
    char path[512];
    p3d_test_tmp_path("bad.json", path, sizeof path);
    p3d_json j;
    p3d_json_init(&j);
    p3d_json_begin_object(&j);
    p3d_json_key(&j, "a");
    CHECK_FAILS(p3d_json_write_file(&j, path), P3D_ERR_INVALID_ARG, "incomplete");
    p3d_json_int(&j, 1);
    CHECK_FAILS(p3d_json_write_file(&j, path), P3D_ERR_INVALID_ARG, "incomplete");
    p3d_json_end_object(&j);
    p3d_json_end_object(&j); /* one too many */
    CHECK_FAILS(p3d_json_write_file(&j, path), P3D_ERR_INVALID_ARG, "incomplete");
    p3d_json_free(&j);
    p3d_json_init(&j);
    p3d_json_int(&j, 1);
    p3d_json_int(&j, 2); /* two top-level values */
    CHECK_FAILS(p3d_json_write_file(&j, path), P3D_ERR_INVALID_ARG, "incomplete");
    p3d_json_free(&j);
    p3d_json_init(&j);
    p3d_json_begin_array(&j);
    p3d_json_key(&j, "k"); /* a key inside an array */
    p3d_json_int(&j, 1);
    p3d_json_end_array(&j);
    CHECK_FAILS(p3d_json_write_file(&j, path), P3D_ERR_INVALID_ARG, "incomplete");
    p3d_json_free(&j);
    p3d_json_init(&j);
    p3d_json_begin_object(&j);
    p3d_json_int(&j, 1); /* an object member without a key */
    p3d_json_end_object(&j);
    CHECK_FAILS(p3d_json_write_file(&j, path), P3D_ERR_INVALID_ARG, "incomplete");
    p3d_json_free(&j);
    p3d_json_init(&j);
    CHECK_FAILS(p3d_json_write_file(&j, path), P3D_ERR_INVALID_ARG, "incomplete"); /* empty */
    p3d_json_free(&j);
    CHECK(access(path, F_OK) != 0);
}

/* A clock the test moves by hand. */
static double g_now;
static double fake_clock(void) { return g_now; }

/* A progress reporter writing to a memory stream (*buf, *len after fclose), or NULL. */
static FILE *mem_progress(p3d_progress *p, p3d_progress_mode mode, char **buf, size_t *len) {
    FILE *f = open_memstream(buf, len);
    CHECK(f != NULL);
    if (f) {
        p3d_progress_init(p, f, mode);
        p->clock = fake_clock;
    }
    return f;
}


static void test_progress_plain(void) {
    char *buf = NULL;
    size_t len = 0;
    p3d_progress p;
    FILE *f = mem_progress(&p, P3D_PROGRESS_AUTO, &buf, &len); /* a memory stream is not a terminal */
    if (!f) return;
    CHECK(p.mode == P3D_PROGRESS_PLAIN);
    p.clock = fake_clock;
    g_now = 10.0;
    p3d_progress_begin(&p, "x.jpg: ldi", 100);
    for (int i = 1; i <= 100; i++) {
        g_now += 0.01;
        p3d_progress_update(&p, i);
        if (i == 60) p3d_progress_message(&p, "warning: something");
    }
    double s = p3d_progress_end(&p);
    p3d_progress_begin(&p, "x.jpg: mesh", 0);
    g_now += 2.0;
    p3d_progress_end(&p);
    fclose(f);
    CHECK_NEAR(s, 1.0, 1e-9);
    const char *want = "x.jpg: ldi ...\n"
                       "x.jpg: ldi 25% (25/100)\n"
                       "x.jpg: ldi 50% (50/100)\n"
                       "warning: something\n"
                       "x.jpg: ldi 75% (75/100)\n"
                       "x.jpg: ldi done (100, 1.00 s)\n"
                       "x.jpg: mesh ...\n"
                       "x.jpg: mesh done (2.00 s)\n";
    CHECK_MSG(buf && strcmp(buf, want) == 0, "got:\n%s", buf ? buf : "");
    CHECK(buf && !strchr(buf, '\r'));
    free(buf);
}

static int count_char(const char *s, char c) {
    int n = 0;
    for (; s && *s; s++) n += *s == c;
    return n;
}

static void test_progress_tty(void) {
    char *buf = NULL;
    size_t len = 0;
    p3d_progress p;
    FILE *f = mem_progress(&p, P3D_PROGRESS_TTY, &buf, &len);
    if (!f) return;
    p.width = 10;
    g_now = 0.0;
    p3d_progress_begin(&p, "edges", 1000);
    /* 1000 updates 1 ms apart: about one redraw per 0.1 s, plus the first and the 100 % one. */
    for (int i = 1; i <= 1000; i++) {
        g_now += 0.001;
        p3d_progress_update(&p, i);
    }
    fflush(f);
    int redraws = count_char(buf, '\r');
    CHECK_MSG(redraws >= 10 && redraws <= 13, "%d redraws", redraws);
    CHECK(count_char(buf, '\n') == 0); /* one line, overwritten */
    CHECK(strstr(buf, "\redges [#####.....]  5") != NULL); /* a redraw between 50 and 59 % */
    CHECK(strstr(buf, "edges [##########] 100% (1000/1000) 1.0 s") != NULL);
    p3d_progress_message(&p, "note: a message");
    p3d_progress_end(&p);
    fclose(f);
    /* The message starts on a cleared line and ends with its own newline; the stage ends on one line. */
    const char *msg = strstr(buf, "note: a message\n");
    CHECK(msg && msg > buf && msg[-1] == '\r');
    CHECK(strstr(buf, "edges done (1000, 1.00 s)\n") != NULL);
    CHECK(count_char(buf, '\n') == 2);
    free(buf);
}

/* Lines longer than the terminal are cut, so '\r' always returns to the start of the bar line. */
static void test_progress_tty_narrow(void) {
    char *buf = NULL;
    size_t len = 0;
    p3d_progress p;
    FILE *f = mem_progress(&p, P3D_PROGRESS_TTY, &buf, &len);
    if (!f) return;
    p.columns = 40;
    p3d_progress_begin(&p, "a-very-long-photo-name-from-a-camera.jpg: inpainting", 10);
    p3d_progress_update(&p, 10);
    p3d_progress_end(&p);
    fclose(f);
    int longest = 0, cur = 0;
    for (const char *c = buf; c && *c; c++) {
        cur = (*c == '\r' || *c == '\n') ? 0 : cur + 1;
        if (cur > longest) longest = cur;
    }
    CHECK_MSG(longest == 39, "longest run %d", longest);
    free(buf);
}

static void test_progress_quiet(void) {
    char *buf = NULL;
    size_t len = 0;
    p3d_progress p;
    FILE *f = mem_progress(&p, P3D_PROGRESS_QUIET, &buf, &len);
    if (!f) return;
    p3d_progress_begin(&p, "stage", 10);
    for (int i = 0; i <= 10; i++) p3d_progress_update(&p, i);
    p3d_progress_message(&p, "error: kept");
    p3d_progress_end(&p);
    fclose(f);
    CHECK(buf && strcmp(buf, "error: kept\n") == 0);
    free(buf);
}

int main(void) {
    RUN(test_json_escape);
    RUN(test_json_document);
    RUN(test_json_misuse);
    RUN(test_progress_plain);
    RUN(test_progress_tty);
    RUN(test_progress_tty_narrow);
    RUN(test_progress_quiet);
    return p3d_test_finish();
}
