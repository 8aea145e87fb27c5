/* fill_classic.h - the non-learned inpainting fill that takes the three networks' place when no
 * inpainting weights are installed (issue 5, stage 6), CPU and CUDA.
 *
 * Each patch is one edge's crop (reference 2.16 / 2.17): `context` marks the background pixels on the
 * far side of the depth edge, `mask` the pixels to synthesise (background hidden behind the
 * foreground, the new LDI layer). Pixels in neither (the foreground itself, other layers) are
 * unknown: they are never read, so foreground colour and depth cannot leak into the fill. Which
 * pixels are context is the caller's choice (ldi/ldi_inpaint.c, classic_sources and strip_patch):
 * only the background side of the edge - no pixel nearer than the seam's background, none across a
 * depth edge, none of the blurred ring next to the edge whose colour is the occluder's - so every
 * source patch, for colour and for depth, is background.
 *
 * The method, two passes (issue 15): a STRUCTURE pass, the membrane solve below, carries the
 * background's low frequencies - the plane of its depth, its mean colours and their gradients - into
 * the hole; a TEXTURE pass, multi-scale PatchMatch, copies whole background patches, which continue
 * mortar lines, tile edges and texture. The output is the structure plus the PatchMatch image's
 * detail finer than 1 / 2^(levels - 1) of the patch (that image less its own low-pass, the pyramid of
 * the finished image down to the coarsest level the patch's size allows, 1/32 for patches of 224 px
 * and more), times opts.texture and, per pixel, times the detail's confidence (opts.confidence): the
 * mean vote weight of the patches covering the pixel, near 1 where they matched their sources
 * closely (a regular pattern: bricks, tiles, a checkerboard) and small where they did not (an
 * irregular texture, where copied detail is as likely to be wrong as right). Where the patches
 * matched near-exactly the PatchMatch image's own low-pass also replaces the structure's, by
 * confidence^32 (P3D_FILL_LOWPASS_SQUARINGS): a pattern coarser than the detail's cut (a floor's
 * checkers, a course of dark and light bricks) is then copied whole instead of fading to the
 * structure pass's mean colour along the row (the pale washes behind the sample's ball and pillar,
 * issue 15; tests/test_fill_classic.c test_band_keeps_contrast: the band's luma contrast over its
 * context's, bricks 0.927 -> 0.972, checkers 0.642 -> 1.000), while an irregular texture, whose
 * matches are rarely near-exact (cones: four fifths of the disoccluded pixels below a confidence of
 * 0.99, where the weight is 0.72 and falls to 0.20 at 0.95), keeps the structure's coarse colours,
 * which a real stereo pair scores better: the full PatchMatch image (weight 1) gives 15.42 dB on
 * cones at 960 px, confidence^4 16.32, confidence^32 17.44 against 17.58 without (stretch 15.36);
 * 450 px 17.24 -> 17.25, mirrored 17.66 -> 17.49; outside the frame 15.06 -> 14.79, 14.89 -> 14.71,
 * 14.84 -> 15.08 (stretch 13.56, 13.51, 13.47); SSIM inside 0.449 -> 0.444, 0.472 -> 0.475,
 * 0.509 -> 0.498. Looked at: the band behind the sample's pillar's left edge shows orange and dark
 * courses with mortar instead of pinkish-grey smears, the floor behind its ball black and white
 * checkers instead of a grey arc. The confidence cannot tell the two apart everywhere: cones
 * matches at 0.99 and above on a fifth of its pixels, the sample on seven tenths.
 * The structure pass can be anisotropic (opts.cross < 1: vertical neighbours weigh less than
 * horizontal ones): a disocclusion opens along the camera's parallax, along the rows for a sideways
 * move, and its hidden background continues what lies beside it on the same rows (a mortar course,
 * a stripe), which the background stretch baseline exploits and an isotropic membrane blurs away.
 * Why not PatchMatch alone: on a real stereo pair (tools/stereo_quality, Middlebury cones at 450 px)
 * its copied patches get the large-scale colours of the disoccluded background wrong more often than
 * right - 13.8 dB on the disoccluded pixels inside the frame against 15.7 dB for the diffusion alone
 * and 14.8 dB for a background stretch along the rows. Full detail on the isotropic structure gave
 * 15.43 dB; the confidence-weighted detail on the row-wise structure (cross 0.04, as ldi/ uses it)
 * gives 15.82 dB (960 px: 16.04 -> 16.31 dB, stretch 14.82), and keeps a checkerboard's squares
 * (tests/test_fill_classic.c). A fixed low-pass rather than PatchMatch's own coarsest scale: a thin
 * context cuts the scales short, and a cut at 1/4 took the bricks themselves out of the detail.
 * Structure that repeats: the dominant offsets (He & Sun 2012, "Statistics of Patch Offsets for Image
 * Completion"). Before PatchMatch runs, the host matches every context patch to its most similar
 * context patch at least a patch side away (PatchMatch of the context onto itself, 5 x 5 patches on
 * the context reduced by 2^k to at most 6144 pixels) and counts the offsets of the matches in a 2-D
 * histogram; its highest peaks (at most P3D_FILL_MAX_OFFSETS, each holding at least 1/64 of the
 * matches) are the offsets by which the context repeats itself: on the sample's wall one brick along
 * a course and half a brick and a course down (the statistics of the band beside the wall found
 * (88, 0) px; of the strip left of the pillar, which holds one joint per course, two courses down,
 * (0, 76); tests/test_fill_classic.c: a synthetic wall of 24 x 10 px bricks gives (24, 0) and
 * (12, 30)). Every search pass of every scale then also tries, for mask pixel p and each offset o and
 * -o, the patch at p + o when it is context, or the source of the mask pixel at p + o: a pattern's
 * period as a candidate, so the copy can continue the pattern in phase and pixels chained by the same
 * offset copy coherent patches. The candidates only compete (kept when they match better), so an
 * irregular texture, whose matches scatter and give no peak, keeps the plain search. Host code in a
 * fixed order with the fill's counter hash, the offsets passed to the steps by value: the same on CPU
 * and CUDA. Measured, the gain is small so far: cones (tools/stereo_quality, disoccluded inside the
 * frame) 17.25 -> 17.26 dB at 960 px (SSIM 0.405 -> 0.415), 17.24 -> 17.23 at 450, mirrored 17.89 ->
 * 17.90; on the synthetic wall the band's mean error is 0.160 with them and 0.159 without (plain
 * PatchMatch already finds in-phase copies of a perfect pattern); the sample's bands look the same.
 * Cost: moon's photo -> mesh 3.01 -> 3.34 s CPU with the source change below (mean of 3 runs each,
 * a loaded 2-core VM; the fill's share of the stage times 81.2 -> 82.0 %).
 * What kept the bricks out of the band behind the sample's pillar (left edge) was the source choice,
 * not the search: its context held the extrapolated border (a smooth fill itself) beside 40 columns
 * of real wall, and PatchMatch, which starts the band from the smooth structure colours, matched the
 * border's blur best. The border's nodes are now no colour source of an edge's patch while the photo
 * gives enough (ldi_inpaint.c colour_sources): the band shows sharp mortar courses continued from the
 * wall and, behind the pillar's right edge, whole bricks with their joints; cones inside 17.23 -> 17.34
 * dB at 450 px (mirrored 17.90 -> 17.86). Not reached yet: vertical joints in the left band (the strip
 * beside it holds one joint per course, so no horizontal period can be learned from it), and where the
 * copied detail's confidence is low the band still fades toward the structure pass's mean colour.
 * Where it stands (main after fill2 -> this branch: the dominant offsets, the border source rule and
 * depth_prep's in-between step; dB, disoccluded inside the frame against the stretch; outside the
 * frame; own camera = resampling alone in every case): 450 px 17.24 -> 17.24 (15.34: +1.90), outside
 * 15.03 -> 15.07 (13.51), own 31.58 -> 31.53; 960 px 17.27 -> 17.28 (15.35: +1.93), outside 15.04 ->
 * 15.07 (13.56), own 37.25 -> 37.18; mirrored pair at 450 px 17.76 -> 17.82 (15.62: +2.20). The
 * in-between step moves these by up to 0.1 dB either way (with it along columns too: 17.34, 17.24,
 * 17.86). With the step keeping wedge tips (depth_prep.h; fill4): 450 px 17.20 (15.34: +1.86),
 * 960 px 17.26 (15.36: +1.90; no geometry 167 -> 89 disoccluded pixels), mirrored 17.74 (15.62:
 * +2.12); outside unchanged, own camera still equal to resampling alone.
 * With depth_prep's colour fringe step (depth_prep.h p3d_depth_fringe, fill5: the photo's mixed edge
 * pixels on the far side of a depth edge move onto the foreground, so the fill synthesises the
 * background behind them instead of leaving the occluder's outline on it): 960 px 17.26 -> 17.56
 * (15.36: +2.20), 450 px 17.20 -> 17.18 (15.34: +1.84), mirrored 17.74 -> 17.72 (15.62: +2.10);
 * outside 15.07 -> 15.05, 14.88, 14.84; own camera equal to resampling alone (37.42, 32.21, 31.86 dB);
 * pixels visible in both views now above the stretch (960 px 27.86 -> 28.37 dB against 28.14; 450 px
 * 26.62 -> 27.50 against 27.33). Disoccluded pixels without geometry: 960 px 89 -> 176, 450 px
 * 22 -> 27 (not traced yet; most lie in the band behind the right edge of cones' green cone, which
 * the LDI dump shows holding two surfaces, the background and a thin wedge, perhaps torn apart);
 * moon's silhouette case (tests/test_ldi_fixtures.c) 144 / 46 -> 33 / 44 at
 * -2 / +2 cm. Cost: moon's `mesh --device cpu` 3.70-3.77 -> 3.87-3.90 s of CPU (user + sys, two
 * alternating runs each, load 6-7); the fill's share of the stage times (border + both inpainting
 * passes, wall) 78.5-82.3 % -> 82.5-86.0 % in the same runs, inside the 25 % bound.
 * What limited cones at 450 px was geometry, not this fill: the depth preparation's blur and median
 * ate thin structures (cone tips, sticks) and the 200-px component minimum dropped the background seen
 * through a lattice, so 1879 disoccluded pixels showed the photo's foreground. With those fixed
 * (depth_prep.h: no blur, the centre surface's median; ldi_graph_math.h: p3d_ldi_min_component) the
 * same fill gave 17.13 dB against the stretch's 15.34 at 450 px (+1.79; mirrored pair +1.58) and
 * 17.14 against 15.36 at 960 px; keeping every context off every edge's mask (ldi_graph_math.h) then
 * cost 0.2-0.3 dB (16.95 and 16.83).
 * The seam. The context pixel next to the mask is the photo's pixel on the depth edge: it images
 * both surfaces (optics, demosaicing, resampling), and the structure pass extends whatever it is
 * given along the rows, so one tinted seam pixel tints the whole hidden band. ldi/ therefore gives
 * the colour fill the background's pixels less that one-pixel seam (ldi_inpaint.c colour_sources;
 * the seam still gives the depth): cones, disoccluded pixels inside the frame, 16.83 -> 17.28 dB at
 * 960 px (+1.92 over the stretch), 16.95 -> 17.26 at 450 (+1.92); mirrored pair 17.21 -> 18.19 at
 * 960 (+2.84), 17.55 -> 17.90 at 450 (+2.28). tests/test_stereo_quality.sh asserts the 1.5 dB at
 * 450 and 960 px, and at 450 px on the mirrored pair.
 *
 *   p3d_fill_opts o = p3d_fill_opts_default();
 *   p3d_fill_patch p = {w, h, context, mask, rgb, depth};   // host buffers, (h, w[, 3]) row-major
 *   P3D_TRY(p3d_fill_classic(ctx, &p, 1, &o));              // rgb / depth now filled on the mask
 *
 * Depth: background-only extension, in disparity (1 / depth: a plane in 3-D is affine in it). The
 *   least-squares plane through the context's disparity is the trend; its residual on the mask is
 *   the membrane (harmonic; anisotropic with opts.cross < 1) interpolation of the context's
 *   residual: context pixels are Dirichlet data, unknown pixels walls (zero flux), solved
 *   coarse-to-fine on a pyramid with damped Jacobi sweeps. So a tilted background (a floor, a wall)
 *   continues as the same plane behind the foreground and meets the context without a seam. Only mask pixels are swept (the cost follows the
 *   mask, not the patch); the finest level gets smooth_iters sweeps, each coarser one twice as many
 *   up to 8x. The result is clamped to the context's depth
 *   range: never nearer than the nearest context pixel, so the foreground's depth (never read) cannot
 *   be approached by extrapolation. A mask region with no path to the context at full resolution
 *   takes the residual its coarser cells got (a mean of context values); on the coarsest level the
 *   mean context residual seeds the solve. A patch with mask pixels but no context pixel is refused
 *   (P3D_ERR_INVALID_ARG): the reference never inpaints an edge without context (2.16 step 1).
 * Colour: multi-scale PatchMatch image completion (Wexler et al. 2007, Barnes et al. 2009). The same
 *   membrane solve gives a diffusion fill, downsampled to the coarsest scale as the starting image.
 *   On every scale, coarse to fine: a nearest-neighbour field maps each mask pixel's patch
 *   (patch x patch; context and current mask estimates compared, unknown pixels left out) to a source
 *   patch lying entirely in the context; the field is improved by Jacobi-style propagation (each
 *   pixel reads the previous field of its neighbours at distance 1 and a jump distance) and random
 *   search with a counter-based hash (seed, scale, iteration, pixel, trial); each EM round ends with a
 *   vote (the overlapping source patches' pixels, weighted by 1 / (1 + distance / 0.05^2)). The field
 *   is upsampled to the next scale and voted before that scale's rounds; the coarsest scale, which
 *   starts from random matches, runs more search passes per round than the finer ones, which start
 *   from a converged field. Patch distances compare the image rounded to 8 bits (its own precision)
 *   as exact integer sums: any summation order gives the same number, so the CPU vectorises them
 *   and still agrees with the GPU. Where no patch fits entirely in the context at full resolution (a
 *   context thinner than the patch) the colour is the diffusion fill. The result: diffusion colour +
 *   texture * confidence * (finest PatchMatch image - its coarsest scale, bilinearly upsampled over
 *   that scale's known pixels) + confidence^32 * (that upsampled coarsest scale - diffusion colour),
 *   clamped per channel to the context's colour range; with a single
 *   PatchMatch scale, diffusion + texture * confidence * (PatchMatch - diffusion). The confidence
 *   is the mean weight of the votes in the finest scale's last vote; with opts.confidence = 0 the
 *   detail weighs texture alone and the coarse colours are the diffusion's.
 * Every step is one pass over the pixels of one level reading only the previous buffers, with the
 * per-pixel arithmetic in fill_classic_math.h (shared with cuda/inpaint/fill_classic.cu, no fused
 * multiply-adds): results are identical on CPU and CUDA and independent of the thread count.
 * Context and unknown pixels of rgb / depth are returned unchanged.
 *
 * Memory: one call sizes its workspace for the largest patch (the context's scratch block, kept for
 * the next call, plus one host staging block); the dominant offsets' statistics allocate their own
 * host buffers per patch, about 40 bytes a pixel of the reduced patch, freed before the search. On
 * the CPU with several patches and threads, each thread gets a workspace of its own and takes whole patches (largest mask first), running their
 * steps alone; on the GPU, or with one patch, the patches run one after the other with each step
 * parallel over its pixels. A patch's result never depends on which thread ran it. */
