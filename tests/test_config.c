/* test_config.c - run's configuration: the reference's defaults, samples/argument.yml, --set
 * overrides, print -> parse round trips, cross-key checks, model lookup, and bad input (unknown key,
 * wrong type or range, malformed YAML) failing with the key and FILE:LINE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/config.h"
#include "core/file_io.h"
#include "p3d_test.h"

/* Parses text as a file named "t.yml" onto the defaults. */
static p3d_status load_text(p3d_config *c, const char *text) {
    p3d_config_defaults(c);
    return p3d_config_load_string(c, text, strlen(text), "t.yml");
}

/* Prints c, reads the text back onto defaults, and checks the two are equal. */
static void check_round_trip(const p3d_config *c) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    if (!f) return;
    CHECK_OK(p3d_config_print(c, f));
    fclose(f);
    p3d_config back;
    p3d_config_defaults(&back);
    CHECK_OK(p3d_config_load_string(&back, text, len, "printed"));
    CHECK_MSG(p3d_config_equal(c, &back), "printed config reads back different:\n%s", text);
    free(text);
}

static void test_defaults(void) {
    p3d_config c;
    p3d_config_defaults(&c);
    CHECK_OK(p3d_config_check(&c));
    CHECK(c.fps == 40 && c.num_frames == 240 && c.longer_side_len == 960);
    CHECK(c.n_traj == 4 && strcmp(c.video_postfix[0], "dolly-zoom-in") == 0 && strcmp(c.traj_types[3], "circle") == 0);
    CHECK(c.x_shift_range[2] == -0.015 && c.y_shift_range[3] == -0.0 && c.z_shift_range[0] == -0.05);
    CHECK(c.sparse_iter == 5 && c.n_filter_size == 5 && c.filter_size[0] == 7 && c.filter_size[4] == 5);
    CHECK(c.depth_threshold == 0.04 && c.ext_edge_threshold == 0.002);
    CHECK(c.background_thickness == 70 && c.context_thickness == 140 && c.context_thickness_2 == 70);
    CHECK(c.crop_border[2] == 0.05 && c.largest_size == 512 && c.extrapolation_thickness == 60);
    CHECK(c.log_depth && c.repeat_inpaint_edge && c.anti_flickering && c.extrapolate_border && c.save_ply);
    CHECK(!c.load_ply && !c.use_boostmonodepth && c.require_midas);
    CHECK(strcmp(c.device, "auto") == 0 && c.fill == P3D_FILL_AUTO && c.depth_model == P3D_DEPTH_MODEL_TIEFENRAUSCH);
    CHECK(strcmp(c.src_folder, "image") == 0 && strcmp(c.depth_format, ".npy") == 0 && c.img_format[0] == '\0');
    char w[256];
    CHECK(p3d_config_warnings(&c, w, sizeof w) == 0);
    check_round_trip(&c);
}

/* samples/argument.yml holds the reference's keys and values: the defaults except the few keys
 * whose defaults here differ (weights paths, boost, img_format, gpu_ids -> device). */
static void test_sample_file(void) {
    p3d_config c, want;
    p3d_config_defaults(&c);
    CHECK_OK(p3d_config_load_file(&c, "samples/argument.yml"));
    CHECK_OK(p3d_config_check(&c));
    p3d_config_defaults(&want);
    snprintf(want.depth_edge_model_ckpt, P3D_CFG_PATH, "checkpoints/edge-model.pth");
    snprintf(want.depth_feat_model_ckpt, P3D_CFG_PATH, "checkpoints/depth-model.pth");
    snprintf(want.rgb_feat_model_ckpt, P3D_CFG_PATH, "checkpoints/color-model.pth");
    snprintf(want.MiDaS_model_ckpt, P3D_CFG_PATH, "MiDaS/model.pt");
    snprintf(want.img_format, P3D_CFG_NAME, ".jpg");
    snprintf(want.device, P3D_CFG_NAME, "cuda:0");
    want.use_boostmonodepth = 1;
    CHECK(p3d_config_equal(&c, &want));
    char w[512];
    CHECK(p3d_config_warnings(&c, w, sizeof w) == 1);
    CHECK(strstr(w, "BoostingMonocularDepth is not provided") != NULL);
    check_round_trip(&c);

    /* The sample names every key of the reference (all but our own four). */
    uint8_t *data = NULL;
    size_t len = 0;
    CHECK_OK(p3d_file_read("samples/argument.yml", 1 << 20, &data, &len));
    char *text = (char *)calloc(len + 2, 1);
    if (!text || !data) {
        free(data);
        free(text);
        return;
    }
    text[0] = '\n';
    memcpy(text + 1, data, len);
    int32_t n = 0;
    const char *const *names = p3d_config_key_names(&n);
    CHECK(n == 52); /* 47 keys of the reference's argument.yml + device, depth_model, fill, mesh_format, video_mesh */
    for (int32_t i = 0; i < n; i++) {
        int ours = !strcmp(names[i], "device") || !strcmp(names[i], "depth_model") || !strcmp(names[i], "fill") ||
                   !strcmp(names[i], "mesh_format") || !strcmp(names[i], "video_mesh");
        char pat[80];
        snprintf(pat, sizeof pat, "\n%s:", names[i]);
        CHECK_MSG((strstr(text, pat) != NULL) == !ours, "key %s", names[i]);
    }
    free(text);
    free(data);
}

