/* p3d_hd.h - the P3D_HD qualifier for per-element math written once for both backends.
 *
 * A function marked P3D_HD is a `static inline` C function in host code and a
 * `static inline __host__ __device__` function when the header is included from a .cu file, so the
 * CPU tests exercise exactly the arithmetic the GPU kernels run. Headers named *_math.h contain only
 * such functions (no allocation, no I/O, no libc calls other than <math.h> single-precision ones). */
#ifndef P3D_HD_H
#define P3D_HD_H

#if defined(__CUDACC__)
#define P3D_HD static inline __host__ __device__
#else
#define P3D_HD static inline
#endif

#endif
