/* config.h - the configuration of `photo3d-gpu run`: the reference's argument.yml keys plus ours.
 *
 * Sources, applied in order onto the defaults: a YAML file (`--config FILE`), then `--set KEY=VALUE`
 * overrides (VALUE is read with the same YAML rules: `--set "x_shift_range=[0,0,-0.02,-0.02]"`).
 * p3d_config_check() then checks the keys against each other. p3d_config_print() writes the effective
 * configuration as YAML that p3d_config_load_file() reads back to an equal configuration.
 *
 *   p3d_config c; p3d_config_defaults(&c);
 *   P3D_TRY(p3d_config_load_file(&c, "argument.yml"));
 *   P3D_TRY(p3d_config_set(&c, "fps=30"));
 *   P3D_TRY(p3d_config_check(&c));
 *
 * The file is a YAML mapping from key to a scalar or a list of scalars (flow [a, b] or block "- a").
 * An unknown key, a duplicate key, a value of the wrong type or out of range fails with
 * P3D_ERR_INVALID_ARG naming the key and FILE:LINE; malformed YAML fails with libyaml's problem and
 * line. Booleans: true/false/yes/no/on/off (any case, as PyYAML's YAML 1.1); a quoted scalar is
 * always a string, never a number or a boolean. Every key of the reference's argument.yml
 * (spec section 1) is accepted with its meaning; defaults are the reference's, except where a
 * comment in the struct below says why not.
 *
 * Keys accepted for compatibility with the reference's argument.yml, and what they mean here:
 *   gpu_ids              an alias: N >= 0 sets device to cuda:N, N < 0 sets device to cpu (the
 *                        reference's rule); --print-config shows device.
 *   MiDaS_model_ckpt,    paths of the weights: a .p3dw blob is used as it is; a PyTorch checkpoint
 *   depth_edge_model_ckpt,  (.pth/.pt, the reference's values) cannot be read by the program, so the
 *   depth_feat_model_ckpt,  blob converted from it is looked for beside it (same name, .p3dw) and then
 *   rgb_feat_model_ckpt     in the model search path (p3d_config_find_model).
 *   use_boostmonodepth   BoostingMonocularDepth (a MiDaS v2 + merge-net pipeline driven through a
 *                        second repository) is not provided: true is accepted with one warning
 *                        (p3d_config_warnings) and depth comes from depth_model. Default false.
 *   inference_video      read nowhere in the reference (videos are always rendered; spec 7.33).
 *   discount_factor      read nowhere in the reference (spec 7.33).
 *   offscreen_rendering  the reference's switch to EGL; rendering here is always offscreen.
 *   sigma_s, sigma_r     read by the reference's filter but without effect (spec 2.3, 7.1).
 * These are stored, printed and read back, and change nothing. */
#ifndef P3D_CONFIG_H
#define P3D_CONFIG_H

#include <stdio.h>

#include "core/p3d_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define P3D_CFG_PATH 1024    /* capacity of path values */
#define P3D_CFG_NAME 64      /* capacity of short strings and list items */
#define P3D_CFG_MAX_TRAJ 16  /* trajectories (videos) per image */
#define P3D_CFG_MAX_ITER 16  /* filter passes */

/* How hidden layers are filled: the three inpainting networks, a non-learned fill (no weights
 * needed), or the networks when their weights are installed and the non-learned fill otherwise. */
typedef enum p3d_fill_mode { P3D_FILL_AUTO = 0, P3D_FILL_LEARNED = 1, P3D_FILL_CLASSIC = 2 } p3d_fill_mode;

/* Depth estimator for photos without a depth map (models.h names). */
typedef enum p3d_depth_model_kind {
    P3D_DEPTH_MODEL_TIEFENRAUSCH = 0,
    P3D_DEPTH_MODEL_MIDAS_V1 = 1,
    P3D_DEPTH_MODEL_MIDAS_SMALL = 2,
    P3D_DEPTH_MODEL_MIDAS_LARGE = 3,
} p3d_depth_model_kind;