static void test_set(void) {
    p3d_config c;
    p3d_config_defaults(&c);
    CHECK_OK(p3d_config_set(&c, "x_shift_range=[0,0,-0.02,-0.02]"));
    CHECK(c.n_x_shift == 4 && c.x_shift_range[2] == -0.02 && c.x_shift_range[3] == -0.02);
    CHECK_OK(p3d_config_set(&c, "fps=30"));
    CHECK(c.fps == 30);
    CHECK_OK(p3d_config_set(&c, "specific="));
    CHECK(c.specific[0] == '\0');
    CHECK_OK(p3d_config_set(&c, "specific=moon"));
    CHECK(strcmp(c.specific, "moon") == 0);
    CHECK_OK(p3d_config_set(&c, "fill=classic"));
    CHECK(c.fill == P3D_FILL_CLASSIC);
    CHECK_OK(p3d_config_set(&c, "mesh_format=glb"));
    CHECK(c.mesh_format == 2);
    CHECK_OK(p3d_config_set(&c, "depth_model=midas-small"));
    CHECK(c.depth_model == P3D_DEPTH_MODEL_MIDAS_SMALL);
    CHECK_OK(p3d_config_set(&c, "gpu_ids=-1"));
    CHECK(strcmp(c.device, "cpu") == 0);
    CHECK_OK(p3d_config_set(&c, "gpu_ids=2"));
    CHECK(strcmp(c.device, "cuda:2") == 0);
    CHECK_OK(p3d_config_set(&c, "device=cuda:1"));
    CHECK(strcmp(c.device, "cuda:1") == 0);
    CHECK_OK(p3d_config_set(&c, "load_ply=Yes"));
    CHECK(c.load_ply == 1);
    CHECK_OK(p3d_config_set(&c, "anti_flickering=off"));
    CHECK(c.anti_flickering == 0);
    CHECK_OK(p3d_config_set(&c, "depth_threshold=1e-2"));
    CHECK(c.depth_threshold == 0.01);
    CHECK_OK(p3d_config_set(&c, "sigma_s=7")); /* an integer for a float key */
    CHECK(c.sigma_s == 7.0);
    CHECK_OK(p3d_config_set(&c, "video_postfix=[a, 'b c', \"d#e\"]"));
    CHECK(c.n_video_postfix == 3 && strcmp(c.video_postfix[1], "b c") == 0 && strcmp(c.video_postfix[2], "d#e") == 0);
    CHECK_OK(p3d_config_set(&c, "filter_size=[9]"));
    CHECK(c.n_filter_size == 1 && c.filter_size[0] == 9);
    CHECK_OK(p3d_config_set(&c, "traj_types=[]"));
    CHECK(c.n_traj_types == 0);
    /* A value with '=' and ': ' in it stays one string. */
    CHECK_OK(p3d_config_set(&c, "src_folder='a=b: c'"));
    CHECK(strcmp(c.src_folder, "a=b: c") == 0);
}

