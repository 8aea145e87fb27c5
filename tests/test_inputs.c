/* test_inputs.c - INPUT expansion (files, folders, @lists), name collisions, depth matching, and the
 * shard partition: exact (every input in exactly one shard), independent of the listing's order and
 * of the working directory, and balanced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file_io.h"
#include "cli/inputs.h"
#include "p3d_test.h"

/* An empty file <tmpdir>/rel (parent folders must exist). */
static void touch(const char *rel) {
    char p[1024];
    p3d_test_tmp_file(rel, "", 0, p, sizeof p);
}

static void mkdir_tmp(const char *rel) {
    char p[1024];
    CHECK_OK(p3d_dir_ensure(p3d_test_tmp_path(rel, p, sizeof p)));
}

/* Folders (names ending in '/') and empty files under the tmpdir, in order. */
static void make_tree(const char *const *paths, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(paths[i]);
        if (len && paths[i][len - 1] == '/') {
            char rel[256];
            snprintf(rel, sizeof rel, "%.*s", (int)(len - 1), paths[i]);
            mkdir_tmp(rel);
        } else {
            touch(paths[i]);
        }
    }
}

/* 1 when some problem contains needle. */
static int has_problem(const p3d_input_list *l, const char *needle) {
    for (int32_t i = 0; i < l->n_problems; i++)
        if (strstr(l->problems[i], needle)) return 1;
    return 0;
}

static void test_shard_parse(void) {
    uint32_t k = 9, n = 9;
    CHECK_OK(p3d_shard_parse("0/1", &k, &n));
    CHECK(k == 0 && n == 1);
    CHECK_OK(p3d_shard_parse("3/4", &k, &n));
    CHECK(k == 3 && n == 4);
    CHECK_OK(p3d_shard_parse("999999/1000000", &k, &n));
    CHECK(k == 999999 && n == 1000000);
    static const char *const bad[] = {"", "1", "4/4", "5/4", "-1/4", "+1/4", "1/0", "0/0", " 1/4", "1/4 ", "a/b",
                                      "1//4", "1/4/5", "1/1000001", "1.0/4", "1/", "/4", "99999999999999999999/4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_FAILS(p3d_shard_parse(bad[i], &k, &n), P3D_ERR_INVALID_ARG, "--shard");
    CHECK_FAILS(p3d_shard_parse("4/4", &k, &n), P3D_ERR_INVALID_ARG, "numbered from 0");
}

/* 10,000 names, N in {1,2,3,7,16}: each in exactly one shard (the function is one value per
 * name, so the check is that the per-shard counts cover all names), the same shard after a
 * shuffle, every shard within 20% of the mean. */
static void test_shard_partition(void) {
    enum { N_NAMES = 10000 };
    static char names[N_NAMES][32];
    static uint32_t shard_of[N_NAMES];
    static int32_t order[N_NAMES];
    for (int32_t i = 0; i < N_NAMES; i++) {
        snprintf(names[i], sizeof names[i], i % 2 ? "IMG_%05d" : "photo-%d-x", (int)i);
        order[i] = i;
    }
    /* A fixed-seed Fisher-Yates shuffle (xorshift), so the test is reproducible. */
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int32_t i = N_NAMES - 1; i > 0; i--) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        int32_t j = (int32_t)(s % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    static const uint32_t ns[] = {1, 2, 3, 7, 16};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        const uint32_t n = ns[t];
        int64_t count[16] = {0};
        for (int32_t i = 0; i < N_NAMES; i++) {
            shard_of[i] = p3d_shard_of(names[i], n);
            CHECK(shard_of[i] < n);
            if (shard_of[i] < n) count[shard_of[i]]++;
        }
        int64_t total = 0;
        const double mean = (double)N_NAMES / n;
        for (uint32_t k = 0; k < n; k++) {
            total += count[k];
            CHECK_MSG(count[k] >= 0.8 * mean && count[k] <= 1.2 * mean, "N=%u shard %u has %lld of mean %.1f", n, k,
                      (long long)count[k], mean);
        }
        CHECK(total == N_NAMES);
        for (int32_t i = 0; i < N_NAMES; i++) CHECK(p3d_shard_of(names[order[i]], n) == shard_of[order[i]]);
    }
    /* The function itself is fixed: a farm whose nodes run different builds, or a run resumed after
     * an upgrade, must split the same way. Pinned values (FNV-1a 64 + fmix64, modulo N). */
    CHECK(p3d_shard_of("moon", 1) == 0);
    CHECK(p3d_shard_of("moon", 7) == 1);
    CHECK(p3d_shard_of("IMG_0001", 16) == 4);
    CHECK(p3d_shard_of("", 3) == 2);
    CHECK(p3d_shard_of("scene", 1000) == 512);
}

