/*
 * resdenoise._kernels: the engine's step loop in C, for speed only.
 *
 * The NumPy engine (resdenoise/engine.py, class _Stepper) is the reference;
 * this module runs the same diffusion blocks
 *
 *     d_j = (u_{j+C} - u_j) * inv_h,   F_j = Phi(d_j) * scale,
 *     u_j = (u_j + F_j) - F_{j-C}      (zero flux beyond both ends),
 *
 * on a C-contiguous buffer of `rows` samples x `C` channels, with the
 * operations in the order of the NumPy engine.  It is compiled with
 * -ffp-contract=off (setup.py), so every operation is one correctly rounded
 * IEEE operation whether the compiler vectorises it or not (fused
 * multiply-adds only where fma() is written, and fma() is exact everywhere),
 * and the AVX2/FMA and the generic builds give the same bits.  Hence:
 *
 *   * families made of + - * / sqrt and comparisons (linear, charbonnier,
 *     soft, garrote, hard, softsign) give the NumPy engine's numbers bit for
 *     bit;
 *   * perona-malik uses the exponential below instead of libm's: a few units
 *     in the last place from the NumPy engine, identical across tilings,
 *     threads, chunks and machines.
 *
 * Every loop is branch-free so that GCC vectorises it; on x86-64 an
 * AVX2/FMA (x86-64-v3) clone is chosen at load time where the CPU has it,
 * and Perona-Malik has its own AVX2 code (the same operations, the same
 * bits).  Tiled runs go through run_sweeps, whose threads share the tiles
 * without the GIL.
 *
 * Also loops for speed only, each giving the numbers of the NumPy code it
 * stands for bit for bit: window_energies32 and diff_energies32 (the noise
 * level, resdenoise/noise.py), median_residual (resdenoise/impulses.py) and column_stats / columns_stats (a streamed
 * run's passes, resdenoise/stream.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

/* MSVC (setup.py builds with /std:c11, Visual Studio 2019 16.8 or later): an older one,
 * or one without the flag, has C99's restrict and inline only under its own names. Every
 * GCC/Clang extension below (attributes, builtins, vector types, AVX2 clones, the threads'
 * pthreads and atomics) is inside a guard that MSVC does not meet: it builds the plain
 * scalar loops, one thread (tests/test_fix19a.py preprocesses this file as MSVC would). */
#if defined(_MSC_VER) && !defined(__clang__) && (!defined(__STDC_VERSION__) || __STDC_VERSION__ < 201112L)
#define restrict __restrict
#define inline __inline
#endif

#if defined(__GNUC__)
#define RD_INLINE __attribute__((always_inline))
#else
#define RD_INLINE
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define RD_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#define RD_HAVE_CLONES 1
#else
#define RD_CLONES
#define RD_HAVE_CLONES 0
#endif

/* Family codes; FAMILY_NAMES (below) gives the registry key of each. */
enum { LINEAR, CHARBONNIER, SOFT, PERONA_MALIK, GARROTE, HARD, SOFTSIGN, N_FAMILIES };
static const char *FAMILY_NAMES[N_FAMILIES] = {
    "linear", "charbonnier", "soft", "perona-malik", "garrote", "hard", "softsign",
};

/* ------------------------------------------------------------------------
 * Perona-Malik's flux  F(d) = sigma * d * 2^(d^2 c),  c = -log2(e) / (2 lam^2),
 * on the raw difference d = u_{j+C} - u_j, with sigma = tau/h^2 and
 * c = c / h^2 folded into the constants (PM below): the NumPy loop's
 * (tau/h) * Phi(d/h), rounded differently.
 *
 * 2^t for t <= 0: t = k + f with k = round(t) and |f| <= 1/2, and
 * sigma * 2^f is a polynomial of degree 11 (float: 6), evaluated as an even
 * and an odd part in f^2 (two short chains of fused multiply-adds).  Its
 * coefficients are those of the Chebyshev interpolant of 2^f on
 * [-1/2, 1/2], whose relative error is 4.2e-18 (float: 2.5e-9), times
 * sigma.  They were computed with mpmath at 40 digits:
 *
 *     mpmath.mp.dps = 40
 *     poly = mpmath.chebyfit(lambda x: mpmath.power(2, x), [-0.5, 0.5], 12)
 *     [float(c).hex() for c in reversed(poly)]       # 7 for float
 *
 * The factor 2^k is added to the polynomial's exponent bits, an integer
 * addition, exact while the result is a normal number: t is first clamped
 * to t >= lowest = -1021 - min(0, ilogb(sigma)) (float: -125 - ...), so
 * that sigma * 2^t stays at or above 2^-1022 (float 2^-126).  Below the
 * clamp g = 2^t is replaced by 2^lowest: sigma * g is off by less than
 * 2^-1020 * max(1, sigma) (float 2^-124 * max(1, sigma)), so the flux
 * d sigma g by |d| times that (4.5e-8 for d = 1e300: relative to d, not
 * absolute; flushing it to 0 cost 2-16 % of the loop's time).
 * For every t <= 0 the factor g lies in (0, 1], as 2^t does: it never
 * leaves the range the stability theorems need.  fma() is correctly rounded everywhere (an
 * instruction with AVX2/FMA or on ARM, libm's exact emulation otherwise),
 * so every build gives the same bits (tests/test_compiled.py checks the
 * exponential against libm's exp2 and the builds against each other).
 * ---------------------------------------------------------------------- */

static RD_INLINE inline uint64_t bits64(double x) { uint64_t b; memcpy(&b, &x, 8); return b; }
static RD_INLINE inline double from_bits64(uint64_t b) { double x; memcpy(&x, &b, 8); return x; }
static RD_INLINE inline uint32_t bits32(float x) { uint32_t b; memcpy(&b, &x, 4); return b; }
static RD_INLINE inline float from_bits32(uint32_t b) { float x; memcpy(&x, &b, 4); return x; }

static const double CHEB64[12] = {
    0x1.0000000000000p+0,  0x1.62e42fefa39efp-1,  0x1.ebfbdff82c5aep-3,  0x1.c6b08d704a0c6p-5,
    0x1.3b2ab6fb9f1a5p-7,  0x1.5d87fe78a3f9cp-10, 0x1.430913112c61bp-13, 0x1.ffcbfc6da6ed1p-17,
    0x1.62bfc2c86d700p-20, 0x1.b524ebd13a55fp-24, 0x1.e6228acd1c6e5p-28, 0x1.e9ec1fcb69a7fp-32,
};
static const float CHEB32[7] = {
    0x1.000000p+0f, 0x1.62e430p-1f, 0x1.ebfbe0p-3f, 0x1.c6aeccp-5f,
    0x1.3b2a1cp-7f, 0x1.5f48c0p-10f, 0x1.444000p-13f,
};

/* A run's constants: every family reads inv_h, scale, lam, c0 (lam^2 for
 * garrote); Perona-Malik reads c0 = c / h^2, lowest and q = sigma * CHEB.
 * scaled: lam^2 (garrote) or c / h^2 (Perona-Malik) is out of the range its
 * form needs (below), so the run takes the scaled form.  next, next_bytes:
 * memory the caller reads after this run (the next tile), which the AVX2
 * loop asks the cache for while it computes. */
typedef struct {
    double inv_h, scale, lam, c0, lowest, q[12];
    int scaled;
    const char *next;
    size_t next_bytes;
} Params64;
typedef struct {
    float inv_h, scale, lam, c0, lowest, q[7];
    int scaled;
    const char *next;
    size_t next_bytes;
} Params32;

/* t -> f with |f| <= 1/2 and the bits of 2^k for max(t, lowest) = k + f. */
static RD_INLINE inline uint64_t pm_reduce64(double t, double lowest, double *f)
{
    const double shift = 0x1.8p52; /* t + shift rounds t to k, held in the low bits */
    double tc = t < lowest ? lowest : t, kd = tc + shift;
    *f = tc - (kd - shift);
    return bits64(kd) << 52;
}

static RD_INLINE inline uint32_t pm_reduce32(float t, float lowest, float *f)
{
    const float shift = 0x1.8p23f;
    float tc = t < lowest ? lowest : t, kd = tc + shift;
    *f = tc - (kd - shift);
    return bits32(kd) << 23;
}

/* sigma * 2^f for |f| <= 1/2 */
static RD_INLINE inline double pm_poly64(double f, const double *q)
{
    double f2 = f * f, e = q[10], o = q[11];
    for (int i = 8; i >= 0; i -= 2)
        e = fma(e, f2, q[i]), o = fma(o, f2, q[i + 1]);
    return fma(o, f, e);
}

static RD_INLINE inline float pm_poly32(float f, const float *q)
{
    float f2 = f * f, e = fmaf(q[6], f2, q[4]), o = fmaf(q[5], f2, q[3]);
    e = fmaf(e, f2, q[2]), o = fmaf(o, f2, q[1]);
    return fmaf(o, f, fmaf(e, f2, q[0]));
}

static RD_INLINE inline double pm_scale64(double p, uint64_t e) { return from_bits64(bits64(p) + e); }
static RD_INLINE inline float pm_scale32(float p, uint32_t e) { return from_bits32(bits32(p) + e); }

/* The constants of a run, in double, rounded once to the working type as
 * NumPy rounds a Python float met by an array.  sigma must lie in
 * [2^-60, 2^60] (stepper._Stepper sends other runs to NumPy).
 *
 * Where a square would over- or underflow (resdenoise/_families.py):
 *   garrote's lam^2 / d needs lam^2 normal in T (the condition of
 *   _families.gar_scaled, on the same double lam * lam); else lam (lam / d);
 *   Perona-Malik's t = (d d) c0 needs c0 = c / h^2 normal and |c0| >= 2048 /
 *   max (then an overflowing d d means t < -2048, at the floor either way);
 *   else t = (x x) c0 with x = (d inv_h) / lam and c0 = -log2(e) / 2.
 * So no finite d gives inf/inf, 0/0 or a flux lost to an underflow. */
#define DEFINE_PARAMS(T, SUFFIX, P, CHEB, NQ, LOW, TINY, MAX)                               \
    static void params_##SUFFIX(P *p, int family, double lam, double scale, double inv_h)   \
    {                                                                                       \
        double sigma = scale * inv_h, c = -0x1.71547652b82fep0 / (2.0 * lam * lam);         \
        double sq = lam * lam, c0 = c * inv_h * inv_h;                                      \
        int a = ilogb(sigma);                                                               \
        p->inv_h = (T)inv_h, p->scale = (T)scale, p->lam = (T)lam;                          \
        p->scaled = family == GARROTE        ? !(sq >= TINY && sq <= MAX)                   \
                    : family == PERONA_MALIK ? !(fabs(c0) >= 2048.0 / MAX && fabs(c0) <= MAX) \
                                             : 0;                                           \
        if (family == PERONA_MALIK)                                                         \
            p->c0 = (T)(p->scaled ? -0x1.71547652b82fep0 / 2.0 : c0);                       \
        else                                                                                \
            p->c0 = (T)sq;                                                                  \
        p->lowest = (T)(LOW - (a < 0 ? a : 0));                                             \
        for (int i = 0; i < NQ; i++)                                                        \
            p->q[i] = (T)((double)CHEB[i] * sigma);                                         \
        p->next = NULL, p->next_bytes = 0;                                                  \
    }
DEFINE_PARAMS(double, f64, Params64, CHEB64, 12, -1021, 0x1p-1022, 0x1.fffffffffffffp+1023)
DEFINE_PARAMS(float, f32, Params32, CHEB32, 7, -125, 0x1p-126, 0x1.fffffep+127)

/* ------------------------------------------------------------------------
 * The step loop.  One block on n = (rows - 1) * C fluxes:
 *
 *     F_j = Phi((u_{j+C} - u_j) * inv_h) * scale
 *     u_j = (u_j + F_j) - F_{j-C}
 *
 * in that order of operations, as the NumPy engine does it (its
 * u[:-1] += F; u[1:] -= F gives the same two roundings; where one of the
 * two fluxes is the zero boundary flux, x - 0 = x exactly).  The work
 * buffer G holds C zeros, then the fluxes: G[C + j] = F_j, G[j] = F_{j-C}.
 *
 * The signal is walked in strips of STRIP values, which stay in the L1
 * cache: the strip's fluxes first, then its update.  Fluxes of a strip read
 * u up to C values past it, which the update has not reached yet.
 *
 * PHI(d) is Phi written with the operations, and in the order, of the
 * registry's flux kernels (resdenoise/_flux_kernels.py, xxx_phi_into).  Perona-Malik is
 * the flux above, on u_{j+C} - u_j, with 1/h and tau/h in its constants.
 * ---------------------------------------------------------------------- */

#define STRIP 256