static void test_set_bad(void) {
    p3d_config c;
    p3d_config_defaults(&c);
    CHECK_FAILS(p3d_config_set(&c, "fps=abc"), P3D_ERR_INVALID_ARG, "--set: fps: expected an integer");
    CHECK_FAILS(p3d_config_set(&c, "fps=0"), P3D_ERR_INVALID_ARG, "fps: expected an integer in [1, 1000], got '0'");
    CHECK_FAILS(p3d_config_set(&c, "fps='40'"), P3D_ERR_INVALID_ARG, "fps: expected an integer");
    CHECK_FAILS(p3d_config_set(&c, "fps=40.5"), P3D_ERR_INVALID_ARG, "fps");
    CHECK_FAILS(p3d_config_set(&c, "fps="), P3D_ERR_INVALID_ARG, "fps");
    CHECK_FAILS(p3d_config_set(&c, "nokey=1"), P3D_ERR_INVALID_ARG, "unknown key 'nokey'");
    CHECK_FAILS(p3d_config_set(&c, "noequals"), P3D_ERR_INVALID_ARG, "expected KEY=VALUE");
    CHECK_FAILS(p3d_config_set(&c, "=1"), P3D_ERR_INVALID_ARG, "expected KEY=VALUE");
    CHECK_FAILS(p3d_config_set(&c, "x_shift_range=0.1"), P3D_ERR_INVALID_ARG, "x_shift_range: expected a list");
    CHECK_FAILS(p3d_config_set(&c, "x_shift_range=[0.1, nan]"), P3D_ERR_INVALID_ARG, "item 2 'nan'");
    CHECK_FAILS(p3d_config_set(&c, "x_shift_range=[0x10]"), P3D_ERR_INVALID_ARG, "item 1");
    CHECK_FAILS(p3d_config_set(&c, "filter_size=[7, 4]"), P3D_ERR_INVALID_ARG, "filter_size: expected a list of at most 16 odd");
    CHECK_FAILS(p3d_config_set(&c, "traj_types=[spiral]"), P3D_ERR_INVALID_ARG, "item 1 'spiral'");
    CHECK_FAILS(p3d_config_set(&c, "traj_types=[[circle]]"), P3D_ERR_INVALID_ARG, "nested");
    CHECK_FAILS(p3d_config_set(&c, "video_postfix=[a/b]"), P3D_ERR_INVALID_ARG, "without '/'");
    CHECK_FAILS(p3d_config_set(&c, "crop_border=[0.1, 0.1]"), P3D_ERR_INVALID_ARG, "a list of 4 numbers");
    CHECK_FAILS(p3d_config_set(&c, "crop_border=[0.1, 0.1, 0.1, 0.6]"), P3D_ERR_INVALID_ARG, "item 4");
    CHECK_FAILS(p3d_config_set(&c, "mesh_format=obj"), P3D_ERR_INVALID_ARG, "one of ply, ply-ascii, glb");
    CHECK_FAILS(p3d_config_set(&c, "device=gpu"), P3D_ERR_INVALID_ARG, "device: expected auto, cpu, cuda or cuda:N");
    CHECK_FAILS(p3d_config_set(&c, "load_ply=maybe"), P3D_ERR_INVALID_ARG, "load_ply: expected true or false");
    CHECK_FAILS(p3d_config_set(&c, "load_ply='true'"), P3D_ERR_INVALID_ARG, "load_ply");
    CHECK_FAILS(p3d_config_set(&c, "fps={a: 1}"), P3D_ERR_INVALID_ARG, "got 'a mapping'");
    CHECK_FAILS(p3d_config_set(&c, "fps=[1"), P3D_ERR_INVALID_ARG, "malformed YAML");
    /* A failed list leaves the key as it was. */
    CHECK(c.n_x_shift == 4 && c.x_shift_range[2] == -0.015);
    CHECK(c.n_filter_size == 5 && c.filter_size[1] == 7);
    CHECK(c.fps == 40);
}