#ifndef P3D_FILL_CLASSIC_H
#define P3D_FILL_CLASSIC_H

#include "core/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct p3d_fill_patch {
    int32_t w, h;
    const uint8_t *context; /* (h, w) 1 = known background pixel usable as source */
    const uint8_t *mask;    /* (h, w) 1 = synthesise; disjoint from context; pixels in neither are
                               unknown and never used as source */
    float *rgb;             /* (h, w, 3) in [0, 1]: valid on context; on return filled on mask */
    float *depth;           /* (h, w) > 0: valid on context; on return filled on mask */
    struct p3d_fill_gather *gather; /* NULL, or on a device: how the caller gathers rgb and depth there
                                       instead of their upload, and where the results stay there
                                       (inpaint/fill_gather.h) */
} p3d_fill_patch;

typedef struct p3d_fill_opts {
    int32_t patch;        /* PatchMatch patch side, odd, 3..15 (default 7) */
    int32_t scales;       /* most PatchMatch scales, 1..8 (default 4: with 6 the band behind the
                             sample's pillar shows whole bricks, but the bands behind its ring copy
                             bricks onto the floor and fail tests/test_fill_bands.c, and cones'
                             disocclusions lose 0.2 dB; fewer when a coarser scale
                             would have no full-context source patch or a side below the patch) */
    int32_t em_iters;     /* search + vote rounds per scale, 1..32 (default 3) */
    int32_t coarse_nnf_iters; /* propagation + random-search passes per round on the coarsest scale,
                                 which starts from random matches, 1..32 (default 4) */
    int32_t nnf_iters;    /* the same on every finer scale, which starts from the coarser scale's
                             field, 1..32 (default 1) */
    int32_t smooth_iters; /* Jacobi sweeps on the finest level of the membrane solve, doubled on
                             each coarser level up to 8x, 2..4096, even (default 16) */
    uint32_t seed;        /* random-search seed (default 1) */
    float texture;        /* weight of the PatchMatch detail added to the diffusion colour, 0..1
                             (default 1; 0 = the diffusion colour alone) */
    float cross;          /* weight of the vertical neighbours in the membrane solve (structure pass),
                             the horizontal ones weighing 1: below 1 the structure continues the
                             context along the rows, the direction a sideways camera move opens a
                             disocclusion in; 0.001..1 (default 1: isotropic; ldi/ uses 0.04 on
                             disocclusions) */
    int32_t confidence;   /* 1: the PatchMatch detail is scaled per pixel by its matches' mean vote
                             weight, and the PatchMatch image's coarse colours replace the
                             structure's by that weight^32 (default); 0: the detail by opts.texture
                             alone over the structure's coarse colours */
    int32_t offsets;      /* 1: the context's dominant patch offsets are search candidates (default);
                             0: propagation and random search alone */
} p3d_fill_opts;