#define DEFINE_STEPS(T, SUFFIX, P, U, ABS, SQRT, COPYSIGN)                                 \
    /* Charbonnier's flux; where (d/lam)^2 overflows, its limit +-lam (to the   */         \
    /* last bit: |d/lam| > 1e154 there), not d / inf = 0.                       */         \
    static RD_INLINE inline T charbonnier_##SUFFIX(T d, T lam)                             \
    {                                                                                      \
        T s = (d / lam) * (d / lam) + (T)1;                                                \
        return s == (T)INFINITY ? COPYSIGN(lam, d) : d / SQRT(s);                          \
    }                                                                                      \
                                                                                           \
    /* Softsign's flux; where |d|/lam overflows, its limit +-lam, not d / inf = 0. */   \
    static RD_INLINE inline T softsign_##SUFFIX(T d, T lam)                                \
    {                                                                                      \
        T s = ABS(d) / lam + (T)1;                                                         \
        return s == (T)INFINITY ? COPYSIGN(lam, d) : d / s;                                \
    }                                                                                      \
                                                                                           \
    static RD_INLINE inline void update_##SUFFIX(T *restrict w, const T *restrict g,       \
                                                 const T *restrict g_back, Py_ssize_t m)   \
    {                                                                                      \
        for (Py_ssize_t j = 0; j < m; j++)                                                 \
            w[j] = (w[j] + g[j]) - g_back[j];                                              \
    }                                                                                      \
                                                                                           \
    /* Perona-Malik's fluxes of one strip, in two passes. */                               \
    static RD_INLINE inline void pm_strip_##SUFFIX(const T *restrict v, const T *restrict w, \
                                                   T *restrict out, Py_ssize_t m,          \
                                                   const P *restrict p)                    \
    {                                                                                      \
        T dd[STRIP], fr[STRIP];                                                            \
        U ex[STRIP];                                                                       \
        const T c0 = p->c0, lowest = p->lowest, inv_h = p->inv_h, lam = p->lam;            \
        if (p->scaled) /* t = (x x) c0, x = d / h / lam (see DEFINE_PARAMS) */             \
            for (Py_ssize_t j = 0; j < m; j++) {                                           \
                T d = w[j] - v[j], x = (d * inv_h) / lam;                                  \
                dd[j] = d;                                                                 \
                ex[j] = pm_reduce_##SUFFIX((x * x) * c0, lowest, fr + j);                  \
            }                                                                              \
        else                                                                               \
            for (Py_ssize_t j = 0; j < m; j++) {                                           \
                T d = w[j] - v[j];                                                         \
                dd[j] = d;                                                                 \
                ex[j] = pm_reduce_##SUFFIX((d * d) * c0, lowest, fr + j);                  \
            }                                                                              \
        for (Py_ssize_t j = 0; j < m; j++)                                                 \
            out[j] = dd[j] * pm_scale_##SUFFIX(pm_poly_##SUFFIX(fr[j], p->q), ex[j]);      \
    }                                                                                      \
                                                                                           \
    /* Fluxes of one strip: v = u + j0, w = v + C (the right neighbours). */               \
    static RD_INLINE inline void strip_##SUFFIX(int family, const T *restrict v,           \
                                                const T *restrict w, T *restrict out,      \
                                                Py_ssize_t m, T inv_h, const P *p)         \
    {                                                                                      \
        const T scale = p->scale, lam = p->lam, c0 = p->c0;                                \
        switch (family) {                                                                  \
        case LINEAR:                                                                       \
            FLUX_LOOP(T, d);                                                               \
            break;                                                                         \
        case CHARBONNIER: /* d / sqrt((d/lam)^2 + 1); +-lam where the square overflows */  \
            FLUX_LOOP(T, charbonnier_##SUFFIX(d, lam));                                    \
            break;                                                                         \
        case SOFT: /* clip(d, -lam, lam) */                                                \
            FLUX_LOOP(T, d < -lam ? -lam : (d > lam ? lam : d));                           \
            break;                                                                         \
        case PERONA_MALIK:                                                                 \
            pm_strip_##SUFFIX(v, w, out, m, p);                                            \
            break;                                                                         \
        case GARROTE: /* |d| <= lam ? d : c0 / d, c0 = lam^2 (scaled: lam (lam / d)) */    \
            if (p->scaled) {                                                               \
                FLUX_LOOP(T, ABS(d) <= lam ? d : lam * (lam / d));                         \
            } else {                                                                       \
                FLUX_LOOP(T, ABS(d) <= lam ? d : c0 / d);                                  \
            }                                                                              \
            break;                                                                         \
        case HARD: /* |d| <= lam ? d : +0 */                                               \
            FLUX_LOOP(T, ABS(d) <= lam ? d : (T)0);                                        \
            break;                                                                         \
        case SOFTSIGN: /* d / (|d| / lam + 1); +-lam where |d| / lam overflows */          \
            FLUX_LOOP(T, softsign_##SUFFIX(d, lam));                                       \
            break;                                                                         \
        }                                                                                  \
    }                                                                                      \
                                                                                           \
    RD_CLONES static void strips_##SUFFIX(int family, T *u, T *g, Py_ssize_t rows,         \
                                          Py_ssize_t C, const P *p, long blocks)           \
    {                                                                                      \
        Py_ssize_t n = (rows - 1) * C;                                                     \
        for (Py_ssize_t j = 0; j < C; j++)                                                 \
            g[j] = (T)0;                                                                   \
        for (long b = 0; b < blocks; b++) {                                                \
            for (Py_ssize_t j0 = 0; j0 < n; j0 += STRIP) {                                 \
                Py_ssize_t m = n - j0 < STRIP ? n - j0 : STRIP;                            \
                if (p->inv_h == (T)1) /* the same numbers, without the multiplications */  \
                    strip_##SUFFIX(family, u + j0, u + j0 + C, g + C + j0, m, (T)1, p);    \
                else                                                                       \
                    strip_##SUFFIX(family, u + j0, u + j0 + C, g + C + j0, m, p->inv_h, p); \
                update_##SUFFIX(u + j0, g + C + j0, g + j0, m);                            \
            }                                                                              \
            for (Py_ssize_t j = n; j < n + C; j++) /* the last row: no flux to its right */ \
                u[j] = u[j] - g[j];                                                        \
        }                                                                                  \
    }

/* out[j] = PHI(d) * scale for j < m, with d = (w[j] - v[j]) * inv_h. */
#define FLUX_LOOP(T, PHI)                                                                  \
    for (Py_ssize_t j = 0; j < m; j++) {                                                   \
        T d = (w[j] - v[j]) * inv_h;                                                       \
        out[j] = (PHI) * scale;                                                            \
    }

#define pm_reduce_f64 pm_reduce64
#define pm_poly_f64 pm_poly64
#define pm_scale_f64 pm_scale64
#define pm_reduce_f32 pm_reduce32
#define pm_poly_f32 pm_poly32
#define pm_scale_f32 pm_scale32

/* Everything above is inlined into each clone of strips_xx, so it is
 * vectorised for each instruction set. */
DEFINE_STEPS(double, f64, Params64, uint64_t, fabs, sqrt, copysign)
DEFINE_STEPS(float, f32, Params32, uint32_t, fabsf, sqrtf, copysignf)

/* ------------------------------------------------------------------------
 * Perona-Malik with AVX2/FMA intrinsics, for up to 4 channels and exactly
 * 8 in double (two vectors a row), up to 8 in float, where it is most of
 * the work, in short loops over strips (one long chain of dependent
 * operations per value would fill the out-of-order window).  The fluxes
 * F_{j-C} of a vector's lanes are, for C smaller than a vector, this flux
 * vector and the one before it, rotated by C lanes and blended; for C one
 * vector (double 4, float 8) the flux vector one back, for double C = 8
 * the one two back; so no flux is stored and loaded again.  The
 * operations are those of the loops above, value for value, so the
 * numbers are theirs bit for bit (tests/test_compiled.py compares channel
 * counts that take either path; pm_loop tells which one a dtype and
 * channel count take).  The last n mod 4 (8) fluxes and the last row run
 * the same operations on scalars.
 * ---------------------------------------------------------------------- */

static int use_avx2; /* set at import: the CPU has AVX2 and FMA */

#if RD_HAVE_CLONES
#include <immintrin.h>
#define RD_AVX2 __attribute__((target("avx2,fma")))

static int have_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static RD_AVX2 RD_INLINE inline __m256d pm_vpoly_f64(__m256d f, const double *q)
{
    __m256d f2 = _mm256_mul_pd(f, f);
    __m256d e = _mm256_set1_pd(q[10]), o = _mm256_set1_pd(q[11]);
    for (int i = 8; i >= 0; i -= 2) {
        e = _mm256_fmadd_pd(e, f2, _mm256_set1_pd(q[i]));
        o = _mm256_fmadd_pd(o, f2, _mm256_set1_pd(q[i + 1]));
    }
    return _mm256_fmadd_pd(o, f, e);
}

static RD_AVX2 RD_INLINE inline __m256 pm_vpoly_f32(__m256 f, const float *q)
{
#define Q(i) _mm256_set1_ps(q[i])
    __m256 f2 = _mm256_mul_ps(f, f);
    __m256 e = _mm256_fmadd_ps(Q(6), f2, Q(4)), o = _mm256_fmadd_ps(Q(5), f2, Q(3));
    e = _mm256_fmadd_ps(e, f2, Q(2)), o = _mm256_fmadd_ps(o, f2, Q(1));
    return _mm256_fmadd_ps(o, f, _mm256_fmadd_ps(e, f2, Q(0)));
#undef Q
}

/* One vector of the reduction at x + j: d, f and the bits of 2^k into
 * dd, fr and ex (t < lowest ? lowest : t is max(lowest, t), NaN included). */
#define PM_REDUCE(V, X, I, BITS, x, j, dd, fr, ex)                                             \
    do {                                                                                       \
        V d = _mm256_sub_##X(_mm256_loadu_##X(x + j + C), _mm256_loadu_##X(x + j));           \
        V t = _mm256_max_##X(low, _mm256_mul_##X(_mm256_mul_##X(d, d), vc0));                 \
        V kd = _mm256_add_##X(t, sh);                                                          \
        _mm256_store_##X(dd + j, d);                                                           \
        _mm256_store_##X(fr + j, _mm256_sub_##X(t, _mm256_sub_##X(kd, sh)));                   \
        _mm256_store_si256((__m256i *)(ex + j),                                                \
                           _mm256_slli_epi##I(_mm256_cast##X##_si256(kd), BITS));              \
    } while (0)

/* The polynomial of one vector, in place of f. */
#define PM_POLY(X, SUFFIX, fr, j)                                                              \
    _mm256_store_##X(fr + j, pm_vpoly_##SUFFIX(_mm256_load_##X(fr + j), p->q))

/* Per block, per strip s: the polynomial of strip s together with the
 * reduction of strip s+1 (two independent streams of work: one keeps the
 * multiply-add units busy, the other the load and store units), then the
 * fluxes and the update of strip s.  The scratch of strips s and s+1
 * alternates between two sets. */
#define DEFINE_PM_AVX2(T, SUFFIX, V, X, I, U, P, LANES, SHIFT, BITS, ROTATE)                   \
    static RD_AVX2 RD_INLINE inline void pm_avx2_c_##SUFFIX(T *u, Py_ssize_t rows,             \
                                                            const int C, const P *p,           \
                                                            long blocks)                       \
    {                                                                                          \
        enum { L = LANES };                                                                    \
        const Py_ssize_t n = (rows - 1) * C, nv = n - n % L;                                   \
        T dd[2][STRIP] __attribute__((aligned(32))), fr[2][STRIP] __attribute__((aligned(32))); \
        U ex[2][STRIP] __attribute__((aligned(32)));                                           \
        P local = *p; /* not aliased by u: the compiler may keep it in registers */            \
        p = &local;                                                                            \
        const V vc0 = _mm256_set1_##X(p->c0), low = _mm256_set1_##X(p->lowest),                \
                sh = _mm256_set1_##X(SHIFT);                                                   \
        for (long b = 0; b < blocks; b++) {                                                    \
            /* zero fluxes left of u; rlast2: the r before rlast (C = 2 L only) */             \
            V last = _mm256_setzero_##X(), rlast = last, rlast2 = last;                        \
            for (Py_ssize_t j = 0; j < (nv < STRIP ? nv : STRIP); j += L)                      \
                PM_REDUCE(V, X, I, BITS, u, j, dd[0], fr[0], ex[0]);                           \
            for (Py_ssize_t j0 = 0, s = 0; j0 < nv; j0 += STRIP, s ^= 1) {                     \
                const Py_ssize_t m = nv - j0 < STRIP ? nv - j0 : STRIP;                        \
                const Py_ssize_t mn = nv - j0 - STRIP < STRIP ? nv - j0 - STRIP : STRIP;       \
                T *x = u + j0, *xn = x + STRIP, *ds = dd[s], *fs = fr[s];                      \
                const U *es = ex[s];                                                           \
                if (b == 0 && p->next_bytes) /* the next tile, a share per strip */            \
                    for (size_t o = (size_t)j0 * p->next_bytes / (size_t)nv & ~(size_t)63,     \
                                e = (size_t)(j0 + m) * p->next_bytes / (size_t)nv;             \
                         o < e; o += 64)                                                       \
                        _mm_prefetch(p->next + o, _MM_HINT_T1);                                \
                Py_ssize_t j = 0;                                                              \
                for (; j < mn; j += L) {                                                       \
                    PM_POLY(X, SUFFIX, fs, j);                                                 \
                    PM_REDUCE(V, X, I, BITS, xn, j, dd[s ^ 1], fr[s ^ 1], ex[s ^ 1]);          \
                }                                                                              \
                for (; j < m; j += L)                                                          \
                    PM_POLY(X, SUFFIX, fs, j);                                                 \
                for (j = 0; j < m; j += L) {                                                   \
                    V g = _mm256_castsi256_##X(                                                \
                        _mm256_add_epi##I(_mm256_cast##X##_si256(_mm256_load_##X(fs + j)),     \
                                          _mm256_load_si256((const __m256i *)(es + j))));      \
                    V F = _mm256_mul_##X(_mm256_load_##X(ds + j), g), r, back;                 \
                    ROTATE(F, rlast, rlast2, r, back);                                         \
                    V v = _mm256_loadu_##X(x + j);                                             \
                    _mm256_storeu_##X(x + j, _mm256_sub_##X(_mm256_add_##X(v, F), back));      \
                    last = F, rlast2 = rlast, rlast = r;                                       \
                }                                                                              \
            }                                                                                  \
            /* fl[B + i] = F_{nv + i}, fl[B - 1 - i] = F_{nv - 1 - i}: the last C fluxes */    \
            const Py_ssize_t B = C > L ? 2 * L : L;                                            \
            T fl[3 * L];                                                                       \
            if (C > L) /* C = 2 L: the vector before the last too (r is F there) */            \
                _mm256_storeu_##X(fl, rlast2);                                                 \
            _mm256_storeu_##X(fl + B - L, last);                                               \
            Py_ssize_t j = nv;                                                                 \
            for (; j < n; j++) {                                                               \
                T d = u[j + C] - u[j], f;                                                      \
                U e = pm_reduce_##SUFFIX((d * d) * p->c0, p->lowest, &f);                      \
                T F = d * pm_scale_##SUFFIX(pm_poly_##SUFFIX(f, p->q), e);                     \
                fl[B + j - nv] = F;                                                            \
                u[j] = (u[j] + F) - fl[B + j - nv - C];                                        \
            }                                                                                  \
            for (; j < n + C; j++) /* the last row: no flux to its right */                    \
                u[j] = u[j] - fl[B + j - nv - C];                                              \
        }                                                                                      \
    }

/* r lane i = F lane (i - C) mod 4; back takes lanes i < C from the vector before, rlast
 * (C = 8: back is the vector two before, rlast2). */
#define ROTATE_F64(F, rlast, rlast2, r, back)                                                  \
    do {                                                                                       \
        if (C == 8)                                                                            \
            r = F, back = rlast2;                                                              \
        else if (C == 4)                                                                       \
            r = F, back = rlast;                                                               \
        else {                                                                                 \
            r = _mm256_permute4x64_pd(F, C == 1 ? 0x93 : C == 2 ? 0x4E : 0x39);                \
            back = _mm256_blend_pd(r, rlast, C == 1 ? 1 : C == 2 ? 3 : 7);                     \
        }                                                                                      \
    } while (0)

#define ROTATE_F32(F, rlast, rlast2, r, back)                                                  \
    do {                                                                                       \
        r = _mm256_permutevar8x32_ps(                                                          \
            F, _mm256_setr_epi32((8 - C) % 8, (9 - C) % 8, (10 - C) % 8, (11 - C) % 8,         \
                                 (12 - C) % 8, (13 - C) % 8, (14 - C) % 8, (15 - C) % 8));     \
        back = _mm256_blend_ps(r, rlast, (1 << C) - 1);                                        \
    } while (0)

DEFINE_PM_AVX2(double, f64, __m256d, pd, 64, uint64_t, Params64, 4, 0x1.8p52, 52, ROTATE_F64)
DEFINE_PM_AVX2(float, f32, __m256, ps, 32, uint32_t, Params32, 8, 0x1.8p23f, 23, ROTATE_F32)

static RD_AVX2 void pm_avx2_f64(double *u, Py_ssize_t rows, Py_ssize_t C, const Params64 *p,
                                long blocks)
{
    switch (C) { /* one copy per channel count: the rotations take constants */
    case 1: pm_avx2_c_f64(u, rows, 1, p, blocks); break;
    case 2: pm_avx2_c_f64(u, rows, 2, p, blocks); break;
    case 3: pm_avx2_c_f64(u, rows, 3, p, blocks); break;
    case 4: pm_avx2_c_f64(u, rows, 4, p, blocks); break;
    default: pm_avx2_c_f64(u, rows, 8, p, blocks); break;
    }
}

static RD_AVX2 void pm_avx2_f32(float *u, Py_ssize_t rows, Py_ssize_t C, const Params32 *p,
                                long blocks)
{
    switch (C) {
    case 1: pm_avx2_c_f32(u, rows, 1, p, blocks); break;
    case 2: pm_avx2_c_f32(u, rows, 2, p, blocks); break;
    case 3: pm_avx2_c_f32(u, rows, 3, p, blocks); break;
    case 4: pm_avx2_c_f32(u, rows, 4, p, blocks); break;
    case 5: pm_avx2_c_f32(u, rows, 5, p, blocks); break;
    case 6: pm_avx2_c_f32(u, rows, 6, p, blocks); break;
    case 7: pm_avx2_c_f32(u, rows, 7, p, blocks); break;
    default: pm_avx2_c_f32(u, rows, 8, p, blocks); break;
    }
}
/* float64: up to 4 channels, and 8 (two vectors a row: a windowed search's 4 windows and
 * their probes, which ran 25 % slower per value in the portable strips) */
#define PM_CHANNELS_f64(C) ((C) <= 4 || (C) == 8)
#define PM_CHANNELS_f32(C) ((C) <= 8)
#define PM_AVX2_TAKES(SUFFIX, C) (use_avx2 && PM_CHANNELS_##SUFFIX(C))
#define RUN_AVX2(SUFFIX)                                                                       \
    if (family == PERONA_MALIK && PM_AVX2_TAKES(SUFFIX, C) && !p->scaled) {                    \
        pm_avx2_##SUFFIX(u, rows, C, p, blocks);                                               \
        return;                                                                                \
    }
#else
static int have_avx2(void) { return 0; }
#define PM_AVX2_TAKES(SUFFIX, C) 0
#define RUN_AVX2(SUFFIX)
#endif

/* The blocks: by the AVX2 loop where it applies, else by strips. */
#define DEFINE_RUN(T, SUFFIX, P)                                                               \
    static void run_##SUFFIX(int family, T *u, T *g, Py_ssize_t rows, Py_ssize_t C,            \
                             const P *p, long blocks)                                          \
    {                                                                                          \
        RUN_AVX2(SUFFIX)                                                                       \
        strips_##SUFFIX(family, u, g, rows, C, p, blocks);                                     \
    }
DEFINE_RUN(double, f64, Params64)
DEFINE_RUN(float, f32, Params32)

/* ------------------------------------------------------------------------
 * Python interface
 * ---------------------------------------------------------------------- */

/* 0, or -1 with ValueError where a run's constants are out of the kernels' range. */
static int check_params(int family, double scale, double inv_h)
{
    double sigma = scale * inv_h;
    if (family < 0 || family >= N_FAMILIES) {
        PyErr_Format(PyExc_ValueError, "unknown family code %d", family);
        return -1;
    }
    if (family == PERONA_MALIK && !(sigma >= 0x1p-60 && sigma <= 0x1p60)) {
        PyErr_SetString(PyExc_ValueError, "perona-malik needs scale * inv_h in [2^-60, 2^60]");
        return -1;
    }
    return 0;
}