static void test_file_errors(void) {
    p3d_config c;
    CHECK_FAILS(load_text(&c, "fps: 40\nfoo: 1\n"), P3D_ERR_INVALID_ARG, "t.yml:2: unknown key 'foo'");
    CHECK_FAILS(load_text(&c, "fps: 40\n\nnum_frames: many\n"), P3D_ERR_INVALID_ARG,
                "t.yml:3: num_frames: expected an integer");
    CHECK_FAILS(load_text(&c, "fps: 40\nx_shift_range: [0.0,\n  0.1, zz]\n"), P3D_ERR_INVALID_ARG,
                "t.yml:3: x_shift_range: expected a list");
    CHECK_FAILS(load_text(&c, "fps: 40\nfps: 41\n"), P3D_ERR_INVALID_ARG, "t.yml:2: key 'fps' given twice (first on line 1)");
    CHECK_FAILS(load_text(&c, "- fps\n- 40\n"), P3D_ERR_INVALID_ARG, "t.yml:1: expected a mapping");
    CHECK_FAILS(load_text(&c, "fps: 40\n---\nfps: 30\n"), P3D_ERR_INVALID_ARG, "more than one YAML document");
    CHECK_FAILS(load_text(&c, "fps: [40\nnum_frames: 3\n"), P3D_ERR_INVALID_ARG, "t.yml:");
    CHECK_FAILS(load_text(&c, "fps: [40\nnum_frames: 3\n"), P3D_ERR_INVALID_ARG, "malformed YAML");
    CHECK_FAILS(load_text(&c, "fps: 40\n  bad indent: 1\n"), P3D_ERR_INVALID_ARG, "t.yml:2: malformed YAML");
    CHECK_FAILS(load_text(&c, "fps:\n  a: 1\n"), P3D_ERR_INVALID_ARG, "t.yml:2: fps: expected an integer");
    CHECK_FAILS(load_text(&c, "[a, b]: 1\n"), P3D_ERR_INVALID_ARG, "t.yml:1: a key must be a plain name");
    CHECK_FAILS(load_text(&c, "fps: \"4\\x000\"\n"), P3D_ERR_INVALID_ARG, "NUL");
    /* Block lists, YAML 1.1 booleans, comments, null strings. */
    CHECK_OK(load_text(&c, "# comment\nvideo_postfix:\n  - one   # first\n  - two\nsave_ply: NO\nspecific: ~\n"
                           "traj_types: [circle, straight-line]\nx_shift_range: [1, 2]\ny_shift_range: [1, 2]\n"
                           "z_shift_range: [1, 2]\n"));
    CHECK(c.n_video_postfix == 2 && strcmp(c.video_postfix[1], "two") == 0 && c.save_ply == 0 && c.specific[0] == 0);
    CHECK_OK(p3d_config_check(&c));
    CHECK(c.n_traj == 2);
    /* An empty document (comments only) changes nothing. */
    p3d_config d;
    p3d_config_defaults(&d);
    CHECK_OK(load_text(&c, "# nothing here\n"));
    CHECK(p3d_config_equal(&c, &d));
    /* Files: missing, and one on disk with the error's line. */
    CHECK_FAILS(p3d_config_load_file(&c, "/nonexistent/argument.yml"), P3D_ERR_IO, "/nonexistent/argument.yml");
    char path[512];
    const char *bad = "fps: 40\n\n\nbogus_key: 3\n";
    p3d_test_tmp_file("bad.yml", bad, strlen(bad), path, sizeof path);
    p3d_config_defaults(&c);
    char want[600];
    snprintf(want, sizeof want, "%s:4: unknown key 'bogus_key'", path);
    CHECK_FAILS(p3d_config_load_file(&c, path), P3D_ERR_INVALID_ARG, want);
}

/* The defaults with one --set are accepted key by key, and the cross-key check refuses them. */
static void check_refused(const char *assignment, const char *needle) {
    p3d_config c;
    p3d_config_defaults(&c);
    CHECK_OK(p3d_config_set(&c, assignment));
    CHECK_FAILS(p3d_config_check(&c), P3D_ERR_INVALID_ARG, needle);
}

static void test_check(void) {
    check_refused("x_shift_range=[0, 0.1]", "they have 2, 4, 4, 4 and 4");
    check_refused("video_postfix=[a, b, a, c]", "video_postfix 'a' appears twice");
    check_refused("sparse_iter=6", "sparse_iter is 6 but filter_size has 5 entries");
    check_refused("crop_border=[0.5, 0, 0.5, 0]", "crop_border leaves no frame");
    check_refused("img_format=jpg", "img_format 'jpg'");
    check_refused("depth_format=npy", "depth_format 'npy'");
}

/* Awkward values survive print -> parse: quotes, backslashes, '#', ': ', leading blanks, UTF-8,
 * control characters, floats that need 17 digits, tiny exponents, -0. */
static void test_round_trip_values(void) {
    p3d_config c;
    p3d_config_defaults(&c);
    snprintf(c.src_folder, P3D_CFG_PATH, "dir \"with\" \\back\\slash: #hash");
    snprintf(c.depth_folder, P3D_CFG_PATH, "  leading and trailing  ");
    snprintf(c.mesh_folder, P3D_CFG_PATH, "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac");
    snprintf(c.video_folder, P3D_CFG_PATH, "tab\there\nnewline");
    snprintf(c.specific, P3D_CFG_NAME, "true");
    snprintf(c.MiDaS_model_ckpt, P3D_CFG_PATH, "123");
    c.depth_threshold = 0.1 + 0.2; /* 0.30000000000000004 */
    c.ext_edge_threshold = 1e-300;
    c.discount_factor = -987654321.123456789;
    c.sigma_r = 0.0;
    c.x_shift_range[0] = -0.0;
    c.y_shift_range[1] = 1.0 / 3.0;
    c.z_shift_range[2] = 1e-7;
    c.fill = P3D_FILL_LEARNED;
    c.mesh_format = 1;
    c.depth_model = P3D_DEPTH_MODEL_MIDAS_LARGE;
    c.n_filter_size = 0;
    c.sparse_iter = 0;
    snprintf(c.device, P3D_CFG_NAME, "cuda:3");
    CHECK_OK(p3d_config_check(&c));
    check_round_trip(&c);
    /* The comparison sees a difference in each kind of key. */
    p3d_config d = c;
    d.y_shift_range[1] = nextafter(1.0 / 3.0, 1.0);
    CHECK(!p3d_config_equal(&c, &d));
    d = c;
    d.video_folder[3] = 'X';
    CHECK(!p3d_config_equal(&c, &d));
    d = c;
    d.n_traj_types = 3;
    CHECK(!p3d_config_equal(&c, &d));
}