p3d_fill_opts p3d_fill_opts_default(void);

/* Patch sides at most this many pixels (the workspace is sized from w * h with int32 indices). */
#define P3D_FILL_MAX_SIDE 8192

/* Fills every patch's mask in place (host buffers in and out; on CUDA the patch is uploaded, filled
 * and downloaded). Fails with P3D_ERR_INVALID_ARG naming the patch and the problem: bad sizes or
 * NULL buffers, context and mask overlapping, a context pixel with a non-positive or non-finite
 * depth or a non-finite colour, mask pixels without any context, options out of range. Checks every
 * patch before filling any. */
p3d_status p3d_fill_classic(p3d_ctx *ctx, p3d_fill_patch *patches, int32_t n, const p3d_fill_opts *opts);

/* The diffusion fill alone (the membrane solve of depth and colour, no PatchMatch): the baseline the
 * tests compare with and the colour used where no source patch exists. Same checks and options. */
p3d_status p3d_fill_smooth(p3d_ctx *ctx, p3d_fill_patch *patches, int32_t n, const p3d_fill_opts *opts);

/* The dominant offsets of p's context (the structure paragraph above; host, deterministic for a seed):
 * off receives up to P3D_FILL_MAX_OFFSETS (x, y) pairs in pixels, strongest first, each standing for
 * itself and its negative (x > 0, or x = 0 and y > 0). Returns their count: 0 for a context without
 * a repeating structure, one too small for the statistics, or when memory runs out. */
int32_t p3d_fill_dominant_offsets(const p3d_fill_patch *p, uint32_t seed, int32_t *off);

#ifdef P3D_HAVE_CUDA
struct p3d_cuda_ctx;
struct p3d_fill_step;
/* Runs one fill step (fill_classic_math.h) over its s->n elements on the context's stream. */
p3d_status p3d_fill_classic_cuda(struct p3d_cuda_ctx *ctx, const struct p3d_fill_step *s);
#endif

#ifdef __cplusplus
}
#endif
#endif
