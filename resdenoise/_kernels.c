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
 * -ffp-contract=off, so every operation is one correctly rounded IEEE
 * operation whether the compiler vectorises it or not, and the AVX2 and the
 * generic builds give the same bits.  Hence:
 *
 *   * families made of + - * / sqrt and comparisons (linear, charbonnier,
 *     soft, garrote, hard, softsign) give the NumPy engine's numbers bit for
 *     bit;
 *   * perona-malik uses the exponential below instead of libm's: a few units
 *     in the last place from the NumPy engine, identical across tilings,
 *     threads, chunks and machines.
 *
 * Every loop is branch-free so that GCC vectorises it; x86-64 gets an AVX2
 * clone chosen at load time.  The GIL is released while the blocks run, so
 * the engine's tiles run in parallel threads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

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
 * 2^t for t <= 0, for Perona-Malik's g = exp(-d^2/(2 lam^2)) = 2^(d^2 c)
 * with c = -log2(e)/(2 lam^2).
 *
 * t = k + f with k = round(t) and |f| <= 1/2; 2^f = exp(f ln2) by its Taylor
 * polynomial (coefficients ln(2)^i/i!, correctly rounded) of degree 13
 * (float: 7), whose truncation error is below 1e-17 (float: 4e-9)
 * relative; 2^k is built in the exponent bits.  The polynomial is evaluated
 * by Estrin's scheme with fused multiply-adds, for short dependency chains.
 * fma() is correctly rounded everywhere (an instruction with AVX2/FMA or on
 * ARM, libm's exact emulation otherwise), so every build gives the same
 * bits.  Below the smallest normal result 2^t is returned as +0 (an
 * absolute error under 2.3e-308, float 1.2e-38).  For every t <= 0 the
 * result lies in [0, 1], as 2^t does: g never leaves the range the
 * stability theorems need.
 *
 * It is split in two, the range reduction and the polynomial, so that the
 * step loop can run them as two short loops over a strip of the signal:
 * one long chain of dependent operations per value would leave the vector
 * units waiting.
 * ---------------------------------------------------------------------- */

static RD_INLINE inline uint64_t bits64(double x) { uint64_t b; memcpy(&b, &x, 8); return b; }
static RD_INLINE inline double from_bits64(uint64_t b) { double x; memcpy(&x, &b, 8); return x; }
static RD_INLINE inline uint32_t bits32(float x) { uint32_t b; memcpy(&b, &x, 4); return b; }
static RD_INLINE inline float from_bits32(uint32_t b) { float x; memcpy(&x, &b, 4); return x; }

/* t -> (f, 2^k), or (f, +0) below the normal range; 2^t = 2^f * 2^k. */
static RD_INLINE inline void exp2_reduce64(double t, double *f, double *scale)
{
    const double lowest = -1022.0, shift = 0x1.8p52;
    double tc = t < lowest ? lowest : t;
    double kd = tc + shift; /* rounds t to the integer k, held in the low bits */
    uint64_t ki = bits64(kd);
    *f = tc - (kd - shift);
    double s = from_bits64(bits64(1.0) + (ki << 52));
    *scale = t < lowest ? 0.0 : s;
}

static RD_INLINE inline double exp2_poly64(double f) /* 2^f for |f| <= 1/2 */
{
    double f2 = f * f, f4 = f2 * f2, f8 = f4 * f4;
    double p01 = fma(0x1.62e42fefa39efp-1, f, 1.0);
    double p23 = fma(0x1.c6b08d704a0c0p-5, f, 0x1.ebfbdff82c58fp-3);
    double p45 = fma(0x1.5d87fe78a6731p-10, f, 0x1.3b2ab6fba4e77p-7);
    double p67 = fma(0x1.ffcbfc588b0c7p-17, f, 0x1.430912f86c787p-13);
    double p89 = fma(0x1.b5253d395e7c4p-24, f, 0x1.62c0223a5c824p-20);
    double pab = fma(0x1.e8cac7351bb25p-32, f, 0x1.e4cf5158b8ecap-28);
    double pcd = fma(0x1.816193166d0f9p-40, f, 0x1.c3bd650fc2986p-36);
    double p03 = fma(p23, f2, p01), p47 = fma(p67, f2, p45), p8b = fma(pab, f2, p89);
    double p07 = fma(p47, f4, p03), p8d = fma(pcd, f4, p8b);
    return fma(p8d, f8, p07);
}

static RD_INLINE inline void exp2_reduce32(float t, float *f, float *scale)
{
    const float lowest = -126.0f, shift = 0x1.8p23f;
    float tc = t < lowest ? lowest : t;
    float kd = tc + shift;
    uint32_t ki = bits32(kd);
    *f = tc - (kd - shift);
    float s = from_bits32(bits32(1.0f) + (ki << 23));
    *scale = t < lowest ? 0.0f : s;
}

static RD_INLINE inline float exp2_poly32(float f)
{
    float f2 = f * f, f4 = f2 * f2;
    float p01 = fmaf(0x1.62e430p-1f, f, 1.0f);
    float p23 = fmaf(0x1.c6b08ep-5f, f, 0x1.ebfbe0p-3f);
    float p45 = fmaf(0x1.5d87fep-10f, f, 0x1.3b2ab6p-7f);
    float p67 = fmaf(0x1.ffcbfcp-17f, f, 0x1.430912p-13f);
    float p03 = fmaf(p23, f2, p01), p47 = fmaf(p67, f2, p45);
    return fmaf(p47, f4, p03);
}

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
 * registry's flux kernels (nonlinearities._xxx_phi_into); the constants
 * lam and c0 are rounded to the working precision as NumPy rounds a Python
 * float met by an array.
 * ---------------------------------------------------------------------- */

#define STRIP 256

#define DEFINE_STEPS(T, SUFFIX, ABS, SQRT)                                                 \
    static RD_INLINE inline void update_##SUFFIX(T *restrict w, const T *restrict g,       \
                                                 const T *restrict g_back, Py_ssize_t m)   \
    {                                                                                      \
        for (Py_ssize_t j = 0; j < m; j++)                                                 \
            w[j] = (w[j] + g[j]) - g_back[j];                                              \
    }                                                                                      \
                                                                                           \
    /* Perona-Malik's fluxes of one strip, in two passes. */                               \
    static RD_INLINE inline void pm_strip_##SUFFIX(const T *restrict v, const T *restrict w, \
                                                   T *restrict out, Py_ssize_t m, T inv_h, \
                                                   T scale, T c0)                          \
    {                                                                                      \
        T dd[STRIP], fr[STRIP], sc[STRIP];                                                 \
        for (Py_ssize_t j = 0; j < m; j++) {                                               \
            T d = (w[j] - v[j]) * inv_h;                                                   \
            dd[j] = d;                                                                     \
            exp2_reduce_##SUFFIX((d * d) * c0, fr + j, sc + j);                            \
        }                                                                                  \
        for (Py_ssize_t j = 0; j < m; j++)                                                 \
            out[j] = (dd[j] * (exp2_poly_##SUFFIX(fr[j]) * sc[j])) * scale;                \
    }                                                                                      \
                                                                                           \
    /* Fluxes of one strip: v = u + j0, w = v + C (the right neighbours). */               \
    static RD_INLINE inline void strip_##SUFFIX(int family, const T *restrict v,           \
                                                const T *restrict w, T *restrict out,      \
                                                Py_ssize_t m, T inv_h, T scale, T lam,     \
                                                T c0)                                      \
    {                                                                                      \
        switch (family) {                                                                  \
        case LINEAR:                                                                       \
            FLUX_LOOP(T, d);                                                               \
            break;                                                                         \
        case CHARBONNIER: /* d / sqrt((d/lam)^2 + 1) */                                    \
            FLUX_LOOP(T, d / SQRT((d / lam) * (d / lam) + (T)1));                          \
            break;                                                                         \
        case SOFT: /* clip(d, -lam, lam) */                                                \
            FLUX_LOOP(T, d < -lam ? -lam : (d > lam ? lam : d));                           \
            break;                                                                         \
        case PERONA_MALIK: /* d * 2^(d*d * c0), c0 = -log2(e) / (2 lam^2) */               \
            pm_strip_##SUFFIX(v, w, out, m, inv_h, scale, c0);                             \
            break;                                                                         \
        case GARROTE: /* |d| <= lam ? d : c0 / d, c0 = lam^2 */                            \
            FLUX_LOOP(T, ABS(d) <= lam ? d : c0 / d);                                      \
            break;                                                                         \
        case HARD: /* |d| <= lam ? d : +0 */                                               \
            FLUX_LOOP(T, ABS(d) <= lam ? d : (T)0);                                        \
            break;                                                                         \
        case SOFTSIGN: /* d / (|d| / lam + 1) */                                           \
            FLUX_LOOP(T, d / (ABS(d) / lam + (T)1));                                       \
            break;                                                                         \
        }                                                                                  \
    }                                                                                      \
                                                                                           \
    RD_CLONES static void run_##SUFFIX(int family, T *u, T *g, Py_ssize_t rows,            \
                                       Py_ssize_t C, T inv_h, T scale, T lam, T c0,        \
                                       long blocks)                                        \
    {                                                                                      \
        Py_ssize_t n = (rows - 1) * C;                                                     \
        for (Py_ssize_t j = 0; j < C; j++)                                                 \
            g[j] = (T)0;                                                                   \
        for (long b = 0; b < blocks; b++) {                                                \
            for (Py_ssize_t j0 = 0; j0 < n; j0 += STRIP) {                                 \
                Py_ssize_t m = n - j0 < STRIP ? n - j0 : STRIP;                            \
                if (inv_h == (T)1) /* the same numbers, without the multiplications */     \
                    strip_##SUFFIX(family, u + j0, u + j0 + C, g + C + j0, m, (T)1, scale, \
                                   lam, c0);                                               \
                else                                                                       \
                    strip_##SUFFIX(family, u + j0, u + j0 + C, g + C + j0, m, inv_h,       \
                                   scale, lam, c0);                                        \
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

#define exp2_reduce_f64 exp2_reduce64
#define exp2_poly_f64 exp2_poly64
#define exp2_reduce_f32 exp2_reduce32
#define exp2_poly_f32 exp2_poly32

/* Everything above is inlined into each clone of run_xx, so it is
 * vectorised for each instruction set. */
DEFINE_STEPS(double, f64, fabs, sqrt)
DEFINE_STEPS(float, f32, fabsf, sqrtf)

/* ------------------------------------------------------------------------
 * Python interface
 * ---------------------------------------------------------------------- */

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
    if (family < 0 || family >= N_FAMILIES) {
        PyErr_Format(PyExc_ValueError, "unknown family code %d", family);
        return NULL;
    }
    if (C < 1 || blocks < 0) {
        PyErr_SetString(PyExc_ValueError, "channels must be >= 1 and blocks >= 0");
        return NULL;
    }
    if (get_buffer(uo, &u, "u") < 0)
        return NULL;
    if (get_buffer(wo, &w, "work") < 0) {
        PyBuffer_Release(&u);
        return NULL;
    }
    Py_ssize_t size = u.len / u.itemsize, rows = size / C;
    const char *problem = NULL;
    if (strcmp(u.format, w.format) != 0)
        problem = "u and work must have the same dtype";
    else if (rows * C != size || rows < 2)
        problem = "u must hold rows x channels values with rows >= 2";
    else if (w.len / w.itemsize < size)
        problem = "work must hold at least rows * channels values";
    if (problem != NULL) {
        PyErr_SetString(PyExc_ValueError, problem);
        PyBuffer_Release(&w);
        PyBuffer_Release(&u);
        return NULL;
    }
    /* Constants rounded as NumPy rounds a Python float met by an array. */
    double c0 = family == PERONA_MALIK ? -0x1.71547652b82fep0 / (2.0 * lam * lam) : lam * lam;
    if (u.itemsize == 8) {
        Py_BEGIN_ALLOW_THREADS
        run_f64(family, (double *)u.buf, (double *)w.buf, rows, C, inv_h, scale, lam, c0, blocks);
        Py_END_ALLOW_THREADS
    } else {
        Py_BEGIN_ALLOW_THREADS
        run_f32(family, (float *)u.buf, (float *)w.buf, rows, C, (float)inv_h, (float)scale,
                (float)lam, (float)c0, blocks);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&w);
    PyBuffer_Release(&u);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(exp_doc,
"exp2_nonpositive(x, out)\n"
"\n"
"out = 2**x elementwise for x <= 0 with the kernels' own exponential\n"
"(float64 or float32 buffers of equal length); for tests.");

static PyObject *py_exp(PyObject *self, PyObject *args)
{
    PyObject *xo, *oo;
    Py_buffer x, o;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &xo, &oo))
        return NULL;
    if (get_buffer(xo, &x, "x") < 0)
        return NULL;
    if (get_buffer(oo, &o, "out") < 0) {
        PyBuffer_Release(&x);
        return NULL;
    }
    if (strcmp(x.format, o.format) != 0 || x.len != o.len) {
        PyErr_SetString(PyExc_ValueError, "x and out must have the same dtype and length");
    } else if (x.itemsize == 8) {
        const double *a = x.buf;
        double *b = o.buf;
        for (Py_ssize_t i = 0; i < x.len / 8; i++) {
            double f, scale;
            exp2_reduce64(a[i], &f, &scale);
            b[i] = exp2_poly64(f) * scale;
        }
    } else {
        const float *a = x.buf;
        float *b = o.buf;
        for (Py_ssize_t i = 0; i < x.len / 4; i++) {
            float f, scale;
            exp2_reduce32(a[i], &f, &scale);
            b[i] = exp2_poly32(f) * scale;
        }
    }
    PyBuffer_Release(&o);
    PyBuffer_Release(&x);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
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

static PyMethodDef methods[] = {
    {"run", py_run, METH_VARARGS, run_doc},
    {"exp2_nonpositive", py_exp, METH_VARARGS, exp_doc},
    {"simd", py_simd, METH_NOARGS, "The instruction set the step loops run with."},
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