static void test_find_model(void) {
    char dir[512], p[600], beside[600], out[1200], why[2048];
    snprintf(dir, sizeof dir, "%s/models", p3d_test_tmpdir());
    CHECK_OK(p3d_dir_ensure(dir));
    snprintf(p, sizeof p, "%s/edge-model.p3dw", dir);
    CHECK_OK(p3d_file_write_atomic(p, "P3DW", 4));
    p3d_config c;
    p3d_config_defaults(&c);
    setenv("XDG_CACHE_HOME", "/nonexistent-cache", 1);
    unsetenv("P3D_MODEL_DIR");
    int found = 0;
    CHECK_OK(p3d_config_find_model(&c, "edge", dir, out, sizeof out, &found, why, sizeof why));
    CHECK(found && strcmp(out, p) == 0);
    CHECK_OK(p3d_config_find_model(&c, "depth", dir, out, sizeof out, &found, why, sizeof why));
    CHECK(!found && out[0] == '\0');
    CHECK_MSG(strstr(why, "depth-model.p3dw not found") && strstr(why, "tools/convert_inpaint.py --model depth") &&
                  strstr(why, dir),
              "%s", why);
    /* The reference's .pth path: the blob beside it is used. */
    snprintf(p, sizeof p, "%s/ckpt", p3d_test_tmpdir());
    CHECK_OK(p3d_dir_ensure(p));
    snprintf(beside, sizeof beside, "%s/ckpt/color-model.p3dw", p3d_test_tmpdir());
    CHECK_OK(p3d_file_write_atomic(beside, "P3DW", 4));
    snprintf(c.rgb_feat_model_ckpt, P3D_CFG_PATH, "%s/ckpt/color-model.pth", p3d_test_tmpdir());
    CHECK_OK(p3d_config_find_model(&c, "color", NULL, out, sizeof out, &found, why, sizeof why));
    CHECK(found && strcmp(out, beside) == 0);
    /* A .pth without a blob beside it falls back to the search path. */
    snprintf(c.depth_edge_model_ckpt, P3D_CFG_PATH, "%s/ckpt/edge-model.pth", p3d_test_tmpdir());
    CHECK_OK(p3d_config_find_model(&c, "edge", dir, out, sizeof out, &found, why, sizeof why));
    CHECK(found && strstr(out, "/models/edge-model.p3dw"));
    /* A configured .p3dw is used as it is, and must exist. */
    snprintf(c.depth_feat_model_ckpt, P3D_CFG_PATH, "%s", beside);
    CHECK_OK(p3d_config_find_model(&c, "depth", NULL, out, sizeof out, &found, why, sizeof why));
    CHECK(found && strcmp(out, beside) == 0);
    snprintf(c.depth_feat_model_ckpt, P3D_CFG_PATH, "%s/nope.p3dw", dir);
    CHECK_FAILS(p3d_config_find_model(&c, "depth", dir, out, sizeof out, &found, why, sizeof why), P3D_ERR_INVALID_ARG,
                "depth_feat_model_ckpt: ");
    CHECK_FAILS(p3d_config_find_model(&c, "bogus", dir, out, sizeof out, &found, why, sizeof why), P3D_ERR_INVALID_ARG,
                "unknown model 'bogus'");
    /* Models without a key: the search path only. */
    CHECK_OK(p3d_config_find_model(&c, "tiefenrausch", dir, out, sizeof out, &found, why, sizeof why));
    CHECK(!found && strstr(why, "tools/fetch_tiefenrausch.sh"));
}

int main(void) {
    RUN(test_defaults);
    RUN(test_sample_file);
    RUN(test_set);
    RUN(test_set_bad);
    RUN(test_file_errors);
    RUN(test_check);
    RUN(test_round_trip_values);
    RUN(test_find_model);
    return p3d_test_finish();
}