static void test_folder(void) {
    /* f/sub.jpg/: a folder with an image-like name is not an image (and folders are not recursed). */
    static const char *const tree[] = {"f/",        "f/b.jpg",   "f/a.JPG",     "f/c.jpeg",      "f/d.Png",
                                       "f/e.bmp",   "f/g.tga",   "f/h.pgm",     "f/i.ppm",       "f/notes.txt",
                                       "f/.hidden.jpg", "f/noext", "f/sub.jpg/", "f/sub.jpg/deep.jpg"};
    make_tree(tree, sizeof tree / sizeof tree[0]);
    char dir[1024];
    p3d_test_tmp_path("f", dir, sizeof dir);
    p3d_input_list l;
    p3d_inputs_init(&l);
    CHECK_OK(p3d_inputs_add(&l, dir, NULL));
    static const char *const want[] = {"a", "b", "c", "d", "e", "g", "h", "i"}; /* strcmp order of the file names */
    CHECK(l.count == 8 && l.n_problems == 0);
    for (int32_t i = 0; i < l.count && i < 8; i++) {
        CHECK_MSG(strcmp(l.items[i].name, want[i]) == 0, "item %d is %s", (int)i, l.items[i].path);
        CHECK(strncmp(l.items[i].path, dir, strlen(dir)) == 0 && l.items[i].depth == NULL);
    }
    p3d_inputs_free(&l);
    /* img_format restricts to one extension (any case); specific to one name. */
    p3d_inputs_opts o = {".jpg", NULL};
    p3d_inputs_init(&l);
    CHECK_OK(p3d_inputs_add(&l, dir, &o));
    CHECK(l.count == 2 && strcmp(l.items[0].name, "a") == 0 && strcmp(l.items[1].name, "b") == 0);
    p3d_inputs_free(&l);
    p3d_inputs_opts o2 = {NULL, "d.Png"}, o3 = {NULL, "e"};
    p3d_inputs_init(&l);
    CHECK_OK(p3d_inputs_add(&l, dir, &o2));
    CHECK_OK(p3d_inputs_add(&l, dir, &o3));
    CHECK(l.count == 2 && strcmp(l.items[0].name, "d") == 0 && strcmp(l.items[1].name, "e") == 0);
    p3d_inputs_free(&l);
    /* A folder without images, and a missing path, are problems; the rest goes on. */
    mkdir_tmp("empty");
    char empty[1024], missing[1024], one[1024];
    p3d_inputs_init(&l);
    CHECK_OK(p3d_inputs_add(&l, p3d_test_tmp_path("empty", empty, sizeof empty), NULL));
    CHECK_OK(p3d_inputs_add(&l, p3d_test_tmp_path("nope.jpg", missing, sizeof missing), NULL));
    CHECK_OK(p3d_inputs_add(&l, p3d_test_tmp_path("f/notes.txt", one, sizeof one), NULL)); /* explicit: any file */
    CHECK(l.count == 1 && l.n_problems == 2);
    CHECK(has_problem(&l, "no (.jpg .jpeg .png .bmp .tga .pgm .ppm) images in the folder"));
    CHECK(has_problem(&l, "nope.jpg: No such file or directory"));
    p3d_inputs_free(&l);
}