static int get_buffer(PyObject *obj, Py_buffer *view, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (strcmp(view->format, "d") != 0 && strcmp(view->format, "f") != 0) {
        PyErr_Format(PyExc_TypeError, "%s must hold float64 or float32, got format %s", what,
                     view->format);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* A buffer of int64 values (format "q", or "l" where a long has 8 bytes) */
static int is_int64(const Py_buffer *b)
{
    return b->itemsize == 8 && (strcmp(b->format, "q") == 0 || strcmp(b->format, "l") == 0);
}

/* Two writable float buffers of one dtype, or -1 with an exception set and nothing held. */
static int get_pair(PyObject *a, Py_buffer *va, const char *what_a, PyObject *b, Py_buffer *vb,
                    const char *what_b)
{
    if (get_buffer(a, va, what_a) < 0)
        return -1;
    if (get_buffer(b, vb, what_b) < 0) {
        PyBuffer_Release(va);
        return -1;
    }
    if (strcmp(va->format, vb->format) != 0) {
        PyErr_Format(PyExc_ValueError, "%s and %s must have the same dtype", what_a, what_b);
        PyBuffer_Release(vb);
        PyBuffer_Release(va);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(run_doc,
"run(u, work, channels, family, lam, scale, inv_h, blocks)\n"
"\n"
"Apply `blocks` diffusion blocks in place to the C-contiguous float64 or\n"
"float32 buffer u of rows x channels values; `work` (same type) holds at\n"
"least rows * channels values of scratch.  family indexes FAMILIES;\n"
"lam is its contrast parameter, scale = tau/h, inv_h = 1/h (1.0 for h = 1:\n"
"multiplying by one is exact).  Releases the GIL.");

static PyObject *py_run(PyObject *self, PyObject *args)
{
    PyObject *uo, *wo;
    Py_ssize_t C;
    int family;
    double lam, scale, inv_h;
    long blocks;
    Py_buffer u, w;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOnidddl", &uo, &wo, &C, &family, &lam, &scale, &inv_h,
                          &blocks))
        return NULL;
    if (check_params(family, scale, inv_h) < 0)
        return NULL;
    if (C < 1 || blocks < 0) {
        PyErr_SetString(PyExc_ValueError, "channels must be >= 1 and blocks >= 0");
        return NULL;
    }
    if (get_pair(uo, &u, "u", wo, &w, "work") < 0)
        return NULL;
    Py_ssize_t size = u.len / u.itemsize, rows = size / C;
    const char *problem = NULL;
    if (rows * C != size || rows < 2)
        problem = "u must hold rows x channels values with rows >= 2";
    else if (w.len / w.itemsize < size)
        problem = "work must hold at least rows * channels values";
    if (problem != NULL) {
        PyErr_SetString(PyExc_ValueError, problem);
        PyBuffer_Release(&w);
        PyBuffer_Release(&u);
        return NULL;
    }
    if (u.itemsize == 8) {
        Params64 p;
        params_f64(&p, family, lam, scale, inv_h);
        Py_BEGIN_ALLOW_THREADS
        run_f64(family, (double *)u.buf, (double *)w.buf, rows, C, &p, blocks);
        Py_END_ALLOW_THREADS
    } else {
        Params32 p;
        params_f32(&p, family, lam, scale, inv_h);
        Py_BEGIN_ALLOW_THREADS
        run_f32(family, (float *)u.buf, (float *)w.buf, rows, C, &p, blocks);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&w);
    PyBuffer_Release(&u);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------
 * Tiled sweeps (see stepper._run_tiled), in threads.  A sweep of k blocks:
 * the 2k rows around every inner tile boundary are saved (strips); then
 * each tile runs, halo and core copied into a buffer, k blocks, the core
 * copied back into u.  Plain copies, so the numbers are those of the
 * untiled run, whichever thread runs which tile.
 *
 * The tiles of all sweeps are tasks, numbered sweep by sweep.  A thread
 * takes the next task, waits until its sweep is open, runs it; the thread
 * that finishes a sweep's last tile saves the strips of the next sweep and
 * opens it.  So a thread that starts late, or is held up, holds up no one
 * until the end of a sweep, and the others run its tiles meanwhile.  The
 * threads run without the GIL.
 *
 * A short signal has one tile per thread: then a slower core (on a shared
 * machine one core often runs 20-30% slower than the other for seconds)
 * would keep the other waiting at the end of every sweep.  There, when the
 * buffers can hold any tile, each thread keeps its own tile, and the thread
 * that opens a sweep moves the tile boundaries so that each tile's rows
 * follow its thread's speed in the sweeps before.
 * ---------------------------------------------------------------------- */

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>
#define RD_THREADS 1
typedef atomic_long counter;
#define LOAD(x) atomic_load_explicit(&(x), memory_order_acquire)
#define STORE(x, v) atomic_store_explicit(&(x), v, memory_order_release)
#define ADD(x, v) atomic_fetch_add_explicit(&(x), v, memory_order_acq_rel)
#define COUNTER_INIT(x, v) atomic_init(&(x), v)

/* Wait for cond, spinning a little (the others are usually microseconds
 * away), then yielding the CPU to whoever needs it. */
#define WAIT_UNTIL(cond)                                                                           \
    for (long spins_ = 0; !(cond); spins_++) {                                                     \
        if (spins_ < 4000)                                                                         \
            CPU_RELAX();                                                                           \
        else                                                                                       \
            sched_yield();                                                                         \
    }
#if defined(__x86_64__) || defined(__i386__)
#define CPU_RELAX() __builtin_ia32_pause()
#else
#define CPU_RELAX() ((void)0)
#endif
#else
#define RD_THREADS 0
typedef long counter;
#define LOAD(x) (x)
#define STORE(x, v) ((x) = (v))
#define ADD(x, v) (((x) += (v)) - (v))
#define COUNTER_INIT(x, v) ((x) = (v))
#define WAIT_UNTIL(cond) ((void)0)
#endif

typedef struct {
    Py_buffer u, strips, bufs, works, bounds, src;
    int have; /* how many of the buffers above are held */
} Views;

static void release(Views *v)
{
    Py_buffer *all[6] = {&v->u, &v->strips, &v->bufs, &v->works, &v->bounds, &v->src};
    for (int i = v->have - 1; i >= 0; i--)
        PyBuffer_Release(all[i]);
    v->have = 0;
}

/* Get u, strips, bufs, works (float, one dtype), bounds (int64; adaptive
 * runs write their last boundaries back) and src (read only, u's dtype);
 * check that the tiles of `bounds` over the rows of u, channels C, sweeps
 * of up to `sweep` blocks and `threads` fit the buffers (bufs and works:
 * one equal part per thread).  Returns 0, or -1 with an exception set and
 * nothing held. */
static int sweep_views(Views *v, PyObject *const objs[6], Py_ssize_t C, long sweep,
                       Py_ssize_t threads)
{
    Py_buffer *all[6] = {&v->u, &v->strips, &v->bufs, &v->works, &v->bounds, &v->src};
    const char *names[6] = {"u", "strips", "bufs", "works", "bounds", "src"};
    v->have = 0;
    for (int i = 0; i < 6; i++) {
        int ok = i < 4 ? get_buffer(objs[i], all[i], names[i])
                       : PyObject_GetBuffer(objs[i], all[i],
                                            (i == 4 ? PyBUF_WRITABLE : 0) | PyBUF_FORMAT |
                                                PyBUF_C_CONTIGUOUS);
        if (ok < 0) {
            release(v);
            return -1;
        }
        v->have++;
    }
    const char *problem = NULL;
    Py_ssize_t item = v->u.itemsize, n = C > 0 ? v->u.len / item / C : 0;
    Py_ssize_t nb = v->bounds.len / 8;
    if (!is_int64(&v->bounds))
        problem = "bounds must be int64";
    else if (strcmp(v->u.format, v->strips.format) || strcmp(v->u.format, v->bufs.format) ||
             strcmp(v->u.format, v->works.format) || strcmp(v->u.format, v->src.format))
        problem = "u, strips, bufs, works and src must have the same dtype";
    else if (v->src.len != v->u.len)
        problem = "src and u must have the same size";
    else if (C < 1 || n * C * item != v->u.len || sweep < 1)
        problem = "need channels >= 1, u of rows x channels, sweep >= 1";
    else if (nb < 2 || threads < 1 || threads > 256)
        problem = "need at least one tile and 1 to 256 threads";
    else if ((nb - 2) * 2 * sweep * C * item > v->strips.len)
        problem = "strips too small";
    if (problem == NULL) {
        const int64_t *bd = v->bounds.buf;
        Py_ssize_t part_buf = v->bufs.len / threads, part_work = v->works.len / threads;
        if (bd[0] != 0 || bd[nb - 1] != n)
            problem = "bounds must run from 0 to the rows of u";
        for (Py_ssize_t t = 0; problem == NULL && t < nb - 1; t++) {
            Py_ssize_t len = bd[t + 1] - bd[t];
            if (len < sweep)
                problem = "tiles must be at least sweep rows";
            else if ((len + 2 * sweep) * C * item > part_buf ||
                     (len + 2 * sweep) * C * item > part_work)
                problem = "bufs and works must hold, per thread, the longest tile and its halos";
        }
    }
    if (problem != NULL) {
        PyErr_SetString(PyExc_ValueError, problem);
        release(v);
        return -1;
    }
    return 0;
}

typedef struct {
    const void *src; /* the first sweep's input; later sweeps read u */
    void *u, *strips, *bufs, *works;
    Py_ssize_t buf_part, work_part; /* values of bufs and works per thread */
    const int64_t *bd;
    Py_ssize_t nb, C;
    long blocks, sweep, sweeps;
    int family, threads, dsize;
    const void *params;
    counter next, done, open; /* next task, tasks done, sweeps opened */
    int fresh;                /* u was just allocated: fault its pages in first */
    int adaptive;             /* thread i runs tile i; own[] follows their speeds */
    int64_t own[257];         /* the tile boundaries of an adaptive run */
    double speed[256];        /* rows per second of each thread's last tile, smoothed */
} Sweeps;

/* Blocks in sweep sw (the last may be short). */
static long sweep_blocks(const Sweeps *s, long sw)
{
    long left = s->blocks - sw * s->sweep;
    return left < s->sweep ? left : s->sweep;
}

#if RD_THREADS
static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Thread `id` ran its tile of `rows` rows in `seconds`. */
static void note_speed(Sweeps *s, int id, Py_ssize_t rows, double seconds)
{
    double v = (double)rows / (seconds > 1e-9 ? seconds : 1e-9);
    s->speed[id] = s->speed[id] > 0.0 ? 0.5 * (s->speed[id] + v) : v;
}

/* New boundaries: tile i's share of the rows is thread i's share of the
 * speed; every tile keeps at least `sweep` rows (its neighbours' halos). */
static void rebalance(Sweeps *s)
{
    const int m = s->threads;
    const Py_ssize_t n = s->own[m];
    double total = 0.0, before = 0.0;
    for (int i = 0; i < m; i++)
        total += s->speed[i];
    if (!(total > 0.0))
        return;
    for (int i = 1; i < m; i++) {
        before += s->speed[i - 1];
        Py_ssize_t b = (Py_ssize_t)((double)n * (before / total) + 0.5);
        Py_ssize_t lo = s->own[i - 1] + s->sweep, hi = n - (Py_ssize_t)(m - i) * s->sweep;
        s->own[i] = b < lo ? lo : (b > hi ? hi : b);
    }
}
#endif

/* Fault in thread id's share of a fresh u (without writing to it: other
 * threads may already write their tiles there), so that the threads take
 * their page faults, and zero the pages, side by side in separate 2 MiB
 * regions instead of queueing for the same huge page.  A single thread
 * faults in all of u before its first tile: the kernel's zeroing of a 2 MiB
 * page in the middle of the tiles would push the tile being computed out
 * of the L2 cache (median of 1e7 x 10 on one thread: +2-5%).  Linux >= 5.14;
 * elsewhere, or when it fails, the pages fault in as the tiles write. */
static void populate_share(void *u, size_t bytes, int id, int threads)
{
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    const uintptr_t huge = (uintptr_t)2 << 20, page = 4096, a = (uintptr_t)u, e = a + bytes;
    uintptr_t lo = (a + bytes / threads * id) & ~(huge - 1);
    uintptr_t hi = id == threads - 1 ? e : (a + bytes / threads * (id + 1)) & ~(huge - 1);
    lo = lo < a ? (a + page - 1) & ~(page - 1) : lo;
    hi &= ~(page - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
    (void)u, (void)bytes, (void)id, (void)threads;
#endif
}

#define DEFINE_TILES(T, SUFFIX, P)                                                                \
    /* strips[t, sweep-k : sweep+k] = src[bd[t+1]-k : bd[t+1]+k] for every inner boundary t */  \
    static void save_strips_##SUFFIX(const T *src, T *strips, const int64_t *bd, Py_ssize_t nb, \
                                     Py_ssize_t C, long k, long sweep)                         \
    {                                                                                          \
        for (Py_ssize_t t = 0; t < nb - 2; t++)                                                \
            memcpy(strips + (t * 2 * sweep + sweep - k) * C, src + (bd[t + 1] - k) * C,        \
                   (size_t)(2 * k * C) * sizeof(T));                                           \
    }                                                                                          \
                                                                                               \
    /* Tile t of a sweep of k blocks; this thread's next tile is likely t + ahead. */          \
    static void tile_##SUFFIX(const T *src, T *u, const T *strips, T *buf, T *work,            \
                              const int64_t *bd, Py_ssize_t nb, Py_ssize_t t, Py_ssize_t ahead, \
                              Py_ssize_t C, long k, long sweep, int family, const P *p)        \
    {                                                                                          \
        Py_ssize_t n = bd[nb - 1], a = bd[t], b = bd[t + 1];                                   \
        Py_ssize_t left = a > 0 ? k : 0, right = b < n ? k : 0, core = b - a;                 \
        if (left)                                                                              \
            memcpy(buf, strips + ((t - 1) * 2 * sweep + sweep - k) * C,                        \
                   (size_t)(left * C) * sizeof(T));                                            \
        memcpy(buf + left * C, src + a * C, (size_t)(core * C) * sizeof(T));                   \
        if (right)                                                                             \
            memcpy(buf + (left + core) * C, strips + (t * 2 * sweep + sweep) * C,              \
                   (size_t)(right * C) * sizeof(T));                                           \
        P q = *p;                                                                              \
        if (t + ahead + 1 < nb) /* to prefetch */                                              \
            q.next = (const char *)(src + bd[t + ahead] * C),                                  \
            q.next_bytes = (size_t)((bd[t + ahead + 1] - bd[t + ahead]) * C) * sizeof(T);      \
        if (left + core + right >= 2)                                                          \
            run_##SUFFIX(family, buf, work, left + core + right, C, &q, k);                    \
        memcpy(u + a * C, buf + left * C, (size_t)(core * C) * sizeof(T));                     \
    }                                                                                          \
                                                                                               \
    /* Save the strips of sweep sw (read from src for the first, from u after) and open it. */ \
    static void open_sweep_##SUFFIX(Sweeps *s, long sw)                                        \
    {                                                                                          \
        const T *from = sw == 0 ? (const T *)s->src : (const T *)s->u;                         \
        save_strips_##SUFFIX(from, s->strips, s->bd, s->nb, s->C, sweep_blocks(s, sw), s->sweep); \
        STORE(s->open, sw + 1);                                                                \
    }                                                                                          \
                                                                                               \
    ADAPTIVE_SWEEPS(T, SUFFIX)                                                                 \
                                                                                               \
    /* Thread `id` takes tasks until none is left. */                                          \
    static void sweeps_##SUFFIX(Sweeps *s, int id)                                             \
    {                                                                                          \
        const Py_ssize_t tiles = s->nb - 1;                                                    \
        T *buf = (T *)s->bufs + id * s->buf_part, *work = (T *)s->works + id * s->work_part;   \
        if (s->fresh)                                                                          \
            populate_share(s->u, (size_t)((s->nb > 1 ? s->bd[s->nb - 1] : 0) * s->C) * sizeof(T), \
                           id, s->threads);                                                    \
        WAIT_UNTIL(LOAD(s->open) > 0);                                                         \
        if (s->adaptive) {                                                                     \
            adaptive_##SUFFIX(s, id, buf, work);                                               \
            return;                                                                            \
        }                                                                                      \
        for (;;) {                                                                             \
            long task = ADD(s->next, 1), sweep_no = task / tiles;                              \
            if (sweep_no >= s->sweeps)                                                         \
                return;                                                                        \
            WAIT_UNTIL(LOAD(s->open) > sweep_no);                                              \
            const T *src = sweep_no == 0 ? (const T *)s->src : (const T *)s->u;                \
            tile_##SUFFIX(src, s->u, s->strips, buf, work, s->bd, s->nb, task % tiles,         \
                          s->threads, s->C, sweep_blocks(s, sweep_no), s->sweep, s->family,    \
                          s->params);                                                          \
            if (ADD(s->done, 1) + 1 == (sweep_no + 1) * tiles && sweep_no + 1 < s->sweeps)     \
                open_sweep_##SUFFIX(s, sweep_no + 1);                                          \
        }                                                                                      \
    }

#if RD_THREADS
/* Thread `id` runs tile `id` of every sweep (adaptive runs, which have
 * every thread running); the last to finish a sweep moves the boundaries,
 * saves the next sweep's strips and opens it. */
#define ADAPTIVE_SWEEPS(T, SUFFIX)                                                             \
    static void adaptive_##SUFFIX(Sweeps *s, int id, T *buf, T *work)                          \
    {                                                                                          \
        for (long sw = 0; sw < s->sweeps; sw++) {                                              \
            WAIT_UNTIL(LOAD(s->open) > sw);                                                    \
            const T *src = sw == 0 ? (const T *)s->src : (const T *)s->u;                      \
            double t0 = seconds_now();                                                         \
            tile_##SUFFIX(src, s->u, s->strips, buf, work, s->bd, s->nb, id, s->nb, s->C,      \
                          sweep_blocks(s, sw), s->sweep, s->family, s->params);                \
            note_speed(s, id, s->own[id + 1] - s->own[id], seconds_now() - t0);                \
            if (ADD(s->done, 1) + 1 == (sw + 1) * s->threads) {                                \
                rebalance(s); /* (after the last sweep too: the next call starts there) */     \
                if (sw + 1 < s->sweeps)                                                        \
                    open_sweep_##SUFFIX(s, sw + 1);                                            \
            }                                                                                  \
        }                                                                                      \
    }
