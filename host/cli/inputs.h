/* inputs.h - the photos a batch command works on: expansion of the command line, depth-map
 * matching and sharding over many nodes.
 *
 * An INPUT argument is
 *   - an image file (any extension: the decoder decides),
 *   - a folder: its image files (.jpg .jpeg .png .bmp .tga .pgm .ppm, any case; not recursive;
 *     hidden files skipped), sorted by name (strcmp order), or only those ending in the
 *     img_format extension when one is configured,
 *   - @LIST: a text file with one path per line; blank lines and lines starting with '#' are
 *     skipped, surrounding blanks trimmed, relative paths taken relative to LIST's folder (so a list
 *     means the same from any working directory). Entries may be images or folders, not lists.
 * An input that does not exist (on the command line or in a list) is recorded in `problems` with
 * the reason and the rest goes on: the command reports it at the end and exits 3. A list file that
 * cannot be read is fatal (P3D_ERR_INVALID_ARG).
 *
 * Every input has a name: its file name without the extension (the stem). Outputs are named after
 * it, so two inputs with the same name (a/x.jpg and b/x.png) cannot both be processed: the first
 * one is kept and the later ones are recorded in `problems`. The same file given twice (by another
 * path) is kept once, silently.
 *
 * Sharding: input NAME belongs to shard p3d_shard_of(NAME, N) = FNV-1a 64 of the name's bytes,
 * mixed by the murmur3 64-bit finaliser, modulo N. It depends on the name only, so the split is the
 * same whatever the order of the listing, the working directory, the folder the photos are in or
 * the node that computes it, and every input is in exactly one of the N shards. Shards are numbered
 * from 0 ("K/N", 0 <= K < N), like SLURM_ARRAY_TASK_ID of `sbatch --array=0-(N-1)`. */
#ifndef P3D_INPUTS_H
#define P3D_INPUTS_H

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_input {
    char *path;  /* the image file, as given or joined to the list's / folder's directory */
    char *name;  /* stem: file name without directory and extension */
    char *depth; /* matched depth map, or NULL */
    uint64_t dev, ino; /* the file's identity (stat), to drop the same file given twice */
} p3d_input;

typedef struct p3d_input_list {
    p3d_input *items;
    int32_t count, cap;
    char **problems; /* "PATH: reason" for inputs that cannot be processed */
    int32_t n_problems, cap_problems;
    int32_t *by_name; /* private: open-addressing index of items by name (-1 = empty slot) */
    uint32_t by_name_cap;
} p3d_input_list;

typedef struct p3d_inputs_opts {
    const char *img_format; /* folders: only this extension (".jpg", any case); NULL or "" = all image types */
    const char *specific;   /* keep only the input whose file name or stem equals this; NULL or "" = all */
} p3d_inputs_opts;

void p3d_inputs_init(p3d_input_list *l);
void p3d_inputs_free(p3d_input_list *l);

/* Expands one INPUT argument (file, folder or @LIST) onto l. opts may be NULL. */
p3d_status p3d_inputs_add(p3d_input_list *l, const char *arg, const p3d_inputs_opts *opts);

/* Records "what: reason" in l->problems. */
p3d_status p3d_inputs_problem(p3d_input_list *l, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 1 when the file name has one of the image extensions above. */
int p3d_is_image_name(const char *path);

/* For every input without a depth map: DIR/NAME.EXT, else DIR/NAME_disp.EXT, else DIR/NAME_depth.EXT,
 * for the first EXT of (preferred, .npy, .png, .pfm) that exists (preferred may be NULL), never the
 * input's own file. Inputs without one keep depth = NULL. Then the inputs that are the depth map of
 * another input are dropped: `run photos/ --depth-dir photos/` takes scene.png with scene_disp.png
 * as its map, not scene_disp.png as a second photo. Call it before p3d_inputs_shard, so a map and its
 * photo are told apart whatever shard each would fall in. Fails when dir is not a readable folder. */
p3d_status p3d_inputs_match_depth(p3d_input_list *l, const char *dir, const char *preferred_ext);

/* Gives the only input the depth map `file` (--depth FILE); P3D_ERR_INVALID_ARG unless there is
 * exactly one input or the file does not exist. */
p3d_status p3d_inputs_set_depth(p3d_input_list *l, const char *file);

/* Shard of a name among n (n >= 1): see above. */
uint32_t p3d_shard_of(const char *name, uint32_t n);

/* Parses "K/N" (decimal, no signs or blanks, 1 <= N <= 1000000, 0 <= K < N). */
p3d_status p3d_shard_parse(const char *text, uint32_t *k, uint32_t *n);

/* Keeps only the inputs of shard k of n (order kept). */
void p3d_inputs_shard(p3d_input_list *l, uint32_t k, uint32_t n);

/* The stem of a path (no directory, no extension) into out. */
void p3d_path_stem(const char *path, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