static void test_list(void) {
    static const char *const tree[] = {"l/", "l/photos/", "l/more/", "l/photos/p1.jpg", "l/photos/p2.png",
                                       "l/more/m1.jpg", "l/more/m2.jpg"};
    make_tree(tree, sizeof tree / sizeof tree[0]);
    char abs_m2[1024], list[1024];
    p3d_test_tmp_path("l/more/m2.jpg", abs_m2, sizeof abs_m2);
    char text[2048];
    snprintf(text, sizeof text,
             "# photos of the day\n\nphotos/p1.jpg\n   photos/p2.png  \r\nmissing.jpg\n#photos/p1.jpg\nmore\n%s\n", abs_m2);
    p3d_test_tmp_file("l/list.txt", text, strlen(text), list, sizeof list);
    char arg[1100];
    snprintf(arg, sizeof arg, "@%s", list);
    p3d_input_list l;
    p3d_inputs_init(&l);
    CHECK_OK(p3d_inputs_add(&l, arg, NULL));
    static const char *const want[] = {"p1", "p2", "m1", "m2"};
    CHECK(l.count == 4);
    for (int32_t i = 0; i < l.count && i < 4; i++) CHECK(strcmp(l.items[i].name, want[i]) == 0);
    CHECK(l.n_problems == 1);
    CHECK(has_problem(&l, "missing.jpg: No such file or directory (listed in "));
    CHECK(has_problem(&l, "list.txt:5)"));
    p3d_inputs_free(&l);
    /* The same list from another working directory gives the same files. */
    char cwd[1024];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir("/") == 0);
    p3d_inputs_init(&l);
    CHECK_OK(p3d_inputs_add(&l, arg, NULL));
    CHECK(l.count == 4 && strstr(l.items[0].path, "/l/photos/p1.jpg"));
    p3d_inputs_free(&l);
    CHECK(chdir(cwd) == 0);
    /* A list that cannot be read is fatal, naming it. */
    p3d_inputs_init(&l);
    CHECK_FAILS(p3d_inputs_add(&l, "@/nonexistent/list.txt", NULL), P3D_ERR_INVALID_ARG,
                "@/nonexistent/list.txt: cannot open the list file");
    p3d_inputs_free(&l);
}

static void test_names(void) {
    static const char *const tree[] = {"n/", "n/a/", "n/b/", "n/a/x.jpg", "n/b/x.png", "n/a/y.jpg"};
    make_tree(tree, sizeof tree / sizeof tree[0]);
    char ax[1024], ax2[1024], bx[1024], ay[1024];
    p3d_test_tmp_path("n/a/x.jpg", ax, sizeof ax);
    p3d_test_tmp_path("n/a/./x.jpg", ax2, sizeof ax2);
    p3d_test_tmp_path("n/b/x.png", bx, sizeof bx);
    p3d_test_tmp_path("n/a/y.jpg", ay, sizeof ay);
    p3d_input_list l;
    p3d_inputs_init(&l);
    CHECK_OK(p3d_inputs_add(&l, ax, NULL));
    CHECK_OK(p3d_inputs_add(&l, ax2, NULL)); /* the same file again: dropped silently */
    CHECK_OK(p3d_inputs_add(&l, bx, NULL));  /* another file named x: a problem */
    CHECK_OK(p3d_inputs_add(&l, ay, NULL));
    CHECK(l.count == 2 && strcmp(l.items[0].path, ax) == 0 && strcmp(l.items[1].name, "y") == 0);
    CHECK(l.n_problems == 1 && has_problem(&l, "has the name 'x' of"));
    p3d_inputs_free(&l);
    char stem[64];
    p3d_path_stem("/a.b/c.d.jpg", stem, sizeof stem);
    CHECK(strcmp(stem, "c.d") == 0);
    p3d_path_stem(".hidden", stem, sizeof stem);
    CHECK(strcmp(stem, ".hidden") == 0);
    p3d_path_stem("dir/noext", stem, sizeof stem);
    CHECK(strcmp(stem, "noext") == 0);
    CHECK(p3d_is_image_name("a.JPEG") && p3d_is_image_name("b.ppm") && !p3d_is_image_name("c.txt") &&
          !p3d_is_image_name(".jpg") && !p3d_is_image_name("dir/.png"));
}