#else
#define ADAPTIVE_SWEEPS(T, SUFFIX)                                                             \
    static void adaptive_##SUFFIX(Sweeps *s, int id, T *buf, T *work)                          \
    {                                                                                          \
        (void)s, (void)id, (void)buf, (void)work;                                              \
    }
#endif

DEFINE_TILES(double, f64, Params64)
DEFINE_TILES(float, f32, Params32)

static void sweeps_any(Sweeps *s, int id)
{
    if (s->dsize == 8)
        sweeps_f64(s, id);
    else
        sweeps_f32(s, id);
}

#if RD_THREADS
typedef struct {
    Sweeps *s;
    int id;
} Worker;

static void *sweeps_entry(void *arg)
{
    sweeps_any(((Worker *)arg)->s, ((Worker *)arg)->id);
    return NULL;
}

/* The worker threads' attributes.  On Linux they may run on every CPU the
 * caller may use but the caller's own: a new thread placed behind the
 * caller on its CPU waits there for the load balancer (measured: a
 * 2-thread run right after an idle moment took twice as long). */
static void worker_attributes(pthread_attr_t *attr)
{
#if defined(__linux__)
    cpu_set_t set;
    int here = sched_getcpu();
    if (here >= 0 && sched_getaffinity(0, sizeof set, &set) == 0 && CPU_ISSET(here, &set) &&
        CPU_COUNT(&set) > 1) {
        CPU_CLR(here, &set);
        pthread_attr_setaffinity_np(attr, sizeof set, &set);
    }
#else
    (void)attr;
#endif
}
#endif

/* Save the first sweep's strips and open it (the threads wait for that). */
static void open_first(Sweeps *s)
{
    if (s->dsize == 8)
        open_sweep_f64(s, 0);
    else
        open_sweep_f32(s, 0);
}

/* All sweeps: the caller is thread 0; where a thread cannot be started,
 * the others take its tasks. */
static void run_sweeps(Sweeps *s)
{
    s->sweeps = (s->blocks + s->sweep - 1) / s->sweep;
    COUNTER_INIT(s->next, 0);
    COUNTER_INIT(s->done, 0);
    COUNTER_INIT(s->open, 0);
    if (s->adaptive) {
        memcpy(s->own, s->bd, (size_t)s->nb * sizeof(int64_t));
        for (int i = 0; i < s->threads; i++)
            s->speed[i] = 0.0;
        s->bd = s->own;
    }
    if (s->sweeps == 0)
        return;
#if RD_THREADS
    pthread_t ids[256];
    Worker workers[256];
    pthread_attr_t attr;
    int started = 0, have_attr = pthread_attr_init(&attr) == 0;
    if (have_attr)
        worker_attributes(&attr);
    for (int i = 1; i < s->threads && i < 256; i++) {
        workers[started].s = s, workers[started].id = i;
        if (pthread_create(&ids[started], have_attr ? &attr : NULL, sweeps_entry,
                           &workers[started]) != 0)
            break;
        started++;
    }
    if (have_attr)
        pthread_attr_destroy(&attr);
    if (started < s->threads - 1)
        s->adaptive = 0; /* (the tasks of a thread that did not start are shared) */
    open_first(s);
    sweeps_any(s, 0);
    for (int i = 0; i < started; i++)
        pthread_join(ids[i], NULL);
#else
    s->adaptive = 0;
    open_first(s);
    sweeps_any(s, 0);
#endif
}

PyDoc_STRVAR(run_sweeps_doc,
"run_sweeps(src, u, strips, bufs, works, bounds, threads, channels, family,\n"
"           lam, scale, inv_h, blocks, sweep, fresh=False)\n"
"\n"
"`blocks` blocks on the tiles of src (tile t is rows bounds[t]:bounds[t+1])\n"
"into u, in sweeps of up to `sweep` blocks, each tile with halos of as many\n"
"rows saved in strips ((tiles-1) x 2 sweep x channels), in `threads`\n"
"threads, thread i in part i of bufs and works (each part holds the\n"
"longest tile and two halos).  src may be u.  fresh: u was just allocated\n"
"(its pages are faulted in by the threads side by side).  With one tile\n"
"per thread and parts that hold any tile (rows - (tiles - 1) sweep + 2 sweep\n"
"rows), the tile boundaries follow the threads' speeds, and bounds is left\n"
"holding the last ones.  Releases the GIL.");

static PyObject *py_run_sweeps(PyObject *self, PyObject *args)
{
    PyObject *objs[6];
    Py_ssize_t C, threads;
    long blocks, sweep;
    int family;
    double lam, scale, inv_h;
    Views v;
    (void)self;
    int fresh = 0;
    if (!PyArg_ParseTuple(args, "OOOOOOnnidddll|p", &objs[5], &objs[0], &objs[1], &objs[2],
                          &objs[3], &objs[4], &threads, &C, &family, &lam, &scale, &inv_h,
                          &blocks, &sweep, &fresh))
        return NULL;
    if (check_params(family, scale, inv_h) < 0)
        return NULL;
    if (blocks < 0) {
        PyErr_SetString(PyExc_ValueError, "blocks must be >= 0");
        return NULL;
    }
    if (sweep_views(&v, objs, C, sweep, threads) < 0)
        return NULL;
    Params64 p64;
    Params32 p32;
    params_f64(&p64, family, lam, scale, inv_h);
    params_f32(&p32, family, lam, scale, inv_h);
    Py_ssize_t item = v.u.itemsize;
    Sweeps s = {
        .src = v.src.buf, .u = v.u.buf, .strips = v.strips.buf, .bufs = v.bufs.buf,
        .works = v.works.buf, .buf_part = v.bufs.len / item / threads,
        .work_part = v.works.len / item / threads, .bd = v.bounds.buf, .nb = v.bounds.len / 8,
        .C = C, .blocks = blocks, .sweep = sweep, .family = family, .threads = (int)threads,
        .dsize = (int)item, .params = item == 8 ? (const void *)&p64 : (const void *)&p32,
        .fresh = fresh,
    };
    /* adaptive: one tile per thread, and room in the buffers for any tile */
    Py_ssize_t rows = s.bd[s.nb - 1], widest = (rows - (s.nb - 2) * sweep + 2 * sweep) * C;
    s.adaptive = threads > 1 && s.nb - 1 == threads && s.buf_part >= widest &&
                 s.work_part >= widest;
    Py_BEGIN_ALLOW_THREADS
    run_sweeps(&s);
    Py_END_ALLOW_THREADS
    if (s.adaptive) /* the next call starts where this one left the boundaries */
        memcpy(v.bounds.buf, s.own, (size_t)s.nb * sizeof(int64_t));
    release(&v);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(exp_doc,
"exp2_nonpositive(x, out)\n"
"\n"
"out = 2**x elementwise for x <= 0 with the kernels' own exponential\n"
"(float64 or float32 buffers of equal length); for tests.");

/* out = 2^x with the kernels' exponential (sigma = 1), as the step loops use it. */
#define DEFINE_EXP2(T, SUFFIX, P, U)                                                           \
    static void exp2_##SUFFIX(const T *x, T *out, Py_ssize_t n)                                \
    {                                                                                          \
        P p;                                                                                   \
        params_##SUFFIX(&p, PERONA_MALIK, 1.0, 1.0, 1.0);                                      \
        for (Py_ssize_t i = 0; i < n; i++) {                                                   \
            T f;                                                                               \
            U e = pm_reduce_##SUFFIX(x[i], p.lowest, &f);                                      \
            out[i] = pm_scale_##SUFFIX(pm_poly_##SUFFIX(f, p.q), e);                           \
        }                                                                                      \
    }
DEFINE_EXP2(double, f64, Params64, uint64_t)
DEFINE_EXP2(float, f32, Params32, uint32_t)

static PyObject *py_exp(PyObject *self, PyObject *args)
{
    PyObject *xo, *oo;
    Py_buffer x, o;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &xo, &oo))
        return NULL;
    if (get_pair(xo, &x, "x", oo, &o, "out") < 0)
        return NULL;
    if (x.len != o.len) {
        PyErr_SetString(PyExc_ValueError, "x and out must have the same length");
    } else if (x.itemsize == 8) {
        exp2_f64(x.buf, o.buf, x.len / 8);
    } else {
        exp2_f32(x.buf, o.buf, x.len / 4);
    }
    PyBuffer_Release(&o);
    PyBuffer_Release(&x);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* ---- The bumps family's rows (resdenoise/_families.py) ------------------------------- */

PyDoc_STRVAR(bump_rows_doc,
"bump_rows(x, basis)\n"
"\n"
"The bumps of _families.bump_basis below its widest Gaussian, in one pass: for\n"
"the C-contiguous float64 buffers x (n values) and basis (K x n, K >= 2) whose\n"
"row K - 2 holds the widest Gaussian b = exp(a) and row K - 1 (K > 2) e = expm1(a),\n"
"row j < K - 2 becomes row j + 1 squared twice as _families.bump_rows_numpy squares\n"
"(each squaring e <- e (e + 2), and b <- 1 + e where e was above -1/2, else b b)\n"
"and row K - 1 the tail 1 / hypot(1, x) as\n"
"np.hypot and a division give it with glibc 2.35 or later, whose hypot\n"
"(sysdeps/ieee754/dbl-64/e_hypot.c, built without FMA) is this sequence of\n"
"correctly rounded operations: ax + ay where ay <= ax 2^-54, else Borges'\n"
"corrected square root (np.hypot's loop costs about 10 ns a value).\n"
"resdenoise._flux_kernels takes it only where it matches NumPy's on its check\n"
"values (another C library: NumPy's).  Releases the GIL.");

/* 1 / hypot(1, x), hypot(1, x) as glibc >= 2.35 computes it (hypot(x, y) with x = 1): both
   of Borges' corrections computed and one kept, so that the loop vectorises; its scaled
   branches (ax > 2^511, ay < 2^-511) are reached only where ay <= ax 2^-54, which returns
   ax + ay first (inf too; nan: 1 + nan, as glibc returns it). */
#define BUMP_LOOP(NAME, ATTR)                                                                  \
    ATTR static void NAME(const double *xs, double *basis, Py_ssize_t n, Py_ssize_t K)       \
    {                                                                                          \
        enum { B = 256 }; /* values a block: its rows stay in the L1 cache */                  \
        double *tail = basis + (K - 1) * n;                                                    \
        for (Py_ssize_t lo = 0; lo < n; lo += B) {                                             \
            const Py_ssize_t m = n - lo < B ? n - lo : B;                                      \
            double e[B], b[B]; /* b - 1 and b of the row above, per value */                 \
            if (K > 2) {                                                                       \
                memcpy(e, tail + lo, (size_t)m * sizeof(double));                              \
                memcpy(b, basis + (K - 2) * n + lo, (size_t)m * sizeof(double));               \
            }                                                                                  \
            Py_ssize_t j = K - 3;                                                              \
            for (int near = 1; j >= 0 && near; j--) {                                          \
                double *row = basis + j * n + lo;                                              \
                for (Py_ssize_t i = 0; i < m; i++) {                                           \
                    double u = e[i], v = b[i];                                                 \
                    double w = u * (u + 2.0);                                                  \
                    v = u > -0.5 ? 1.0 + w : v * v;                                            \
                    u = w * (w + 2.0);                                                         \
                    v = w > -0.5 ? 1.0 + u : v * v;                                            \
                    e[i] = u;                                                                  \
                    b[i] = v;                                                                  \
                    row[i] = v;                                                                \
                }                                                                              \
                near = 0; /* e only falls: once none is above -1/2, none will be */           \
                for (Py_ssize_t i = 0; i < m; i++)                                             \
                    near |= e[i] > -0.5;                                                       \
            }                                                                                  \
            for (; j >= 0; j--) { /* no e above -1/2 left in the block: plain squarings */     \
                const double *above = basis + (j + 1) * n + lo;                                \
                double *row = basis + j * n + lo;                                              \
                for (Py_ssize_t i = 0; i < m; i++) {                                           \
                    double v = above[i] * above[i];                                            \
                    row[i] = v * v;                                                            \
                }                                                                              \
            }                                                                                  \
            for (Py_ssize_t i = lo; i < lo + m; i++) {                                         \
                double x = fabs(xs[i]);                                                        \
                double ax = 1.0 < x ? x : 1.0, ay = 1.0 < x ? 1.0 : x;                         \
                double h = sqrt(ax * ax + ay * ay);                                            \
                int near = h <= 2.0 * ay;                                                      \
                double delta = h - (near ? ay : ax);                                           \
                double t1 = near ? ax * (2.0 * delta - ax) : 2.0 * delta * (ax - 2.0 * ay);    \
                double t2 = near ? (delta - 2.0 * (ax - ay)) * delta                           \
                                 : (4.0 * delta - ay) * ay + delta * delta;                    \
                double r = h - (t1 + t2) / (2.0 * h);                                          \
                r = ay <= ax * 0x1p-54 ? ax + ay : r;                                          \
                r = x != x ? 1.0 + xs[i] : r;                                                  \
                tail[i] = 1.0 / r;                                                             \
            }                                                                                  \
        }                                                                                      \
    }
BUMP_LOOP(bump_rows_any, )
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
BUMP_LOOP(bump_rows_avx2, __attribute__((target("avx2"))))
#define BUMP_ROWS(x, basis, n, K) (use_avx2 ? bump_rows_avx2 : bump_rows_any)(x, basis, n, K)
#else
#define BUMP_ROWS(x, basis, n, K) bump_rows_any(x, basis, n, K)
#endif

static PyObject *py_bump_rows(PyObject *self, PyObject *args)
{
    PyObject *xo, *bo;
    Py_buffer x, b;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &xo, &bo))
        return NULL;
    if (get_pair(xo, &x, "x", bo, &b, "basis") < 0)
        return NULL;
    const Py_ssize_t n = x.len / 8, K = n > 0 ? b.len / x.len : 0;
    if (x.itemsize != 8 || n < 1 || K < 2 || b.len != K * x.len) {
        PyErr_SetString(PyExc_ValueError,
                        "bump_rows needs float64 x (n > 0) and basis (K x n, K >= 2)");
    } else {
        Py_BEGIN_ALLOW_THREADS
        BUMP_ROWS(x.buf, b.buf, n, K);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&b);
    PyBuffer_Release(&x);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* ---- The noise estimate's window energies (resdenoise/noise.py) ---------------------- */

PyDoc_STRVAR(energies_doc,
"window_energies32(x, channels, column, out, count=False)\n"
"\n"
"Mean squares of the normalised third differences\n"
"((x[i+3] - x[i]) + 3 (x[i+1] - x[i+2])) / sqrt(20) of column `column` of the\n"
"C-contiguous float64 or float32 buffer x (rows x channels) in consecutive\n"
"windows of 32 samples, into the float64 buffer out (one per window: len(out)\n"
"windows).  The operations of quiet_windows.window_energies in its order, in float64\n"
"(float32 values widened, exactly, as they are read), the 32 squares summed\n"
"as NumPy's pairwise sum adds 32 contiguous values (eight running sums, then\n"
"a tree): the same bits.  With count true, returns how many of the windows' third\n"
"differences (before the division) are not 0 (quiet_windows.nonzero_differences'\n"
"count), else None.  Releases the GIL.");

#define EW 32 /* quiet_windows.WINDOW */
#define EW_ROWS_C 16 /* energies32f widens whole rows of up to this many columns */