typedef struct p3d_config {
    /* ---- weights (reference: checkpoints/NAME.pth, MiDaS/model.pt; here "" = the model search path) */
    char depth_edge_model_ckpt[P3D_CFG_PATH];
    char depth_feat_model_ckpt[P3D_CFG_PATH];
    char rgb_feat_model_ckpt[P3D_CFG_PATH];
    char MiDaS_model_ckpt[P3D_CFG_PATH];
    int32_t use_boostmonodepth; /* default 0: not provided here (the reference's default is true) */
    int32_t require_midas;      /* 1: estimate depth for photos without a depth map; 0: require one */

    /* ---- videos: one trajectory per list position; the five lists have equal lengths */
    int32_t fps;
    int32_t num_frames;
    int32_t n_traj; /* shared length, set by p3d_config_check; the per-key counts are below */
    int32_t n_x_shift, n_y_shift, n_z_shift, n_traj_types, n_video_postfix;
    double x_shift_range[P3D_CFG_MAX_TRAJ];
    double y_shift_range[P3D_CFG_MAX_TRAJ];
    double z_shift_range[P3D_CFG_MAX_TRAJ];
    char traj_types[P3D_CFG_MAX_TRAJ][P3D_CFG_NAME];    /* double-straight-line | straight-line | circle */
    char video_postfix[P3D_CFG_MAX_TRAJ][P3D_CFG_NAME]; /* file name suffixes; "dolly" in one = dolly zoom */
    int32_t n_crop_border;
    double crop_border[4]; /* [top, left, bottom, right] fractions cropped from each frame */
    int32_t anti_flickering;
    int32_t inference_video;     /* ignored (see above) */
    int32_t offscreen_rendering; /* ignored (see above) */

    /* ---- inputs and outputs */
    char specific[P3D_CFG_NAME]; /* only the input with this name (file name or stem); "" = all */
    char src_folder[P3D_CFG_PATH];   /* inputs when the command line names none */
    char depth_folder[P3D_CFG_PATH]; /* depth maps read from / written to */
    char mesh_folder[P3D_CFG_PATH];
    char video_folder[P3D_CFG_PATH];
    char img_format[P3D_CFG_NAME];   /* folder inputs: only this extension; "" = every image type
                                        (reference default '.jpg': its glob pattern) */
    char depth_format[P3D_CFG_NAME]; /* preferred depth-map extension when several match a photo */
    int32_t load_ply;                /* reuse an existing mesh file instead of building it */
    int32_t save_ply;                /* write the mesh file */
    int32_t mesh_format;             /* ours: a p3d_mesh_format value (ply = binary, ply-ascii, glb) */
    int32_t longer_side_len;
    char device[P3D_CFG_NAME];       /* ours: auto | cpu | cuda | cuda:N (gpu_ids is an alias) */
    int32_t depth_model;             /* ours: a p3d_depth_model_kind */
    int32_t fill;                    /* ours: a p3d_fill_mode */
    int32_t video_mesh;              /* ours: the videos' mesh, 1 = compact (textured, simplified), 0 = dense */

    /* ---- LDI, filtering and inpainting parameters (spec sections 2.3-2.19) */
    double depth_threshold;
    double ext_edge_threshold;
    int32_t sparse_iter;
    int32_t n_filter_size;
    int32_t filter_size[P3D_CFG_MAX_ITER]; /* odd window per pass; at least sparse_iter entries */
    double sigma_s, sigma_r;               /* no effect (see above) */
    int32_t redundant_number;
    int32_t background_thickness;
    int32_t context_thickness;
    int32_t background_thickness_2;
    int32_t context_thickness_2;
    double discount_factor; /* ignored (see above) */
    int32_t log_depth;
    int32_t largest_size;
    int32_t depth_edge_dilate;
    int32_t depth_edge_dilate_2;
    int32_t extrapolate_border;
    int32_t extrapolation_thickness;
    int32_t repeat_inpaint_edge;
} p3d_config;

/* The reference's argument.yml values (except as noted in the struct) and our keys' defaults. */
void p3d_config_defaults(p3d_config *c);

/* Applies the keys of a YAML file / text onto c. `source` names the text in messages. On failure c
 * may hold some of the keys; callers stop. */
p3d_status p3d_config_load_file(p3d_config *c, const char *path);
p3d_status p3d_config_load_string(p3d_config *c, const char *text, size_t len, const char *source);

/* One "KEY=VALUE" override; VALUE is one YAML scalar or flow list ("" = an empty string). */
p3d_status p3d_config_set(p3d_config *c, const char *assignment);

/* Cross-key checks (equal trajectory list lengths, enough filter sizes, crop fractions leaving a
 * frame, a valid device); sets c->n_traj. */
p3d_status p3d_config_check(p3d_config *c);

/* The effective configuration as YAML (every key, ignored ones with their reason as a comment). */
p3d_status p3d_config_print(const p3d_config *c, FILE *f);

/* 1 when every key has the same value in a and b. */
int p3d_config_equal(const p3d_config *a, const p3d_config *b);

/* Warnings about the configuration the run should report once (lines without a final newline,
 * separated by '\n', in buf); returns how many. */
int32_t p3d_config_warnings(const p3d_config *c, char *buf, size_t cap);

const char *p3d_fill_mode_str(int32_t fill);
const char *p3d_depth_model_str(int32_t kind);
/* The keys, in the order print writes them (for help texts); *count set. */
const char *const *p3d_config_key_names(int32_t *count);

/* The weights of one model (models.h name: "edge", "depth", "color" or "midas-v1"; the depth
 * models without a config key are looked up in the search path only): the configured path when it
 * is a .p3dw; for a configured PyTorch checkpoint the .p3dw beside it; then the model search path
 * (cli_model_dir first, may be NULL). Returns 1 with the path in out, or 0 with out = "" and a
 * message in why saying where it looked and how to get the model. P3D_ERR_INVALID_ARG for an
 * unknown name or a configured .p3dw that does not exist. */
p3d_status p3d_config_find_model(const p3d_config *c, const char *model, const char *cli_model_dir, char *out,
                                 size_t cap, int *found, char *why, size_t why_cap);

#ifdef __cplusplus
}
#endif
#endif