static void test_depth_match(void) {
    static const char *const tree[] = {"d/", "d/img/", "d/depth/", "d/img/x.jpg", "d/img/y.jpg", "d/img/z.jpg",
                                       "d/depth/x.npy", "d/depth/y.png", "d/depth/y.pfm"};
    make_tree(tree, sizeof tree / sizeof tree[0]);
    char img[1024], depth[1024];
    p3d_test_tmp_path("d/img", img, sizeof img);
    p3d_test_tmp_path("d/depth", depth, sizeof depth);
    p3d_input_list l;
    p3d_inputs_init(&l);
    CHECK_OK(p3d_inputs_add(&l, img, NULL));
    CHECK_OK(p3d_inputs_match_depth(&l, depth, ".pfm"));
    CHECK(l.count == 3);
    if (l.count == 3) {
        CHECK(l.items[0].depth && strstr(l.items[0].depth, "/d/depth/x.npy"));
        CHECK(l.items[1].depth && strstr(l.items[1].depth, "/d/depth/y.pfm")); /* the preferred extension */
        CHECK(l.items[2].depth == NULL);
    }
    p3d_inputs_free(&l);
    p3d_inputs_init(&l);
    CHECK_OK(p3d_inputs_add(&l, img, NULL));
    CHECK_OK(p3d_inputs_match_depth(&l, depth, NULL));
    CHECK(l.count == 3 && l.items[1].depth && strstr(l.items[1].depth, "/d/depth/y.png"));
    CHECK_FAILS(p3d_inputs_match_depth(&l, "/nonexistent/depth", NULL), P3D_ERR_INVALID_ARG, "/nonexistent/depth");
    char file[1024];
    p3d_test_tmp_path("d/depth/x.npy", file, sizeof file);
    CHECK_FAILS(p3d_inputs_set_depth(&l, file), P3D_ERR_INVALID_ARG, "there are 3 inputs");
    p3d_inputs_shard(&l, 0, 1);
    CHECK(l.count == 3);
    p3d_inputs_free(&l);
    char x[1024];
    p3d_inputs_init(&l);
    CHECK_OK(p3d_inputs_add(&l, p3d_test_tmp_path("d/img/x.jpg", x, sizeof x), NULL));
    CHECK_FAILS(p3d_inputs_set_depth(&l, "/nonexistent.npy"), P3D_ERR_INVALID_ARG, "--depth /nonexistent.npy");
    CHECK_OK(p3d_inputs_set_depth(&l, file));
    CHECK(l.count == 1 && strcmp(l.items[0].depth, file) == 0);
    p3d_inputs_free(&l);
}

/* Lists of real files: shards computed from a folder, from a list in another order with absolute
 * paths, and from a list read from another working directory hold the same names, and the N shards
 * of one listing are disjoint and cover it. */
static void test_shard_lists(void) {
    enum { N_FILES = 300 };
    mkdir_tmp("s");
    char dir[1024];
    p3d_test_tmp_path("s", dir, sizeof dir);
    char *listing = (char *)malloc(N_FILES * 1100);
    if (!listing) return;
    listing[0] = '\0';
    for (int32_t i = 0; i < N_FILES; i++) {
        char rel[64], line[1100];
        snprintf(rel, sizeof rel, "s/img%03d.jpg", (int)i);
        touch(rel);
        /* Reversed order, absolute paths. */
        snprintf(line, sizeof line, "%s/img%03d.jpg\n", dir, (int)(N_FILES - 1 - i));
        strcat(listing, line);
    }
    char list[1024], arg[1100];
    p3d_test_tmp_file("s.txt", listing, strlen(listing), list, sizeof list);
    snprintf(arg, sizeof arg, "@%s", list);
    free(listing);
    const uint32_t n = 3;
    int32_t seen[N_FILES] = {0};
    for (uint32_t k = 0; k < n; k++) {
        p3d_input_list a, b;
        p3d_inputs_init(&a);
        p3d_inputs_init(&b);
        CHECK_OK(p3d_inputs_add(&a, dir, NULL));
        CHECK_OK(p3d_inputs_add(&b, arg, NULL));
        CHECK(a.count == N_FILES && b.count == N_FILES);
        p3d_inputs_shard(&a, k, n);
        p3d_inputs_shard(&b, k, n);
        CHECK(a.count == b.count);
        /* Same names; a is in name order, b in reverse. */
        for (int32_t i = 0; i < a.count && i < b.count; i++)
            CHECK(strcmp(a.items[i].name, b.items[b.count - 1 - i].name) == 0);
        for (int32_t i = 0; i < a.count; i++) {
            int idx = atoi(a.items[i].name + 3);
            if (idx >= 0 && idx < N_FILES) seen[idx]++;
        }
        /* The name index is rebuilt after sharding: adding the folder again brings back exactly the
         * other shards' files, without duplicates or name problems. */
        CHECK_OK(p3d_inputs_add(&a, dir, NULL));
        CHECK(a.count == N_FILES && a.n_problems == 0);
        p3d_inputs_free(&a);
        p3d_inputs_free(&b);
    }
    for (int32_t i = 0; i < N_FILES; i++) CHECK_MSG(seen[i] == 1, "img%03d in %d shards", (int)i, (int)seen[i]);
}

int main(void) {
    RUN(test_shard_parse);
    RUN(test_shard_partition);
    RUN(test_folder);
    RUN(test_list);
    RUN(test_names);
    RUN(test_depth_match);
    RUN(test_shard_lists);
    return p3d_test_finish();
}