/* A buffer format of the native type `code` ("d", "f"; or spelt with this machine's
   byte order). */
static int is_native(const char *f, const char *code)
{
    const uint16_t one = 1;
    const char native = *(const char *)&one ? '<' : '>';
    if (f[0] == '@' || f[0] == '=' || f[0] == native)
        f++;
    return strcmp(f, code) == 0;
}

static int is_f64(const char *f) { return is_native(f, "d"); }

static int is_f32(const char *f) { return is_native(f, "f"); }

/* A C-contiguous buffer of native float64 (shape included), or -1 with an exception
   set ("<what> must hold float64" for another format) and nothing held. */
static int get_f64(PyObject *obj, Py_buffer *view, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (!is_f64(view->format)) {
        PyErr_Format(PyExc_TypeError, "%s must hold float64", what);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* NumPy's pairwise sum of the n contiguous values of a leaf (n <= 128, PW_BLOCK
   below): eight running sums, then a tree; the sums of window_energies32 and
   sum_values, and that of sum_steps term for term */
static RD_INLINE inline double leaf_sum(const double *v, Py_ssize_t n)
{
    if (n < 8) {
        double res = 0.;
        for (Py_ssize_t j = 0; j < n; j++)
            res += v[j];
        return res;
    }
    double r[8];
    Py_ssize_t j;
    for (j = 0; j < 8; j++)
        r[j] = v[j];
    for (; j < n - (n % 8); j += 8)
        for (int q = 0; q < 8; q++)
            r[q] += v[j + q];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; j < n; j++)
        res += v[j];
    return res;
}

/* nz: NULL, or where to add the count of third differences not 0 (before the division:
   quiet_windows.nonzero_differences' count; a constant NULL compiles the count away) */
static RD_INLINE inline double window_energy(const double *p, Py_ssize_t C, double s20,
                                             Py_ssize_t *nz)
{
    double d[EW];
    Py_ssize_t n = 0;
    for (int j = 0; j < EW; j++) {
        double a = p[(j + 3) * C] - p[j * C];
        double t = p[(j + 1) * C] - p[(j + 2) * C];
        t = 3.0 * t;
        a = a + t;
        n += a != 0.0;
        a = a / s20;
        d[j] = a * a;
    }
    if (nz)
        *nz += n;
    return leaf_sum(d, EW) / EW;
}

static RD_CLONES void energies32(const double *x, Py_ssize_t C, Py_ssize_t k, double *out,
                                 Py_ssize_t *nz)
{
    const double s20 = sqrt(20.0);
    if (nz) {
        for (Py_ssize_t w = 0; w < k; w++)
            out[w] = window_energy(x + w * EW * C, C, s20, nz);
        return;
    }
    for (Py_ssize_t w = 0; w < k; w++)
        out[w] = window_energy(x + w * EW * C, C, s20, NULL);
}

/* energies32 of float32 values (x: column c of C): each window's rows widened first (in
   one contiguous conversion, in the cache), then the float64 arithmetic of their
   widened copy: the same bits */
static RD_CLONES void energies32f(const float *x, Py_ssize_t C, Py_ssize_t c, Py_ssize_t k,
                                  double *out, Py_ssize_t *nz)
{
    const double s20 = sqrt(20.0);
    double v[(EW + 3) * EW_ROWS_C];
    if (C > EW_ROWS_C) { /* wide rows: the column's values only */
        for (Py_ssize_t w = 0; w < k; w++) {
            for (int j = 0; j < EW + 3; j++)
                v[j] = x[(w * EW + j) * C + c];
            out[w] = nz ? window_energy(v, 1, s20, nz) : window_energy(v, 1, s20, NULL);
        }
        return;
    }
    for (Py_ssize_t w = 0; w < k; w++) {
        const float *p = x + w * EW * C;
        for (Py_ssize_t i = 0; i < (EW + 3) * C; i++)
            v[i] = p[i];
        out[w] = nz ? window_energy(v + c, C, s20, nz) : window_energy(v + c, C, s20, NULL);
    }
}

static PyObject *py_energies(PyObject *self, PyObject *args)
{
    PyObject *xo, *oo;
    Py_ssize_t C, c, nz = 0;
    int count = 0;
    Py_buffer x, o;
    (void)self;
    if (!PyArg_ParseTuple(args, "OnnO|p", &xo, &C, &c, &oo, &count))
        return NULL;
    if (PyObject_GetBuffer(xo, &x, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    if (PyObject_GetBuffer(oo, &o, PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    const int f32 = is_f32(x.format);
    const Py_ssize_t size = f32 ? 4 : 8;
    Py_ssize_t rows = C > 0 ? x.len / size / C : 0, k = o.len / 8;
    if (!(f32 || is_f64(x.format)) || !is_f64(o.format)) {
        PyErr_SetString(PyExc_TypeError, "x must hold float64 or float32, out float64");
    } else if (C < 1 || c < 0 || c >= C || x.len != rows * C * size) {
        PyErr_SetString(PyExc_ValueError, "column must be in [0, channels) of x's rows");
    } else if (k > 0 && (rows < 3 || k > (rows - 3) / EW)) {
        PyErr_SetString(PyExc_ValueError, "x holds fewer than len(out) windows");
    } else if (f32) {
        Py_BEGIN_ALLOW_THREADS
        energies32f((const float *)x.buf, C, c, k, o.buf, count ? &nz : NULL);
        Py_END_ALLOW_THREADS
    } else {
        Py_BEGIN_ALLOW_THREADS
        energies32((const double *)x.buf + c, C, k, o.buf, count ? &nz : NULL);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&o);
    PyBuffer_Release(&x);
    if (PyErr_Occurred())
        return NULL;
    if (count)
        return PyLong_FromSsize_t(nz);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(nonzero_thirds_doc,
"nonzero_thirds(x, channels, column, count)\n"
"\n"
"How many of the first `count` unnormalised third differences\n"
"(x[i+3] - x[i]) + 3 (x[i+1] - x[i+2]) of column `column` of the C-contiguous\n"
"float64 or float32 buffer x (rows x channels) are not 0: the count of\n"
"quiet_windows.nonzero_differences (float32 values widened, exactly; the\n"
"operations in NumPy's order, no fused multiply-add), without its temporaries.\n"
"Releases the GIL.");

static Py_ssize_t nonzero_thirds64(const double *x, Py_ssize_t C, Py_ssize_t n)
{
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const double *p = x + i * C;
        double d = p[3 * C] - p[0];
        double t = p[C] - p[2 * C];
        d += 3.0 * t;
        count += d != 0.0;
    }
    return count;
}

static Py_ssize_t nonzero_thirds32(const float *x, Py_ssize_t C, Py_ssize_t n)
{
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        const float *p = x + i * C;
        double d = (double)p[3 * C] - (double)p[0];
        double t = (double)p[C] - (double)p[2 * C];
        d += 3.0 * t;
        count += d != 0.0;
    }
    return count;
}

static PyObject *py_nonzero_thirds(PyObject *self, PyObject *args)
{
    PyObject *xo;
    Py_ssize_t C, c, n, count = 0;
    Py_buffer x;
    (void)self;
    if (!PyArg_ParseTuple(args, "Onnn", &xo, &C, &c, &n))
        return NULL;
    if (PyObject_GetBuffer(xo, &x, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    const int f32 = is_f32(x.format);
    const Py_ssize_t size = f32 ? 4 : 8;
    Py_ssize_t rows = C > 0 ? x.len / size / C : 0;
    if (!(f32 || is_f64(x.format))) {
        PyErr_SetString(PyExc_TypeError, "x must hold float64 or float32");
    } else if (C < 1 || c < 0 || c >= C || x.len != rows * C * size) {
        PyErr_SetString(PyExc_ValueError, "column must be in [0, channels) of x's rows");
    } else if (n < 0 || (n > 0 && n > rows - 3)) {
        PyErr_SetString(PyExc_ValueError, "x holds fewer than count + 3 rows");
    } else if (f32) {
        Py_BEGIN_ALLOW_THREADS
        count = nonzero_thirds32((const float *)x.buf + c, C, n);
        Py_END_ALLOW_THREADS
    } else {
        Py_BEGIN_ALLOW_THREADS
        count = nonzero_thirds64((const double *)x.buf + c, C, n);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&x);
    if (PyErr_Occurred())
        return NULL;
    return PyLong_FromSsize_t(count);
}

PyDoc_STRVAR(diff_energies_doc,
"diff_energies32(x, order, scale, out)\n"
"\n"
"Mean squares of the differences of `order` (1 to 16) of the C-contiguous float64\n"
"buffer x, each divided by `scale`, in consecutive windows of 32 differences, into\n"
"the float64 buffer out (one per window: len(out) windows).  The operations of\n"
"quiet_windows.window_energies for an order other than 3 in their order: np.diff's\n"
"repeated first differences (d[j] = d[j+1] - d[j], order times), the division,\n"
"the square, the 32 squares summed as NumPy's pairwise sum (eight running sums,\n"
"then a tree) and divided by 32: the same bits.  Releases the GIL.");

#define DIFF_MAX_ORDER 16

static RD_CLONES void diff_energies32(const double *x, int order, double scale, Py_ssize_t k,
                                      double *out)
{
    double v[EW + DIFF_MAX_ORDER];
    for (Py_ssize_t w = 0; w < k; w++) {
        const double *p = x + w * EW;
        for (int j = 0; j < EW + order; j++)
            v[j] = p[j];
        for (int level = 1; level <= order; level++)
            for (int j = 0; j < EW + order - level; j++)
                v[j] = v[j + 1] - v[j];
        for (int j = 0; j < EW; j++) {
            double a = v[j] / scale;
            v[j] = a * a;
        }
        out[w] = leaf_sum(v, EW) / EW;
    }
}

static PyObject *py_diff_energies(PyObject *self, PyObject *args)
{
    PyObject *xo, *oo;
    int order;
    double scale;
    Py_buffer x, o;
    (void)self;
    if (!PyArg_ParseTuple(args, "OidO", &xo, &order, &scale, &oo))
        return NULL;
    if (get_f64(xo, &x, "x") < 0)
        return NULL;
    if (PyObject_GetBuffer(oo, &o, PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    Py_ssize_t n = x.len / 8, k = o.len / 8;
    if (!is_f64(o.format)) {
        PyErr_SetString(PyExc_TypeError, "out must hold float64");
    } else if (order < 1 || order > DIFF_MAX_ORDER) {
        PyErr_Format(PyExc_ValueError, "order must be in [1, %d], got %d", DIFF_MAX_ORDER, order);
    } else if (k > 0 && (n < order || k > (n - order) / EW)) {
        PyErr_SetString(PyExc_ValueError, "x holds fewer than len(out) windows");
    } else {
        Py_BEGIN_ALLOW_THREADS
        diff_energies32((const double *)x.buf, order, scale, k, o.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&o);
    PyBuffer_Release(&x);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(median_residual_doc,
"median_residual(x, half, net, out) -> bool\n"
"\n"
"|x[i] - m[i]| into the float64 buffer out, m[i] the median of the 2 half + 1\n"
"values x[i - half : i + half + 1] of the C-contiguous float64 buffer x, its ends\n"
"reflected (np.pad's 'reflect'; 1 <= half <= len(x) - 1, half <= 8): the residual of\n"
"impulses.running_median by the same selection network `net` (int32 pairs (a, b),\n"
"the smaller value to a; impulses._median_network), the same numbers.  False, with\n"
"out unspecified, where x holds a NaN (NumPy's minimum and maximum propagate it\n"
"as C's comparisons do not).  Releases the GIL.");

#define MEDIAN_MAX_HALF 8
#define MEDIAN_BLOCK 256

/* net: `pairs` compare-exchanges (a, b), a < b, after which position `half` of the
   2 half + 1 values holds their median (impulses._median_network); applied to
   MEDIAN_BLOCK samples at once, lane by lane (branch-free minima and maxima) */
static RD_CLONES int median_residual(const double *x, Py_ssize_t n, int half, const int *net,
                                     int pairs, double *out)
{
    const int width = 2 * half + 1;
    double cols[2 * MEDIAN_MAX_HALF + 1][MEDIAN_BLOCK];
    int nan = 0;
    for (Py_ssize_t i = 0; i < n; i++)
        nan |= x[i] != x[i];
    if (nan)
        return 0;
    for (Py_ssize_t lo = 0; lo < n; lo += MEDIAN_BLOCK) {
        const Py_ssize_t m = n - lo < MEDIAN_BLOCK ? n - lo : MEDIAN_BLOCK;
        for (int j = 0; j < width; j++) {
            const Py_ssize_t a = lo + j - half;
            if (a >= 0 && a + m <= n) {
                memcpy(cols[j], x + a, (size_t)m * sizeof(double));
                continue;
            }
            for (Py_ssize_t t = 0; t < m; t++) { /* np.pad's 'reflect' at the ends */
                Py_ssize_t k = a + t;
                k = k < 0 ? -k : k;
                cols[j][t] = x[k > n - 1 ? 2 * (n - 1) - k : k];
            }
        }
        for (int p = 0; p < pairs; p++) {
            double *restrict u = cols[net[2 * p]], *restrict v = cols[net[2 * p + 1]];
            for (Py_ssize_t t = 0; t < m; t++) {
                const double a = u[t], b = v[t];
                u[t] = a < b ? a : b;
                v[t] = a < b ? b : a;
            }
        }
        for (Py_ssize_t t = 0; t < m; t++)
            out[lo + t] = fabs(x[lo + t] - cols[half][t]);
    }
    return 1;
}

static PyObject *py_median_residual(PyObject *self, PyObject *args)
{
    PyObject *xo, *oo, *no;
    int half, ok = 0;
    Py_buffer x, o, net;
    (void)self;
    if (!PyArg_ParseTuple(args, "OiOO", &xo, &half, &no, &oo))
        return NULL;
    if (get_f64(xo, &x, "x") < 0)
        return NULL;
    if (PyObject_GetBuffer(no, &net, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    if (PyObject_GetBuffer(oo, &o, PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&net);
        PyBuffer_Release(&x);
        return NULL;
    }
    Py_ssize_t n = x.len / 8, pairs = net.len / (Py_ssize_t)(2 * sizeof(int));
    const int *pairs_at = net.buf;
    int bad_net = !is_native(net.format, "i") || net.len % (Py_ssize_t)(2 * sizeof(int));
    for (Py_ssize_t p = 0; !bad_net && p < 2 * pairs; p++)
        bad_net = pairs_at[p] < 0 || pairs_at[p] > 2 * half || (p % 2 && pairs_at[p - 1] >= pairs_at[p]);
    if (!is_f64(o.format) || o.len != x.len) {
        PyErr_SetString(PyExc_TypeError, "out must hold float64, as many as x");
    } else if (half < 1 || half > MEDIAN_MAX_HALF || half > n - 1) {
        PyErr_Format(PyExc_ValueError, "half must be in [1, min(%d, len(x) - 1)], got %d",
                     MEDIAN_MAX_HALF, half);
    } else if (bad_net) {
        PyErr_SetString(PyExc_ValueError, "net must hold int32 pairs (a, b), 0 <= a < b <= 2 half");
    } else {
        Py_BEGIN_ALLOW_THREADS
        ok = median_residual((const double *)x.buf, n, half, pairs_at, (int)pairs, o.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&o);
    PyBuffer_Release(&net);
    PyBuffer_Release(&x);
    if (PyErr_Occurred())
        return NULL;
    return PyBool_FromLong(ok);
}

/* ---- A streamed run's per-chunk measurements (resdenoise/stream.py) ----------------- */

PyDoc_STRVAR(stats_doc,
"column_stats(x, channels, column, has_last, last, tol)\n"
"    -> (minimum, maximum, nan, inside, changes, first, last_positive, total, variation)\n"
"\n"
"One pass over column `column` of the C-contiguous float64 buffer x (k >= 1 rows\n"
"x channels), as StreamMeasure.add measures a core with NumPy:\n"
"  minimum, maximum: its extremes (meaningless when nan: the sum is NaN);\n"
"  inside: whether a value lies in the band |v| <= tol;\n"
"  changes, first, last_positive: sign changes between consecutive values\n"
"    and the first and last sign (v > tol), meaningful when inside == 0;\n"
"  total: NumPy's sum of the column, bit for bit (its pairwise summation:\n"
"    blocks of at most 128 values in eight running sums, halves above);\n"
"  variation: NumPy's sum of |differences|, from `last` when has_last.\n"
"Releases the GIL.");

#define PW_BLOCK 128 /* NumPy's PW_BLOCKSIZE */

/* Where NumPy's pairwise sum splits n > PW_BLOCK values: the left half's length */
static Py_ssize_t pw_half(Py_ssize_t n)
{
    Py_ssize_t n2 = n / 2;
    return n2 - n2 % 8;
}

typedef struct {
    const double *x;
    Py_ssize_t C;
    int has_last;
    double last, tol;
    double lo[8], hi[8], small[8]; /* eight lanes of running extremes and smallest |v| */
    int64_t changes;
    int seen, pos, first;
} Walk;

#if defined(__GNUC__)
/* Four doubles (and their bit patterns) as one vector: comparisons give all-ones
   masks, and a < b ? a : b is a blend of bits (GCC vectorises the scalar form of
   it only with -ffinite-math-only). */
typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4i __attribute__((vector_size(32)));
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8s __attribute__((vector_size(32)));
static RD_INLINE inline v4d pick(v4i take_a, v4d a, v4d b)
{
    return (v4d)((take_a & (v4i)a) | (~take_a & (v4i)b));
}
static RD_INLINE inline v8f pick8(v8s take_a, v8f a, v8f b)
{
    return (v8f)((take_a & (v8s)a) | (~take_a & (v8s)b));
}
#endif

/* The extremes, smallest magnitude and sign changes of n >= 1 consecutive values
   (after those visited before), contiguous in v; a NaN shows in the sum instead. */
static RD_INLINE inline void visit(Walk *w, const double *v, Py_ssize_t n)
{
    const double tol = w->tol;
    Py_ssize_t j = 0;
#if defined(__GNUC__)
    /* eight lanes in two vectors of four: the extremes are exact in any order */
    v4d lo[2], hi[2], small[2];
    const v4i magnitude = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
    memcpy(lo, w->lo, sizeof lo);
    memcpy(hi, w->hi, sizeof hi);
    memcpy(small, w->small, sizeof small);
    for (; j + 8 <= n; j += 8)
        for (int q = 0; q < 2; q++) {
            v4d a, m;
            memcpy(&a, v + j + 4 * q, sizeof a);
            m = (v4d)((v4i)a & magnitude); /* |a| */
            lo[q] = pick(a < lo[q], a, lo[q]);
            hi[q] = pick(a > hi[q], a, hi[q]);
            small[q] = pick(m < small[q], m, small[q]);
        }
    memcpy(w->lo, lo, sizeof lo);
    memcpy(w->hi, hi, sizeof hi);
    memcpy(w->small, small, sizeof small);
#endif
    for (; j < n; j++) {
        double a = v[j], m = fabs(a);
        w->lo[0] = a < w->lo[0] ? a : w->lo[0];
        w->hi[0] = a > w->hi[0] ? a : w->hi[0];
        w->small[0] = m < w->small[0] ? m : w->small[0];
    }
    int64_t changes = 0;
    for (j = 1; j < n; j++)
        changes += (v[j] > tol) != (v[j - 1] > tol);
    int first = v[0] > tol;
    if (w->seen)
        changes += first != w->pos;
    else
        w->first = first;
    w->seen = 1;
    w->changes += changes;
    w->pos = v[n - 1] > tol;
}

/* NumPy's pairwise sum of the n values from row i on, visiting each block in order */
static double sum_values(Walk *w, Py_ssize_t i, Py_ssize_t n)
{
    if (n <= PW_BLOCK) {
        const double *x = w->x + i * w->C;
        const Py_ssize_t C = w->C;
        double v[PW_BLOCK]; /* the block's values, contiguous */
        for (Py_ssize_t j = 0; j < n; j++)
            v[j] = x[j * C];
        if (n)
            visit(w, v, n);
        return leaf_sum(v, n);
    }
    Py_ssize_t n2 = pw_half(n);
    double left = sum_values(w, i, n2); /* the left half first: values in order */
    double right = sum_values(w, i + n2, n - n2);
    return left + right;
}

/* difference j: |x_j - x_{j-1}| (x_{-1} = last) with has_last, else |x_{j+1} - x_j| */
static RD_INLINE inline double step(const Walk *w, Py_ssize_t j)
{
    const double *x = w->x;
    const Py_ssize_t C = w->C;
    if (!w->has_last)
        return fabs(x[(j + 1) * C] - x[j * C]);
    return fabs(x[j * C] - (j ? x[(j - 1) * C] : w->last));
}

/* NumPy's pairwise sum of the n differences from difference i on */
static double sum_steps(const Walk *w, Py_ssize_t i, Py_ssize_t n)
{
    if (n < 8) {
        double res = 0.;
        for (Py_ssize_t j = 0; j < n; j++)
            res += step(w, i + j);
        return res;
    }
    if (n <= PW_BLOCK) {
        double r[8];
        Py_ssize_t j;
        for (j = 0; j < 8; j++)
            r[j] = step(w, i + j);
        for (; j < n - (n % 8); j += 8)
            for (int q = 0; q < 8; q++)
                r[q] += step(w, i + j + q);
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; j < n; j++)
            res += step(w, i + j);
        return res;
    }
    Py_ssize_t n2 = pw_half(n);
    double left = sum_steps(w, i, n2);
    double right = sum_steps(w, i + n2, n - n2);
    return left + right;
}

/* A walk of column x (every C-th value) from no values visited */
static Walk walk_start(const double *x, Py_ssize_t C, int has_last, double last, double tol)
{
    Walk w = {.x = x, .C = C, .has_last = has_last, .last = last, .tol = tol};
    for (int q = 0; q < 8; q++) {
        w.lo[q] = w.small[q] = INFINITY;
        w.hi[q] = -INFINITY;
    }
    return w;
}

/* column_stats' tuple of a finished walk with its column's total and variation */
static PyObject *walk_result(const Walk *w, double total, double variation)
{
    double lo = INFINITY, hi = -INFINITY, small = INFINITY;
    for (int q = 0; q < 8; q++) {
        lo = w->lo[q] < lo ? w->lo[q] : lo;
        hi = w->hi[q] > hi ? w->hi[q] : hi;
        small = w->small[q] < small ? w->small[q] : small;
    }
    /* a NaN anywhere makes the sum NaN (so may inf - inf: NumPy's path then too) */
    return Py_BuildValue("ddNNLiidd", lo, hi, PyBool_FromLong(total != total),
                         PyBool_FromLong(small <= w->tol), (long long)w->changes, w->first,
                         w->pos, total, variation);
}

/* A tuple of item(ctx, c) for the C columns c, or NULL with an exception set */
static PyObject *per_column(Py_ssize_t C, PyObject *(*item)(const void *, Py_ssize_t),
                            const void *ctx)
{
    PyObject *out = PyTuple_New(C);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t c = 0; c < C; c++) {
        PyObject *one = item(ctx, c);
        if (one == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, c, one);
    }
    return out;
}

static PyObject *py_stats(PyObject *self, PyObject *args)
{
    PyObject *xo;
    Py_ssize_t C, c;
    int has_last;
    double last, tol, total = 0.0, variation = 0.0;
    Py_buffer x;
    Walk w;
    (void)self;
    if (!PyArg_ParseTuple(args, "Onnpdd", &xo, &C, &c, &has_last, &last, &tol))
        return NULL;
    if (get_f64(xo, &x, "x") < 0)
        return NULL;
    Py_ssize_t k = C > 0 ? x.len / 8 / C : 0;
    if (C < 1 || c < 0 || c >= C || k < 1 || x.len != k * C * 8) {
        PyErr_SetString(PyExc_ValueError, "column must be in [0, channels) of x's rows (>= 1)");
    } else if (!(tol >= 0.0)) {
        PyErr_SetString(PyExc_ValueError, "tol must be >= 0");
    } else {
        w = walk_start((const double *)x.buf + c, C, has_last, last, tol);
        Py_BEGIN_ALLOW_THREADS
        /* a reduction starts from NumPy's identity: 0.0 + the pairwise sum */
        total = 0.0 + sum_values(&w, 0, k);
        variation = 0.0 + sum_steps(&w, 0, has_last ? k : k - 1);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&x);
    if (PyErr_Occurred())
        return NULL;
    return walk_result(&w, total, variation);
}

/* ---- Every column at once, after a previous row ------------------------------------- */

#define ALL_MAX_C 16 /* wider rows: column by column (column_stats) */

static int check_rows(Py_buffer *view, Py_ssize_t min_c, Py_ssize_t *k, Py_ssize_t *C);

/* get_f64 of a C-contiguous (k >= 1 rows) x (min_c <= C <= ALL_MAX_C) array, with its
   k and C; on a bad shape: ValueError, the buffer released, -1 */
static int get_rows(PyObject *obj, Py_buffer *view, Py_ssize_t min_c, Py_ssize_t *k,
                    Py_ssize_t *C)
{
    if (get_f64(obj, view, "x") < 0)
        return -1;
    return check_rows(view, min_c, k, C);
}

/* get_rows of float64 or float32 values (*f32 set for float32). */
static int get_rows_either(PyObject *obj, Py_buffer *view, Py_ssize_t *k, Py_ssize_t *C,
                           int *f32)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    *f32 = is_f32(view->format);
    if (!*f32 && !is_f64(view->format)) {
        PyErr_SetString(PyExc_TypeError, "x must hold float64 or float32");
        PyBuffer_Release(view);
        return -1;
    }
    return check_rows(view, 1, k, C);
}

/* The rows x columns shape of get_rows (the buffer released where it does not fit). */
static int check_rows(Py_buffer *view, Py_ssize_t min_c, Py_ssize_t *k, Py_ssize_t *C)
{
    *C = view->ndim == 2 ? view->shape[1] : 0;
    *k = view->ndim == 2 ? view->shape[0] : 0;
    if (*C < min_c || *C > ALL_MAX_C || *k < 1) {
        PyErr_Format(PyExc_ValueError, "x must hold k >= 1 rows of %zd to %d values", min_c,
                     ALL_MAX_C);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

#if defined(__GNUC__)
/* A leaf of walk_all (8 <= n <= PW_BLOCK rows from row i, C columns interleaved), walked
   as the rows lie in memory: a group of 8 rows is 8C contiguous values, so element e of
   a group belongs to column e % C, running sum e / C of leaf_sum (lane q of the eight),
   and every group adds its e-th value to the same running sum, in the same order as
   leaf_sum adds them column by column: the same bits, in vectors of 4 over all columns
   at once.  The extremes and sign changes take every value once (their order does not
   matter; a change is counted between consecutive rows of a column).  The rows past the
   last whole group of 8 are added one by one after, as leaf_sum adds them. */
static RD_CLONES void leaf_all(Walk *w, Py_ssize_t C, Py_ssize_t i, Py_ssize_t n, double *tot,
                               double *var)
{
    const double *p = w[0].x + i * C; /* row i, column 0 */
    const Py_ssize_t m = n - n % 8, L = 8 * C, V = 2 * C; /* V vectors of 4 per group */
    const double tol = w[0].tol;
    const v4d tolv = {tol, tol, tol, tol};
    const v4i magnitude = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
    const v4d inf = {INFINITY, INFINITY, INFINITY, INFINITY};
    v4d sum[2 * ALL_MAX_C], dif[2 * ALL_MAX_C], lo[2 * ALL_MAX_C], hi[2 * ALL_MAX_C],
        sm[2 * ALL_MAX_C];
    v4i ch[2 * ALL_MAX_C];
    /* the first group's predecessors: the row before (differences) and, for the sign
       changes, the row before only when a row of this walk precedes (else itself: no
       change) */
    double before[8 * ALL_MAX_C], signs[8 * ALL_MAX_C];
    for (Py_ssize_t c = 0; c < C; c++) {
        before[c] = i ? p[c - C] : w[c].last;
        signs[c] = w[c].seen ? p[c - C] : p[c];
    }
    memcpy(before + C, p, (size_t)(L - C) * sizeof(double));
    memcpy(signs + C, p, (size_t)(L - C) * sizeof(double));
    for (Py_ssize_t k = 0; k < V; k++) {
        v4d a, b, s;
        memcpy(&a, p + 4 * k, sizeof a);
        memcpy(&b, before + 4 * k, sizeof b);
        memcpy(&s, signs + 4 * k, sizeof s);
        sum[k] = a;
        dif[k] = (v4d)((v4i)(a - b) & magnitude);
        lo[k] = pick(a < inf, a, inf); /* a NaN is skipped, as in visit */
        hi[k] = pick(a > -inf, a, -inf);
        sm[k] = pick((v4d)((v4i)a & magnitude) < inf, (v4d)((v4i)a & magnitude), inf);
        ch[k] = (v4i)(a > tolv) ^ (v4i)(s > tolv); /* -1 where the sign changed */
    }
    for (Py_ssize_t g = L; g < m * C; g += L)
        for (Py_ssize_t k = 0; k < V; k++) {
            v4d a, b, mag;
            memcpy(&a, p + g + 4 * k, sizeof a);
            memcpy(&b, p + g + 4 * k - C, sizeof b);
            sum[k] = sum[k] + a;
            dif[k] = dif[k] + (v4d)((v4i)(a - b) & magnitude);
            lo[k] = pick(a < lo[k], a, lo[k]);
            hi[k] = pick(a > hi[k], a, hi[k]);
            mag = (v4d)((v4i)a & magnitude);
            sm[k] = pick(mag < sm[k], mag, sm[k]);
            ch[k] = ch[k] + ((v4i)(a > tolv) ^ (v4i)(b > tolv));
        }
    double r[8 * ALL_MAX_C], d[8 * ALL_MAX_C], l[8 * ALL_MAX_C], h[8 * ALL_MAX_C],
        s[8 * ALL_MAX_C];
    int64_t changes[8 * ALL_MAX_C];
    memcpy(r, sum, (size_t)L * sizeof(double));
    memcpy(d, dif, (size_t)L * sizeof(double));
    memcpy(l, lo, (size_t)L * sizeof(double));
    memcpy(h, hi, (size_t)L * sizeof(double));
    memcpy(s, sm, (size_t)L * sizeof(double));
    memcpy(changes, ch, (size_t)L * sizeof(int64_t));
    for (Py_ssize_t c = 0; c < C; c++) {
        Walk *wc = &w[c];
        double rt = ((r[c] + r[C + c]) + (r[2 * C + c] + r[3 * C + c])) +
                    ((r[4 * C + c] + r[5 * C + c]) + (r[6 * C + c] + r[7 * C + c]));
        double rv = ((d[c] + d[C + c]) + (d[2 * C + c] + d[3 * C + c])) +
                    ((d[4 * C + c] + d[5 * C + c]) + (d[6 * C + c] + d[7 * C + c]));
        int64_t count = 0;
        for (int q = 0; q < 8; q++) {
            double a = l[q * C + c], b = h[q * C + c], e = s[q * C + c];
            wc->lo[0] = a < wc->lo[0] ? a : wc->lo[0];
            wc->hi[0] = b > wc->hi[0] ? b : wc->hi[0];
            wc->small[0] = e < wc->small[0] ? e : wc->small[0];
            count -= changes[q * C + c];
        }
        for (Py_ssize_t j = m; j < n; j++) { /* the rows after the last whole group */
            double a = p[j * C + c], b = p[(j - 1) * C + c], e = fabs(a);
            rt += a;
            rv += fabs(a - b);
            wc->lo[0] = a < wc->lo[0] ? a : wc->lo[0];
            wc->hi[0] = a > wc->hi[0] ? a : wc->hi[0];
            wc->small[0] = e < wc->small[0] ? e : wc->small[0];
            count += (a > tol) != (b > tol);
        }
        if (!wc->seen)
            wc->first = p[c] > tol;
        wc->seen = 1;
        wc->changes += count;
        wc->pos = p[(n - 1) * C + c] > tol;
        tot[c] = rt;
        var[c] = rv;
    }
}
#endif

/* The n rows from row i of every column: values and |differences| from the row
   before (w[c].last before row 0) summed as sum_values and sum_steps sum them, when
   both have the same halves (has_last: k differences of k values); one walk over
   the rows instead of two per column */
static void walk_all(Walk *w, Py_ssize_t C, Py_ssize_t i, Py_ssize_t n, double *tot, double *var)
{
#if defined(__GNUC__)
    if (n >= 8 && n <= PW_BLOCK) {
        leaf_all(w, C, i, n, tot, var);
        return;
    }
#endif
    if (n <= PW_BLOCK) {
        double v[PW_BLOCK], d[PW_BLOCK];
        for (Py_ssize_t c = 0; c < C; c++) {
            const double *x = w[c].x;
            for (Py_ssize_t j = 0; j < n; j++)
                v[j] = x[(i + j) * C];
            double before = i ? x[(i - 1) * C] : w[c].last;
            d[0] = fabs(v[0] - before);
            for (Py_ssize_t j = 1; j < n; j++)
                d[j] = fabs(v[j] - v[j - 1]);
            tot[c] = leaf_sum(v, n);
            var[c] = leaf_sum(d, n);
            if (n)
                visit(&w[c], v, n);
        }
        return;
    }
    Py_ssize_t n2 = pw_half(n);
    double rt[ALL_MAX_C], rv[ALL_MAX_C];
    walk_all(w, C, i, n2, tot, var); /* the left half first: values in order */
    walk_all(w, C, i + n2, n - n2, rt, rv);
    for (Py_ssize_t c = 0; c < C; c++) {
        tot[c] = tot[c] + rt[c];
        var[c] = var[c] + rv[c];
    }
}

PyDoc_STRVAR(stats_all_doc,
"columns_stats(x, lasts, tol) -> tuple of column_stats(x, C, c, True, lasts[c], tol)\n"
"\n"
"Every column c of x (k >= 1 rows x C channels, C <= 16, float64, C-contiguous),\n"
"lasts: C float64 values (the rows' predecessors), the same numbers as column_stats\n"
"column by column, in one walk over the rows.  Releases the GIL.");

typedef struct {
    const Walk *w;
    const double *tot, *var;
} Walks;

static PyObject *walks_item(const void *ctx, Py_ssize_t c)
{
    const Walks *a = ctx;
    /* a reduction starts from NumPy's identity: 0.0 + the pairwise sum */
    return walk_result(&a->w[c], 0.0 + a->tot[c], 0.0 + a->var[c]);
}

static PyObject *py_stats_all(PyObject *self, PyObject *args)
{
    PyObject *xo, *lo_;
    double tol;
    Py_buffer x, l;
    Walk w[ALL_MAX_C];
    double tot[ALL_MAX_C], var[ALL_MAX_C];
    Py_ssize_t C = 0, k = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOd", &xo, &lo_, &tol))
        return NULL;
    if (PyObject_GetBuffer(xo, &x, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    if (PyObject_GetBuffer(lo_, &l, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    C = l.len / 8;
    k = C > 0 ? x.len / 8 / C : 0;
    if (!is_f64(x.format) || !is_f64(l.format)) {
        PyErr_SetString(PyExc_TypeError, "x and lasts must hold float64");
    } else if (C < 1 || C > ALL_MAX_C || k < 1 || x.len != k * C * 8) {
        PyErr_SetString(PyExc_ValueError, "x must hold k >= 1 rows of len(lasts) <= 16 values");
    } else if (!(tol >= 0.0)) {
        PyErr_SetString(PyExc_ValueError, "tol must be >= 0");
    } else {
        for (Py_ssize_t c = 0; c < C; c++)
            w[c] = walk_start((const double *)x.buf + c, C, 1, ((const double *)l.buf)[c], tol);
        Py_BEGIN_ALLOW_THREADS
        walk_all(w, C, 0, k, tot, var);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&l);
    PyBuffer_Release(&x);
    if (PyErr_Occurred())
        return NULL;
    return per_column(C, walks_item, &(Walks){.w = w, .tot = tot, .var = var});
}

/* ---- SURE's per-chunk sums (resdenoise/sure.py) ------------------------------- */

PyDoc_STRVAR(sure_doc,
"sure_sums(f, u, b, w, bounds, groups, out[, probe])\n"
"\n"
"SURE's per-chunk sums of sure.sure_parts, bit for bit: for the rows i of\n"
"the C-contiguous float64 buffers f and b (rows x c) and u (rows x 2c: the\n"
"signal's run, then its probe's; float64, or float32 widened exactly as it is\n"
"read: the numbers of its float64 copy; with `probe`, rows x any width, the\n"
"probe's run in the columns probe to probe + c - 1, probe >= c), the row value\n"
"of channel j is (f - u_j)^2 + ((u_{p+j} - u_j) b) w_j (p = probe, default c),\n"
"computed in that order (NumPy's\n"
"r = f - u; d = u' - u; d *= b; d *= w; r *= r; r += d); the c channels are\n"
"`groups` groups of c / groups < 8 channels side by side, each group's row\n"
"values summed left to right from 0.0 (NumPy's sum over a short axis); the\n"
"rows bounds[k]:bounds[k+1] of each group are summed as np.add.reduceat sums\n"
"them (the first value plus NumPy's pairwise sum of the others) into\n"
"out[k, group] (chunks x groups).  Releases the GIL.");

/* The first `count` objects' C-contiguous buffers (with their format; the last one
   writable): how many were got (count, or fewer with an exception set) */
static int get_buffers(PyObject **objs, Py_buffer *buf, int count)
{
    int got = 0;
    for (; got < count; got++) {
        const int flags = PyBUF_FORMAT | PyBUF_C_CONTIGUOUS;
        if (PyObject_GetBuffer(objs[got], &buf[got],
                               flags | (got == count - 1 ? PyBUF_WRITABLE : 0)) < 0)
            break;
    }
    return got;
}

/* A call's end: the `got` buffers released; None, or NULL where an exception is set */
static PyObject *released(Py_buffer *buf, int got)
{
    for (int q = 0; q < got; q++)
        PyBuffer_Release(&buf[q]);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* NumPy's pairwise sum of the n contiguous values from v on */
static double pairwise_sum(const double *v, Py_ssize_t n)
{
    if (n <= PW_BLOCK)
        return leaf_sum(v, n);
    Py_ssize_t n2 = pw_half(n);
    return pairwise_sum(v, n2) + pairwise_sum(v + n2, n - n2);
}

/* sure_sums of a float64 run (_double) or of a float32 one (_float: each value widened,
   exactly, as it is read: the bits of its float64 copy) */
#define SURE_SUMS(T)                                                                       \
    static void sure_sums_##T(const double *f, const T *u, const double *b, const double *w, \
                              const int64_t *bounds, Py_ssize_t chunks, Py_ssize_t c,      \
                              Py_ssize_t groups, Py_ssize_t U, Py_ssize_t p, double *row,  \
                              double *out)                                                 \
    {                                                                                      \
        const Py_ssize_t per = c / groups;                                                 \
        for (Py_ssize_t k = 0; k < chunks; k++) {                                          \
            const Py_ssize_t lo = (Py_ssize_t)bounds[k], n = (Py_ssize_t)bounds[k + 1] - lo; \
            for (Py_ssize_t g = 0; g < groups; g++) {                                      \
                for (Py_ssize_t i = 0; i < n; i++) {                                       \
                    const Py_ssize_t at = lo + i;                                          \
                    double sum = 0.0;                                                      \
                    for (Py_ssize_t q = 0; q < per; q++) {                                 \
                        const Py_ssize_t j = g * per + q;                                  \
                        const double uf = (double)u[at * U + j];                           \
                        double r = f[at * c + j] - uf;                                     \
                        double d = (double)u[at * U + p + j] - uf;                         \
                        d = d * b[at * c + j];                                             \
                        d = d * w[j];                                                      \
                        r = r * r;                                                         \
                        r = r + d;                                                         \
                        sum = per == 1 ? r : sum + r;                                      \
                    }                                                                      \
                    row[i] = sum;                                                          \
                }                                                                          \
                out[k * groups + g] = row[0] + pairwise_sum(row + 1, n - 1);               \
            }                                                                              \
        }                                                                                  \
    }
SURE_SUMS(double)
SURE_SUMS(float)

static PyObject *py_sure(PyObject *self, PyObject *args)
{
    PyObject *objs[6];
    Py_ssize_t groups, probe = -1;
    Py_buffer buf[6];
    int got = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOnO|n", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &groups, &objs[5], &probe))
        return NULL;
    got = get_buffers(objs, buf, 6);
    if (got == 6) {
        const Py_ssize_t c = buf[3].len / 8, chunks = buf[4].len / 8 - 1;
        const Py_ssize_t rows = c > 0 ? buf[0].len / 8 / c : 0;
        const int64_t *bounds = buf[4].buf;
        int ok = is_int64(&buf[4]);
        const int f32 = is_f32(buf[1].format); /* a float32 run, widened as it is read */
        /* u's width: 2c, or with the probe's columns given, any that holds them */
        const Py_ssize_t U = rows > 0 ? buf[1].len / (f32 ? 4 : 8) / rows : 0;
        const Py_ssize_t p = probe < 0 ? c : probe;
        for (int q = 0; q < 6; q++)
            ok = ok && (q == 4 || is_f64(buf[q].format) || (q == 1 && f32));
        Py_ssize_t longest = 0;
        for (Py_ssize_t k = 0; ok && k < chunks; k++) {
            ok = bounds[k] >= 0 && bounds[k] < bounds[k + 1] && bounds[k + 1] <= rows;
            longest = bounds[k + 1] - bounds[k] > longest ? bounds[k + 1] - bounds[k] : longest;
        }
        if (!ok || c < 1 || groups < 1 || c % groups || c / groups >= 8 || chunks < 1 ||
            buf[0].len != rows * c * 8 || buf[2].len != buf[0].len ||
            buf[1].len != U * rows * (f32 ? 4 : 8) || buf[5].len != chunks * groups * 8 ||
            (probe < 0 ? U != 2 * c : probe < c || probe + c > U)) {
            PyErr_SetString(PyExc_ValueError,
                            "sure_sums needs float64 f, b (rows x c), u (rows x 2c, or with "
                            "probe >= c at least probe + c columns; float64 or float32), w "
                            "(c), increasing int64 bounds inside the rows, c / groups < 8 and "
                            "out (chunks x groups)");
        } else {
            double *row = PyMem_RawMalloc((size_t)longest * sizeof(double));
            if (row == NULL) {
                PyErr_NoMemory();
            } else {
                Py_BEGIN_ALLOW_THREADS
                if (f32)
                    sure_sums_float(buf[0].buf, buf[1].buf, buf[2].buf, buf[3].buf, bounds,
                                    chunks, c, groups, U, p, row, buf[5].buf);
                else
                    sure_sums_double(buf[0].buf, buf[1].buf, buf[2].buf, buf[3].buf, bounds,
                                     chunks, c, groups, U, p, row, buf[5].buf);
                Py_END_ALLOW_THREADS
                PyMem_RawFree(row);
            }
        }
    }
    return released(buf, got);
}

/* ---- The refine's sums per gain batch (resdenoise/sure.py) -------------------------- */

PyDoc_STRVAR(batch_residuals_doc,
"batch_residuals(f, u, starts, out)\n"
"\n"
"sure.BatchResiduals' sums, bit for bit: for the C-contiguous float64 buffers f\n"
"and u (rows x c), per batch k (the rows starts[k]:starts[k + 1], the last one to\n"
"the end) and channel j, the values (f - u)^2 summed as np.add.reduceat sums a\n"
"column (its first value plus NumPy's pairwise sum of the others) into out[k, j]\n"
"(batches x c).  Releases the GIL.");

static void batch_residuals(const double *f, const double *u, const int64_t *starts,
                            Py_ssize_t k, Py_ssize_t rows, Py_ssize_t c, double *row,
                            double *out)
{
    for (Py_ssize_t q = 0; q < k; q++) {
        const Py_ssize_t lo = (Py_ssize_t)starts[q];
        const Py_ssize_t n = (q + 1 < k ? (Py_ssize_t)starts[q + 1] : rows) - lo;
        for (Py_ssize_t j = 0; j < c; j++) {
            for (Py_ssize_t i = 0; i < n; i++) {
                double r = f[(lo + i) * c + j] - u[(lo + i) * c + j];
                row[i] = r * r;
            }
            out[q * c + j] = row[0] + pairwise_sum(row + 1, n - 1);
        }
    }
}

static PyObject *py_batch_residuals(PyObject *self, PyObject *args)
{
    PyObject *objs[4];
    Py_buffer buf[4];
    int got = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOO", &objs[0], &objs[1], &objs[2], &objs[3]))
        return NULL;
    got = get_buffers(objs, buf, 4);
    if (got == 4) {
        const Py_ssize_t k = buf[2].len / 8;
        const Py_ssize_t rows = buf[0].ndim >= 1 ? buf[0].shape[0] : 0;
        const Py_ssize_t c = rows > 0 ? buf[0].len / 8 / rows : 0;
        const int64_t *starts = buf[2].buf;
        int ok = is_int64(&buf[2]) && is_f64(buf[0].format) && is_f64(buf[1].format) &&
                 is_f64(buf[3].format) && k >= 1 && c >= 1 && buf[1].len == buf[0].len &&
                 buf[3].len == k * c * 8 && starts[0] == 0;
        Py_ssize_t longest = 0;
        for (Py_ssize_t q = 0; ok && q < k; q++) {
            const Py_ssize_t end = q + 1 < k ? (Py_ssize_t)starts[q + 1] : rows;
            ok = (Py_ssize_t)starts[q] < end && end <= rows;
            longest = ok && end - starts[q] > longest ? end - (Py_ssize_t)starts[q] : longest;
        }
        double *row = ok ? PyMem_RawMalloc((size_t)longest * sizeof(double)) : NULL;
        if (!ok)
            PyErr_SetString(PyExc_ValueError,
                            "batch_residuals needs float64 f, u (rows x c), increasing int64 "
                            "starts from 0 inside the rows and out (batches x c)");
        else if (row == NULL)
            PyErr_NoMemory();
        else {
            Py_BEGIN_ALLOW_THREADS
            batch_residuals(buf[0].buf, buf[1].buf, starts, k, rows, c, row, buf[3].buf);
            Py_END_ALLOW_THREADS
        }
        PyMem_RawFree(row);
    }
    return released(buf, got);
}

PyDoc_STRVAR(probe_divergence_doc,
"probe_divergence(up, at, u, flat, w, shift, out)\n"
"\n"
"sure.ProbeWindows.divergence's sums, bit for bit: for the m values of the int64\n"
"indices at (into the C-contiguous buffer up, float32 widened exactly or float64)\n"
"and flat (into the float64 buffer u) and of the float64 weights w, the value i is\n"
"d = up[at[i]] + shift[i % c] (c = len(shift); no shift where shift is empty),\n"
"d = d - u[flat[i]], d = d * w[i], in that order; the values, m / K rows of\n"
"K = len(out), are summed down the rows from 0.0 (NumPy's sum over axis 0) into\n"
"out.  Releases the GIL.");

#define PD_ROWS 64 /* probe_divergence's rows at a time: their indices stay in the cache */

/* probe_divergence's loop: the rows in blocks of PD_ROWS, each block column by column (a
   core's rows in turn; each column's sum in the rows' order all along: the bits of the
   rows one after the other); the indices checked a block at a time */
#define PROBE_DIVERGENCE(T)                                                                \
    static int probe_divergence_##T(const T *up, Py_ssize_t nup, const int64_t *at,        \
                                    const double *u, Py_ssize_t nu, const int64_t *flat,   \
                                    const double *w, const double *shift, Py_ssize_t c,    \
                                    Py_ssize_t m, Py_ssize_t K, double *out)               \
    {                                                                                      \
        const Py_ssize_t rows = m / K;                                                     \
        for (Py_ssize_t j = 0; j < K; j++)                                                 \
            out[j] = 0.0;                                                                  \
        for (Py_ssize_t r0 = 0; r0 < rows; r0 += PD_ROWS) {                                \
            const Py_ssize_t r1 = r0 + PD_ROWS < rows ? r0 + PD_ROWS : rows;               \
            int bad = 0;                                                                   \
            for (Py_ssize_t i = r0 * K; i < r1 * K; i++)                                   \
                bad |= (uint64_t)at[i] >= (uint64_t)nup || (uint64_t)flat[i] >= (uint64_t)nu; \
            if (bad)                                                                       \
                return -1;                                                                 \
            for (Py_ssize_t j = 0; j < K; j++) {                                           \
                double sum = out[j];                                                       \
                const double s = c ? shift[j % c] : 0.0;                                   \
                for (Py_ssize_t i = r0 * K + j; i < r1 * K; i += K) {                      \
                    double d = (double)up[at[i]];                                          \
                    if (c)                                                                 \
                        d = d + s;                                                         \
                    d = d - u[flat[i]];                                                    \
                    d = d * w[i];                                                          \
                    sum = sum + d;                                                         \
                }                                                                          \
                out[j] = sum;                                                              \
            }                                                                              \
        }                                                                                  \
        return 0;                                                                          \
    }
PROBE_DIVERGENCE(float)
PROBE_DIVERGENCE(double)

static PyObject *py_probe_divergence(PyObject *self, PyObject *args)
{
    PyObject *objs[7];
    Py_buffer buf[7];
    int got = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOOOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4],
                          &objs[5], &objs[6]))
        return NULL;
    got = get_buffers(objs, buf, 7);
    if (got == 7) {
        const int f32 = is_f32(buf[0].format);
        const Py_ssize_t m = buf[1].len / 8, K = buf[6].len / 8, c = buf[5].len / 8;
        int ok = (f32 || is_f64(buf[0].format)) && is_int64(&buf[1]) && is_f64(buf[2].format) &&
                 is_int64(&buf[3]) && is_f64(buf[4].format) && is_f64(buf[5].format) &&
                 is_f64(buf[6].format) && buf[3].len == buf[1].len && buf[4].len == m * 8 &&
                 K >= 1 && m % K == 0 && (c == 0 || K % c == 0);
        int bad = 0;
        if (!ok) {
            PyErr_SetString(PyExc_ValueError,
                            "probe_divergence needs float32 or float64 up, int64 at and flat "
                            "and float64 w of one length, float64 u, shift (c, dividing "
                            "len(out), or empty) and out (dividing the length)");
        } else {
            const Py_ssize_t nup = buf[0].len / (f32 ? 4 : 8), nu = buf[2].len / 8;
            Py_BEGIN_ALLOW_THREADS
            if (f32)
                bad = probe_divergence_float(buf[0].buf, nup, buf[1].buf, buf[2].buf, nu,
                                             buf[3].buf, buf[4].buf, buf[5].buf, c, m, K,
                                             buf[6].buf);
            else
                bad = probe_divergence_double(buf[0].buf, nup, buf[1].buf, buf[2].buf, nu,
                                              buf[3].buf, buf[4].buf, buf[5].buf, c, m, K,
                                              buf[6].buf);
            Py_END_ALLOW_THREADS
            if (bad)
                PyErr_SetString(PyExc_IndexError, "probe_divergence: an index out of range");
        }
    }
    return released(buf, got);
}

/* ---- A checking pass's range of every column ----------------------------------------- */

PyDoc_STRVAR(range_doc,
"columns_range(x) -> tuple of (minimum, maximum, nan) per column\n"
"\n"
"The extremes of every column of x (k >= 1 rows x C <= 16 channels, float64\n"
"or float32, C-contiguous; as float64) in one walk over the rows as they lie\n"
"in memory; nan: the column holds a NaN (its extremes are then those of the\n"
"other values).  Releases the GIL.");

#if defined(__GNUC__)
/* The lanes of a walk of columns_range over the first m rows of x (L = 8C values per
   group of 8 rows, in vectors VT of W values, VI their masks): running extremes l, h
   and NaN flags bad, per lane */
#define RANGE_LANES(VT, VI, W, PICK)                                                       \
    do {                                                                                   \
        const Py_ssize_t V_ = L / (W);                                                     \
        for (Py_ssize_t v = 0; v < V_; v++) {                                              \
            l[v] = (VT){0} + INFINITY;                                                     \
            h[v] = (VT){0} - INFINITY;                                                     \
            bad[v] = (VI){0};                                                              \
        }                                                                                  \
        for (Py_ssize_t g = 0; g < m * C; g += L)                                          \
            for (Py_ssize_t v = 0; v < V_; v++) {                                          \
                VT a;                                                                      \
                memcpy(&a, x + g + (W) * v, sizeof a);                                     \
                l[v] = PICK(a < l[v], a, l[v]);                                            \
                h[v] = PICK(a > h[v], a, h[v]);                                            \
                bad[v] |= (VI)(a != a);                                                    \
            }                                                                              \
    } while (0)
#endif

/* Lanes of a walk of columns_range that holds no rows yet (without vectors). */
static inline void lanes_empty(Py_ssize_t L, double *ls, double *hs, int64_t *bs)
{
    for (Py_ssize_t e = 0; e < L; e++) {
        ls[e] = INFINITY;
        hs[e] = -INFINITY;
        bs[e] = 0;
    }
}

/* The end of a walk of columns_range: each column's extremes and NaN flag from the
   L = 8C lanes (element e of a group of 8 rows is column e % C) and the rows from m on
   (x float32 where f32, widened as read: the same values); inlined with f32 a constant */
static RD_INLINE inline void range_end(const void *x, int f32, Py_ssize_t m, Py_ssize_t k,
                                       Py_ssize_t C, const double *ls, const double *hs,
                                       const int64_t *bs, double *lo, double *hi, int *nan)
{
    const Py_ssize_t L = 8 * C;
    for (Py_ssize_t c = 0; c < C; c++) {
        double a = INFINITY, b = -INFINITY;
        int n = 0;
        for (Py_ssize_t e = c; e < L; e += C) {
            a = ls[e] < a ? ls[e] : a;
            b = hs[e] > b ? hs[e] : b;
            n |= bs[e] != 0;
        }
        for (Py_ssize_t j = m; j < k; j++) {
            double v = f32 ? (double)((const float *)x)[j * C + c] : ((const double *)x)[j * C + c];
            a = v < a ? v : a;
            b = v > b ? v : b;
            n |= v != v;
        }
        lo[c] = a;
        hi[c] = b;
        nan[c] = n;
    }
}

static RD_CLONES void range_all(const double *x, Py_ssize_t k, Py_ssize_t C, double *lo,
                                double *hi, int *nan)
{
    const Py_ssize_t L = 8 * C; /* lanes: element e of a group of 8 rows is column e % C */
    double ls[8 * ALL_MAX_C], hs[8 * ALL_MAX_C];
    int64_t bs[8 * ALL_MAX_C];
    Py_ssize_t m = 0; /* the rows before m are in the lanes */
#if defined(__GNUC__)
    v4d l[2 * ALL_MAX_C], h[2 * ALL_MAX_C];
    v4i bad[2 * ALL_MAX_C];
    m = k - k % 8;
    RANGE_LANES(v4d, v4i, 4, pick);
    memcpy(ls, l, (size_t)L * sizeof(double));
    memcpy(hs, h, (size_t)L * sizeof(double));
    memcpy(bs, bad, (size_t)L * sizeof(int64_t));
#else
    lanes_empty(L, ls, hs, bs);
#endif
    range_end(x, 0, m, k, C, ls, hs, bs, lo, hi, nan);
}

/* range_all of float32 values: the lanes in float32 (an extreme of the values is the
   same value widened or not), widened at the end */
static RD_CLONES void range_all32(const float *x, Py_ssize_t k, Py_ssize_t C, double *lo,
                                  double *hi, int *nan)
{
    const Py_ssize_t L = 8 * C;
    double ls[8 * ALL_MAX_C], hs[8 * ALL_MAX_C];
    int64_t bs[8 * ALL_MAX_C];
    Py_ssize_t m = 0;
#if defined(__GNUC__)
    float lf[8 * ALL_MAX_C], hf[8 * ALL_MAX_C];
    int32_t bf[8 * ALL_MAX_C];
    v8f l[ALL_MAX_C], h[ALL_MAX_C];
    v8s bad[ALL_MAX_C];
    m = k - k % 8;
    RANGE_LANES(v8f, v8s, 8, pick8);
    memcpy(lf, l, (size_t)L * sizeof(float));
    memcpy(hf, h, (size_t)L * sizeof(float));
    memcpy(bf, bad, (size_t)L * sizeof(int32_t));
    for (Py_ssize_t e = 0; e < L; e++) {
        ls[e] = lf[e];
        hs[e] = hf[e];
        bs[e] = bf[e];
    }
#else
    lanes_empty(L, ls, hs, bs);
#endif
    range_end(x, 1, m, k, C, ls, hs, bs, lo, hi, nan);
}

typedef struct {
    double lo[ALL_MAX_C], hi[ALL_MAX_C];
    int nan[ALL_MAX_C];
} Ranges;

static PyObject *range_item(const void *ctx, Py_ssize_t c)
{
    const Ranges *r = ctx;
    return Py_BuildValue("ddN", r->lo[c], r->hi[c], PyBool_FromLong(r->nan[c]));
}

static PyObject *py_range(PyObject *self, PyObject *args)
{
    PyObject *xo;
    Py_buffer x;
    Ranges r;
    (void)self;
    Py_ssize_t k, C;
    int f32;
    if (!PyArg_ParseTuple(args, "O", &xo) || get_rows_either(xo, &x, &k, &C, &f32) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    if (f32)
        range_all32(x.buf, k, C, r.lo, r.hi, r.nan);
    else
        range_all(x.buf, k, C, r.lo, r.hi, r.nan);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&x);
    return per_column(C, range_item, &r);
}

/* ---- A whole signal's total variation, in NumPy's order ----------------------------- */

PyDoc_STRVAR(variation_doc,
"columns_variation(x, piece) -> tuple of sum_i |x[i+1, c] - x[i, c]| per column c\n"
"\n"
"x: k >= 1 rows x 2 <= C <= 16 channels, float64, C-contiguous.  Summed as\n"
"stability.total_variation sums with NumPy: the differences in pieces of `piece`\n"
"rows, each piece's sum along axis 0 in row order from 0.0 (NumPy's reduction of\n"
"a C-contiguous piece over its rows, column by column), the pieces' sums added in\n"
"order from 0.0.  The same bits, without the pieces' arrays.  Releases the GIL.");

static RD_CLONES void variation_all(const double *x, Py_ssize_t k, Py_ssize_t C,
                                    Py_ssize_t piece, double *total)
{
    for (Py_ssize_t c = 0; c < C; c++)
        total[c] = 0.0;
    for (Py_ssize_t a = 0; a < k - 1; a += piece) {
        const Py_ssize_t b = k - 1 - a > piece ? a + piece : k - 1;
        double s[ALL_MAX_C];
        for (Py_ssize_t c = 0; c < C; c++)
            s[c] = 0.0;
        for (Py_ssize_t j = a; j < b; j++) {
            const double *r = x + j * C;
            for (Py_ssize_t c = 0; c < C; c++)
                s[c] += fabs(r[C + c] - r[c]);
        }
        for (Py_ssize_t c = 0; c < C; c++)
            total[c] += s[c];
    }
}

static PyObject *float_item(const void *ctx, Py_ssize_t c)
{
    return PyFloat_FromDouble(((const double *)ctx)[c]);
}

static PyObject *py_variation(PyObject *self, PyObject *args)
{
    PyObject *xo;
    Py_ssize_t piece;
    Py_buffer x;
    double total[ALL_MAX_C];
    (void)self;
    Py_ssize_t k, C;
    if (!PyArg_ParseTuple(args, "On", &xo, &piece) || get_rows(xo, &x, 2, &k, &C) < 0)
        return NULL;
    if (piece < 1) {
        PyErr_SetString(PyExc_ValueError, "piece must be >= 1");
    } else {
        Py_BEGIN_ALLOW_THREADS
        variation_all(x.buf, k, C, piece, total);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&x);
    if (PyErr_Occurred())
        return NULL;
    return per_column(C, float_item, total);
}

static PyObject *py_simd(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
#if RD_HAVE_CLONES
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v3"))
        return PyUnicode_FromString("x86-64-v3 (AVX2, FMA)");
#endif
    return PyUnicode_FromString("generic");
}

static PyObject *py_pm_loop(PyObject *self, PyObject *args)
{
    (void)self;
    int single;
    Py_ssize_t C;
    if (!PyArg_ParseTuple(args, "pn", &single, &C))
        return NULL;
    if (C < 1) {
        PyErr_SetString(PyExc_ValueError, "channels must be >= 1");
        return NULL;
    }
    int avx2 = single ? PM_AVX2_TAKES(f32, C) : PM_AVX2_TAKES(f64, C);
    return PyUnicode_FromString(avx2 ? "avx2" : "strips");
}

/* ---- The bumps family's weighted sum (resdenoise/_families.py bumps_sum) ------------- */

PyDoc_STRVAR(bump_sum_doc,
"bump_sum(c, terms, out)\n"
"\n"
"out = sum_k c[k] terms[k] for the C-contiguous float64 buffers c (K values),\n"
"terms (K x n) and out (n, writable), in the order of _families.bumps_sum:\n"
"out = terms[0] c[0], then out + terms[k] c[k] for k = 1 .. K-1, value by\n"
"value, each product and sum rounded (built without fused multiply-add):\n"
"NumPy's bits, in one pass over blocks of values that stay in the L1 cache\n"
"instead of 2K - 1 passes.  Releases the GIL.");

#define BUMP_SUM_LOOP(NAME, ATTR)                                                              \
    ATTR static void NAME(const double *c, const double *terms, double *out, Py_ssize_t n,    \
                          Py_ssize_t K)                                                        \
    {                                                                                          \
        enum { B = 512 }; /* values a block */                                                 \
        for (Py_ssize_t lo = 0; lo < n; lo += B) {                                             \
            const Py_ssize_t m = n - lo < B ? n - lo : B;                                      \
            double *restrict o = out + lo;                                                     \
            const double *restrict t = terms + lo;                                             \
            const double c0 = c[0];                                                            \
            for (Py_ssize_t i = 0; i < m; i++)                                                 \
                o[i] = t[i] * c0;                                                              \
            Py_ssize_t k = 1;                                                                  \
            for (; k + 3 < K; k += 4) { /* four terms a pass over o, in their order */         \
                const double *restrict r0 = terms + k * n + lo, *restrict r1 = r0 + n;         \
                const double *restrict r2 = r1 + n, *restrict r3 = r2 + n;                     \
                const double c0k = c[k], c1k = c[k + 1], c2k = c[k + 2], c3k = c[k + 3];       \
                for (Py_ssize_t i = 0; i < m; i++)                                             \
                    o[i] = (((o[i] + r0[i] * c0k) + r1[i] * c1k) + r2[i] * c2k) + r3[i] * c3k; \
            }                                                                                  \
            for (; k < K; k++) {                                                               \
                const double ck = c[k], *restrict row = terms + k * n + lo;                    \
                for (Py_ssize_t i = 0; i < m; i++)                                             \
                    o[i] = o[i] + row[i] * ck;                                                 \
            }                                                                                  \
        }                                                                                      \
    }
BUMP_SUM_LOOP(bump_sum_any, )
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
BUMP_SUM_LOOP(bump_sum_avx2, __attribute__((target("avx2"))))
#define BUMP_SUM(c, t, o, n, K) (use_avx2 ? bump_sum_avx2 : bump_sum_any)(c, t, o, n, K)
#else
#define BUMP_SUM(c, t, o, n, K) bump_sum_any(c, t, o, n, K)
#endif

static PyObject *py_bump_sum(PyObject *self, PyObject *args)
{
    PyObject *co, *to, *oo;
    Py_buffer c, t, o;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO", &co, &to, &oo))
        return NULL;
    if (get_f64(co, &c, "c") < 0)
        return NULL;
    if (get_f64(to, &t, "terms") < 0) {
        PyBuffer_Release(&c);
        return NULL;
    }
    if (PyObject_GetBuffer(oo, &o, PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&t);
        PyBuffer_Release(&c);
        return NULL;
    }
    const Py_ssize_t K = c.len / 8, n = o.len / 8;
    if (!is_f64(o.format) || K < 1 || n < 1 || t.len != K * o.len) {
        PyErr_SetString(PyExc_ValueError,
                        "bump_sum needs float64 c (K > 0), terms (K x n) and out (n > 0)");
    } else {
        Py_BEGIN_ALLOW_THREADS
        BUMP_SUM(c.buf, t.buf, o.buf, n, K);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&o);
    PyBuffer_Release(&t);
    PyBuffer_Release(&c);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"run", py_run, METH_VARARGS, run_doc},
    {"run_sweeps", py_run_sweeps, METH_VARARGS, run_sweeps_doc},
    {"exp2_nonpositive", py_exp, METH_VARARGS, exp_doc},
    {"bump_rows", py_bump_rows, METH_VARARGS, bump_rows_doc},
    {"bump_sum", py_bump_sum, METH_VARARGS, bump_sum_doc},
    {"window_energies32", py_energies, METH_VARARGS, energies_doc},
    {"nonzero_thirds", py_nonzero_thirds, METH_VARARGS, nonzero_thirds_doc},
    {"diff_energies32", py_diff_energies, METH_VARARGS, diff_energies_doc},
    {"median_residual", py_median_residual, METH_VARARGS, median_residual_doc},
    {"column_stats", py_stats, METH_VARARGS, stats_doc},
    {"columns_stats", py_stats_all, METH_VARARGS, stats_all_doc},
    {"sure_sums", py_sure, METH_VARARGS, sure_doc},
    {"batch_residuals", py_batch_residuals, METH_VARARGS, batch_residuals_doc},
    {"probe_divergence", py_probe_divergence, METH_VARARGS, probe_divergence_doc},
    {"columns_range", py_range, METH_VARARGS, range_doc},
    {"columns_variation", py_variation, METH_VARARGS, variation_doc},
    {"simd", py_simd, METH_NOARGS, "The instruction set the step loops run with."},
    {"pm_loop", py_pm_loop, METH_VARARGS,
     "pm_loop(float32, channels): the loop Perona-Malik's blocks take for that dtype\n"
     "(float32 True, float64 False) and channel count, 'avx2' or 'strips' (where c / h^2\n"
     "is in range: else its scaled form, always in strips)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "resdenoise._kernels",
    .m_doc = "Compiled step loops of the diffusion-block engine (see resdenoise/engine.py).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__kernels(void)
{
    use_avx2 = have_avx2();
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    PyObject *names = PyTuple_New(N_FAMILIES);
    if (names == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    for (int i = 0; i < N_FAMILIES; i++)
        PyTuple_SET_ITEM(names, i, PyUnicode_FromString(FAMILY_NAMES[i]));
    if (PyModule_AddObject(m, "FAMILIES", names) < 0) {
        Py_DECREF(names);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
