/* The few pixel loops of agreement that numpy needs several passes for, in one pass each.
 *
 * Optional: setup.py builds this module when a C compiler is there; agreement._native falls back
 * to numpy otherwise, with identical results (tests/test_native.py compares both). Arrays come in
 * through the buffer protocol (C-contiguous, dtype checked by the Python callers), so the build
 * needs no numpy headers. Every loop runs without the GIL.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int check_size(Py_buffer *buf, Py_ssize_t items, Py_ssize_t itemsize, const char *what) {
    if (items < 0 || itemsize < 1 || items > PY_SSIZE_T_MAX / itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: %zd items of %zd bytes is out of range", what, items,
                     itemsize);
        return -1;
    }
    if (buf->len != items * itemsize) {
        PyErr_Format(PyExc_ValueError, "%s must hold %zd items of %zd bytes, got %zd bytes", what,
                     items, itemsize, buf->len);
        return -1;
    }
    return 0;
}

/* h x w items fit in a Py_ssize_t (h, w >= 0): checked before h * w is formed. */
static int check_shape(Py_ssize_t h, Py_ssize_t w) {
    if (h < 0 || w < 0 || (w > 0 && h > PY_SSIZE_T_MAX / w)) {
        PyErr_SetString(PyExc_ValueError, "h and w must be >= 0 and h * w must fit in memory");
        return -1;
    }
    return 0;
}

/* Label maps come in three widths: uint8 and uint16 (compact ids of images with fewer than 255
 * or 65,535 segments: a quarter or half of the memory) and int32. Each loop over labels is
 * written once as a macro and instantiated for the three (suffixes u8, u16, i32). */

/* SSE2 (every x86-64) compares 16 bytes at once; elsewhere the loops below are portable C. */
#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define HAVE_SSE2 1
#define CTZ(x) __builtin_ctz(x)
#else
#define HAVE_SSE2 0
#define CTZ(x) 0
#endif

/* Bit i set: byte i of the 16 at p equals that at q (0 without SSE2: never called). */
static inline unsigned equal16(const void *p, const void *q) {
#if HAVE_SSE2
    __m128i x = _mm_loadu_si128((const __m128i *)p), y = _mm_loadu_si128((const __m128i *)q);
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, y));
#else
    (void)p, (void)q;
    return 0;
#endif
}

/* The end of the run of v that starts at i (p[i] == v): 16 bytes compared at once with SSE2,
 * else blocks of 16 items. */
#define DEFINE_RUN_END(T, S)                                                                   \
    static inline Py_ssize_t run_end_##S(const T *p, Py_ssize_t i, Py_ssize_t n, T v) {         \
        Py_ssize_t j = i + 1;                                                                  \
        const Py_ssize_t per = 16 / (Py_ssize_t)sizeof(T);                                     \
        if (HAVE_SSE2 && j + per <= n) {                                                       \
            T pattern[16 / sizeof(T)];                                                         \
            for (Py_ssize_t k = 0; k < per; k++) pattern[k] = v;                               \
            for (; j + per <= n; j += per) {                                                   \
                unsigned eq = equal16(p + j, pattern);                                         \
                if (eq != 0xFFFFu) return j + CTZ(~eq) / (Py_ssize_t)sizeof(T);                \
            }                                                                                  \
        }                                                                                      \
        while (!HAVE_SSE2 && j + 16 <= n) {                                                    \
            uint32_t acc = 0;                                                                  \
            for (int k = 0; k < 16; k++) acc |= (uint32_t)(p[j + k] ^ v);                      \
            if (acc) break;                                                                    \
            j += 16;                                                                           \
        }                                                                                      \
        while (j < n && p[j] == v) j++;                                                        \
        return j;                                                                              \
    }
DEFINE_RUN_END(uint8_t, u8)
DEFINE_RUN_END(uint16_t, u16)
DEFINE_RUN_END(int32_t, i32)

/* Bytes per label -> 0 (unknown width) or the width; the label widths the kernels take. */
static int check_width(Py_ssize_t itemsize, const char *what) {
    if (itemsize == 1 || itemsize == 2 || itemsize == 4) return 0;
    PyErr_Format(PyExc_ValueError, "%s must have 1, 2 or 4 bytes per item, got %zd", what,
                 itemsize);
    return -1;
}

/* out[a[i] * nb + b[i]] += 1; runs of equal pairs counted once; pairs outside the table (a
 * negative int32, a >= na, b >= nb) are not counted but added to *bad. */
#define DEFINE_PAIR_LOOP(T, S)                                                                 \
    static Py_ssize_t pair_loop_##S(const T *pa, const T *pb, Py_ssize_t n, int64_t *table,    \
                                    int64_t na, int64_t nb) {                                  \
        Py_ssize_t i = 0, bad = 0;                                                             \
        while (i < n) {                                                                        \
            T va = pa[i], vb = pb[i];                                                          \
            Py_ssize_t j = run_end_##S(pa, i, n, va), jb = run_end_##S(pb, i, j, vb);          \
            j = jb < j ? jb : j;                                                               \
            int64_t xa = (int64_t)va, xb = (int64_t)vb;                                        \
            if (xa < 0 || xb < 0 || xa >= na || xb >= nb)                                      \
                bad += j - i;                                                                  \
            else                                                                               \
                table[xa * nb + xb] += j - i;                                                  \
            i = j;                                                                             \
        }                                                                                      \
        return bad;                                                                            \
    }
DEFINE_PAIR_LOOP(uint8_t, u8)
DEFINE_PAIR_LOOP(uint16_t, u16)
DEFINE_PAIR_LOOP(int32_t, i32)

/* pair_counts(a, b, nb, out[, itemsize]) -> bad
 * out[a[i] * nb + b[i]] += 1 over maps a and b of one width (itemsize 1: uint8, 2: uint16, 4:
 * int32, the default); out is int64 of size na * nb. Runs of equal pairs (long in label maps)
 * are counted once. Returns the number of pixels whose pair is outside the table (negative or
 * too large); those are not counted. */
static PyObject *pair_counts(PyObject *self, PyObject *args) {
    Py_buffer a, b, out;
    Py_ssize_t nb, itemsize = 4;
    if (!PyArg_ParseTuple(args, "y*y*nw*|n", &a, &b, &nb, &out, &itemsize)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = 0, cells = out.len / 8, bad = 0;
    if (check_width(itemsize, "a and b")) goto done;
    n = a.len / itemsize;
    if (check_size(&a, n, itemsize, "a") || check_size(&b, n, itemsize, "b") ||
        check_size(&out, cells, 8, "out"))
        goto done;
    if (nb <= 0 || cells % nb) {
        PyErr_SetString(PyExc_ValueError, "nb must divide the table size");
        goto done;
    }
    {
        int64_t *table = out.buf;
        int64_t na = cells / nb;
        Py_BEGIN_ALLOW_THREADS
        if (itemsize == 1)
            bad = pair_loop_u8(a.buf, b.buf, n, table, na, nb);
        else if (itemsize == 2)
            bad = pair_loop_u16(a.buf, b.buf, n, table, na, nb);
        else
            bad = pair_loop_i32(a.buf, b.buf, n, table, na, nb);
        Py_END_ALLOW_THREADS
    }
    result = PyLong_FromSsize_t(bad);
done:
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    PyBuffer_Release(&out);
    return result;
}

/* One run of equal ids at a time: its compact value from the hash, written as T. */
#define DEFINE_COMPACT_LOOP(T, S)                                                              \
    static Py_ssize_t compact_loop_##S(const int32_t *pi, Py_ssize_t n, T *po, int64_t *pc,    \
                                       const int32_t *hkey, const int32_t *hval, int bits,     \
                                       uint32_t mask) {                                        \
        Py_ssize_t i = 0, unknown = 0;                                                         \
        while (i < n) {                                                                        \
            int32_t id = pi[i], value = 0;                                                     \
            Py_ssize_t j = run_end_i32(pi, i, n, id);                                          \
            if (id > 0) {                                                                      \
                uint32_t h = ((uint32_t)id * 2654435761u) >> (32 - bits);                      \
                while (hkey[h] && hkey[h] != id) h = (h + 1) & mask;                           \
                value = hkey[h] ? hval[h] : 0;                                                 \
                if (!hkey[h]) unknown += j - i;                                                \
            }                                                                                  \
            for (Py_ssize_t t = i; t < j; t++) po[t] = (T)value;                               \
            pc[value] += j - i;                                                                \
            i = j;                                                                             \
        }                                                                                      \
        return unknown;                                                                        \
    }
DEFINE_COMPACT_LOOP(uint8_t, u8)
DEFINE_COMPACT_LOOP(uint16_t, u16)
DEFINE_COMPACT_LOOP(int32_t, i32)

/* compact(ids, keys, out, counts) -> unknown
 * out[i] = j + 1 where ids[i] == keys[j], 0 on void (0) and on ids not among the keys;
 * counts[j] = pixels of keys[j - 1] (counts[0]: void and unknown). ids int32, keys int64
 * (unique, > 0: the caller checks), out uint8, uint16 or int32 (its width read from its size;
 * it must hold k), counts int64 of size k + 1. An open-addressing hash of the keys; the previous
 * pixel's id is remembered (label maps come in runs). Returns the number of pixels with an
 * unknown id. */
static PyObject *compact(PyObject *self, PyObject *args) {
    Py_buffer ids, keys, out, counts;
    if (!PyArg_ParseTuple(args, "y*y*w*w*", &ids, &keys, &out, &counts)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = ids.len / 4, k = keys.len / 8, unknown = 0;
    Py_ssize_t width = n ? out.len / n : 4;
    int32_t *hkey = NULL, *hval = NULL;
    if (check_size(&ids, n, 4, "ids") || check_size(&keys, k, 8, "keys") ||
        check_width(width, "out") || check_size(&out, n, width, "out") ||
        check_size(&counts, k + 1, 8, "counts"))
        goto done;
    if (k > (1 << 28) || (width == 1 && k > 0xFF) || (width == 2 && k > 0xFFFF)) {
        PyErr_SetString(PyExc_ValueError, "keys must be at most 2**28 and fit the width of out");
        goto done;
    }
    int bits = 4;
    while (((Py_ssize_t)1 << bits) < 2 * k) bits++;
    uint32_t mask = ((uint32_t)1 << bits) - 1;
    hkey = PyMem_Calloc((size_t)mask + 1, sizeof(int32_t));
    hval = PyMem_Calloc((size_t)mask + 1, sizeof(int32_t));
    if (!hkey || !hval) {
        PyErr_NoMemory();
        goto done;
    }
    const int64_t *pk = keys.buf;
    for (Py_ssize_t j = 0; j < k; j++) {
        if (pk[j] <= 0 || pk[j] > INT32_MAX) continue; /* can never be in an int32 map */
        uint32_t h = ((uint32_t)pk[j] * 2654435761u) >> (32 - bits);
        while (hkey[h]) h = (h + 1) & mask;
        hkey[h] = (int32_t)pk[j];
        hval[h] = (int32_t)(j + 1);
    }
    {
        Py_BEGIN_ALLOW_THREADS
        if (width == 1)
            unknown = compact_loop_u8(ids.buf, n, out.buf, counts.buf, hkey, hval, bits, mask);
        else if (width == 2)
            unknown = compact_loop_u16(ids.buf, n, out.buf, counts.buf, hkey, hval, bits, mask);
        else
            unknown = compact_loop_i32(ids.buf, n, out.buf, counts.buf, hkey, hval, bits, mask);
        Py_END_ALLOW_THREADS
    }
    result = PyLong_FromSsize_t(unknown);
done:
    PyMem_Free(hkey);
    PyMem_Free(hval);
    PyBuffer_Release(&ids);
    PyBuffer_Release(&keys);
    PyBuffer_Release(&out);
    PyBuffer_Release(&counts);
    return result;
}

/* out[y, x] = 1 where labels[y, x] != 0 and the (2d+1)^2 window around (y, x) leaves the image
 * or holds two labels (agreement.metrics.boundary.boundary_band). A window holds two labels iff
 * one of its rows does or its centre column does. One pass down the rows: for row r, "a label
 * change within d columns" (rows_ok), then per column the last row r' <= r where that held and
 * the last vertical change; row y = r - d of the band reads them. h, w and d are parameters
 * (never address-taken: byte stores cannot alias them, the loops vectorise). */
#define DEFINE_BAND_LOOP(T, S)                                                                 \
    /* Whether l[k] != l[k + 1] for some k in [0, 16) (reads l[0..16]); vectorises. */         \
    static inline int any_change16_##S(const T *l) {                                           \
        uint32_t acc = 0;                                                                      \
        for (int k = 0; k < 16; k++) acc |= (uint32_t)(l[k] ^ l[k + 1]);                       \
        return acc != 0;                                                                       \
    }                                                                                          \
    static void band_loop_##S(const T *L, uint8_t *B, const Py_ssize_t h, const Py_ssize_t w,  \
                              const Py_ssize_t d, int32_t *last_row, int32_t *last_col) {      \
        const int32_t never = -(int32_t)(4 * d + 4);                                           \
        for (Py_ssize_t x = 0; x < w; x++) last_row[x] = last_col[x] = never;                  \
        /* the window leaves the image sideways: columns x < d and x >= w - d of every row */  \
        Py_ssize_t lo = d < w ? d : w, hi = w - d > lo ? w - d : lo;                           \
        for (Py_ssize_t r = 0; r < h + d; r++) {                                               \
            if (r < h) {                                                                       \
                const T *l = L + r * w;                                                        \
                for (Py_ssize_t x = 0; x < lo; x++) last_row[x] = (int32_t)r;                  \
                for (Py_ssize_t x = hi; x < w; x++) last_row[x] = (int32_t)r;                  \
                /* middle columns x in [lo, hi): a change l[j] != l[j + 1] with j in           \
                 * [x - d, x + d - 1], i.e. x in [j - d + 1, j + d] for each change j */       \
                Py_ssize_t done_to = lo; /* columns below are marked already */                \
                Py_ssize_t jend = w - 1 < hi + d - 1 ? w - 1 : hi + d - 1;                     \
                for (Py_ssize_t j = lo - d > 0 ? lo - d : 0; j < jend; j++) {                  \
                    while (j + 16 <= jend && !any_change16_##S(l + j)) j += 16; /* runs */     \
                    if (j >= jend) break;                                                      \
                    if (l[j] == l[j + 1]) continue;                                            \
                    Py_ssize_t from = j - d + 1 > done_to ? j - d + 1 : done_to;               \
                    Py_ssize_t to = j + d + 1 < hi ? j + d + 1 : hi;                           \
                    for (Py_ssize_t x = from; x < to; x++) last_row[x] = (int32_t)r;           \
                    if (to > done_to) done_to = to;                                            \
                }                                                                              \
                if (r > 0) {                                                                   \
                    const T *restrict u = l - w, *restrict lv = l;                             \
                    int32_t *restrict lc = last_col;                                           \
                    const int32_t prev = (int32_t)(r - 1);                                     \
                    for (Py_ssize_t x = 0; x < w; x++) lc[x] = u[x] != lv[x] ? prev : lc[x];   \
                }                                                                              \
            }                                                                                  \
            Py_ssize_t y = r - d;                                                              \
            if (y < 0) continue;                                                               \
            const T *l = L + y * w;                                                            \
            uint8_t *b = B + y * w;                                                            \
            if (y < d || y >= h - d) { /* the window leaves the image vertically */            \
                for (Py_ssize_t x = 0; x < w; x++) b[x] = l[x] != 0;                           \
                continue;                                                                      \
            }                                                                                  \
            /* rows [y - d, y + d] and vertical changes [y - d, y + d - 1] */                  \
            const int32_t first = (int32_t)(y - d);                                            \
            const int32_t *restrict lr = last_row, *restrict lc = last_col;                    \
            const T *restrict lv = l;                                                          \
            uint8_t *restrict bo = b;                                                          \
            for (Py_ssize_t x = 0; x < w; x++)                                                 \
                bo[x] = (uint8_t)((lv[x] != 0) & ((lr[x] >= first) | (lc[x] >= first)));       \
        }                                                                                      \
    }
DEFINE_BAND_LOOP(uint8_t, u8)
DEFINE_BAND_LOOP(uint16_t, u16)
DEFINE_BAND_LOOP(int32_t, i32)

/* band(labels, h, w, d, out[, itemsize])
 * The boundary band of every segment of a label map of 1, 2 or 4 bytes per label (uint8,
 * uint16, int32: the default) into out (bool, h * w); see DEFINE_BAND_LOOP. */
static PyObject *band(PyObject *self, PyObject *args) {
    Py_buffer lab, out;
    Py_ssize_t h_arg, w_arg, d_arg, itemsize = 4;
    if (!PyArg_ParseTuple(args, "y*nnnw*|n", &lab, &h_arg, &w_arg, &d_arg, &out, &itemsize))
        return NULL;
    PyObject *result = NULL;
    int32_t *last_row = NULL, *last_col = NULL;
    if (h_arg < 0 || w_arg < 0 || d_arg < 1 || h_arg > INT32_MAX / 4 || d_arg > INT32_MAX / 8) {
        PyErr_SetString(PyExc_ValueError, "h and w must be >= 0 and d >= 1");
        goto done;
    }
    if (check_width(itemsize, "labels") || check_size(&lab, h_arg * w_arg, itemsize, "labels") ||
        check_size(&out, h_arg * w_arg, 1, "out"))
        goto done;
    last_row = PyMem_Malloc(sizeof(int32_t) * (size_t)(w_arg + 1));
    last_col = PyMem_Malloc(sizeof(int32_t) * (size_t)(w_arg + 1));
    if (!last_row || !last_col) {
        PyErr_NoMemory();
        goto done;
    }
    {
        Py_BEGIN_ALLOW_THREADS
        if (itemsize == 1)
            band_loop_u8(lab.buf, out.buf, h_arg, w_arg, d_arg, last_row, last_col);
        else if (itemsize == 2)
            band_loop_u16(lab.buf, out.buf, h_arg, w_arg, d_arg, last_row, last_col);
        else
            band_loop_i32(lab.buf, out.buf, h_arg, w_arg, d_arg, last_row, last_col);
        Py_END_ALLOW_THREADS
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(last_row);
    PyMem_Free(last_col);
    PyBuffer_Release(&lab);
    PyBuffer_Release(&out);
    return result;
}

#define DEFINE_BANDED_LOOP(TC, TO, S)                                                          \
    static void banded_loop_##S(const TC *pc, const uint8_t *pb, TO *po, Py_ssize_t n) {       \
        for (Py_ssize_t i = 0; i < n; i++)                                                     \
            po[i] = (TO)(((uint32_t)pc[i] << 1) + (pb[i] != 0));                               \
    }
DEFINE_BANDED_LOOP(uint8_t, uint8_t, u8_u8)
DEFINE_BANDED_LOOP(uint8_t, uint16_t, u8_u16)
DEFINE_BANDED_LOOP(uint16_t, uint16_t, u16_u16)
DEFINE_BANDED_LOOP(uint16_t, int32_t, u16_i32)
DEFINE_BANDED_LOOP(int32_t, int32_t, i32_i32)

/* banded(compact, band, out[, itemsize, out_itemsize]): out = 2 * compact + band in one pass;
 * compact of 1, 2 or 4 bytes per label (default 4), out of the same width or the next one
 * (the caller picks one that holds 2 * max + 1), band uint8 / bool. */
static PyObject *banded(PyObject *self, PyObject *args) {
    Py_buffer c, b, out;
    Py_ssize_t ci = 4, oi = 4;
    if (!PyArg_ParseTuple(args, "y*y*w*|nn", &c, &b, &out, &ci, &oi)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = 0;
    if (check_width(ci, "compact") || check_width(oi, "out")) goto done;
    n = c.len / ci;
    if (check_size(&c, n, ci, "compact") || check_size(&b, n, 1, "band") ||
        check_size(&out, n, oi, "out"))
        goto done;
    if (!(oi == ci || oi == 2 * ci)) {
        PyErr_SetString(PyExc_ValueError, "out must be as wide as compact or twice as wide");
        goto done;
    }
    {
        Py_BEGIN_ALLOW_THREADS
        if (ci == 1 && oi == 1)
            banded_loop_u8_u8(c.buf, b.buf, out.buf, n);
        else if (ci == 1)
            banded_loop_u8_u16(c.buf, b.buf, out.buf, n);
        else if (ci == 2 && oi == 2)
            banded_loop_u16_u16(c.buf, b.buf, out.buf, n);
        else if (ci == 2)
            banded_loop_u16_i32(c.buf, b.buf, out.buf, n);
        else
            banded_loop_i32_i32(c.buf, b.buf, out.buf, n);
        Py_END_ALLOW_THREADS
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&c);
    PyBuffer_Release(&b);
    PyBuffer_Release(&out);
    return result;
}

/* y[i] = x[i - left] | ... | x[i + right] along one axis of an h x w map (outside: 0). Along
 * rows (axis 1), one row at a time in a padded copy (left zeros, the row, right zeros) that
 * stays in cache: log-step doubling, ceil(log2(L)) passes of y[i] = a[i] | a[i + m] between two
 * buffers (L = left + right + 1; each pass vectorises). Along columns (axis 0), van Herk /
 * Gil-Werman with whole rows as the elements (the inner loops run along the rows and
 * vectorise): the padded sequence of rows cut into blocks of L, window i is the suffix of its
 * block from i (written into y) OR the prefix of the next block up to i + L - 1 (kept in acc):
 * two ORs per item whatever L. */
#define DEFINE_WINDOW_LOOPS(T, S)                                                              \
    static void window_rows_##S(const T *X, T *Y, Py_ssize_t h, Py_ssize_t w, Py_ssize_t left, \
                                Py_ssize_t right, T *work) {                                   \
        const Py_ssize_t L = left + right + 1, P = w + L - 1;                                  \
        T *restrict buf[2] = {work, work + P};                                                 \
        for (Py_ssize_t r = 0; r < h; r++) {                                                   \
            T *a = buf[0];                                                                     \
            memset(a, 0, sizeof(T) * (size_t)left);                                            \
            memcpy(a + left, X + r * w, sizeof(T) * (size_t)w);                                \
            memset(a + left + w, 0, sizeof(T) * (size_t)right);                                \
            Py_ssize_t m = 1, valid = P, k = 0; /* a[i]: OR over [i, i + m) */                 \
            while (2 * m <= L) {                                                               \
                const T *restrict src = buf[k];                                                \
                T *restrict dst = buf[1 - k];                                                  \
                for (Py_ssize_t i = 0; i < valid - m; i++) dst[i] = src[i] | src[i + m];       \
                valid -= m, m *= 2, k = 1 - k;                                                 \
            }                                                                                  \
            const T *restrict src = buf[k];                                                    \
            T *restrict y = Y + r * w;                                                         \
            const Py_ssize_t s = L - m;                                                        \
            if (s)                                                                             \
                for (Py_ssize_t i = 0; i < w; i++) y[i] = src[i] | src[i + s];                 \
            else                                                                               \
                memcpy(y, src, sizeof(T) * (size_t)w);                                         \
        }                                                                                      \
    }                                                                                          \
    static void window_columns_##S(const T *X, T *Y, Py_ssize_t h, Py_ssize_t w,               \
                                   Py_ssize_t left, Py_ssize_t right, T *acc) {                \
        const Py_ssize_t L = left + right + 1;                                                 \
        for (Py_ssize_t b = 0; b < h; b += L) {                                                \
            Py_ssize_t n = h - b < L ? h - b : L;                                              \
            memset(acc, 0, sizeof(T) * (size_t)w);                                             \
            for (Py_ssize_t p = b + L - 1; p >= b; p--) { /* padded row p: x row p - left */   \
                Py_ssize_t r = p - left;                                                       \
                if (r >= 0 && r < h) {                                                         \
                    const T *restrict x = X + r * w;                                           \
                    T *restrict a = acc;                                                       \
                    for (Py_ssize_t c = 0; c < w; c++) a[c] |= x[c];                           \
                }                                                                              \
                if (p < b + n) memcpy(Y + p * w, acc, sizeof(T) * (size_t)w);                  \
            }                                                                                  \
            memset(acc, 0, sizeof(T) * (size_t)w);                                             \
            for (Py_ssize_t k = 1; k < n; k++) {                                               \
                Py_ssize_t r = b + L - 1 + k - left;                                           \
                T *restrict a = acc, *restrict y = Y + (b + k) * w;                            \
                if (r >= 0 && r < h) {                                                         \
                    const T *restrict x = X + r * w;                                           \
                    for (Py_ssize_t c = 0; c < w; c++) y[c] |= a[c] |= x[c];                   \
                } else {                                                                       \
                    for (Py_ssize_t c = 0; c < w; c++) y[c] |= a[c];                           \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }
DEFINE_WINDOW_LOOPS(uint8_t, u8)
DEFINE_WINDOW_LOOPS(uint16_t, u16)
DEFINE_WINDOW_LOOPS(uint32_t, u32)

/* window_any(x, h, w, left, right, axis, out[, itemsize])
 * out[i] = OR of x over [i - left, i + right] along axis 0 or 1 of an h x w map of 1, 2 or 4
 * bytes per item (bool or unsigned bitmasks: each bit windowed on its own); outside the map
 * counts as 0. out does not overlap x. */
static PyObject *window_any(PyObject *self, PyObject *args) {
    Py_buffer x, out;
    Py_ssize_t h, w, left, right, axis, itemsize = 1;
    if (!PyArg_ParseTuple(args, "y*nnnnnw*|n", &x, &h, &w, &left, &right, &axis, &out,
                          &itemsize))
        return NULL;
    PyObject *result = NULL;
    void *work = NULL;
    if (h < 0 || w < 0 || left < 0 || right < 0 || (axis != 0 && axis != 1) ||
        left > PY_SSIZE_T_MAX / 4 || right > PY_SSIZE_T_MAX / 4) {
        PyErr_SetString(PyExc_ValueError, "h, w, left and right must be >= 0, axis 0 or 1");
        goto done;
    }
    if (check_shape(h, w)) goto done;
    {   /* a window longer than the axis reaches its border: the same as reaching it exactly */
        Py_ssize_t n = axis == 1 ? w : h;
        left = left < n ? left : n;
        right = right < n ? right : n;
    }
    if (check_width(itemsize, "x") || check_size(&x, h * w, itemsize, "x") ||
        check_size(&out, h * w, itemsize, "out"))
        goto done;
    /* along rows: two padded rows; along columns: the running OR of a block's rows */
    size_t items = axis == 1 ? 2 * (size_t)(w + left + right) : (size_t)w;
    work = PyMem_Malloc(itemsize * (items + 1));
    if (!work) {
        PyErr_NoMemory();
        goto done;
    }
    {
        Py_BEGIN_ALLOW_THREADS
        if (axis == 1 && itemsize == 1)
            window_rows_u8(x.buf, out.buf, h, w, left, right, work);
        else if (axis == 1 && itemsize == 2)
            window_rows_u16(x.buf, out.buf, h, w, left, right, work);
        else if (axis == 1)
            window_rows_u32(x.buf, out.buf, h, w, left, right, work);
        else if (itemsize == 1)
            window_columns_u8(x.buf, out.buf, h, w, left, right, work);
        else if (itemsize == 2)
            window_columns_u16(x.buf, out.buf, h, w, left, right, work);
        else
            window_columns_u32(x.buf, out.buf, h, w, left, right, work);
        Py_END_ALLOW_THREADS
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(work);
    PyBuffer_Release(&x);
    PyBuffer_Release(&out);
    return result;
}

/* The pixels d apart along a row (axis 1) or a column (axis 0) whose labels differ, in row-major
 * order of the first pixel of each pair: its label into xs, the other's into ys, and 1 into
 * mask at its position (an (h, w - d) or (h - d, w) map) when mask is given. Returns the number
 * of pairs. With SSE2, 16 bytes of each side are compared at once and only the differing items
 * visited (labels come in runs: most blocks have none). */
#define DEFINE_NEIGHBOUR_LOOP(T, S)                                                            \
    static Py_ssize_t neighbour_loop_##S(const T *L, Py_ssize_t h, Py_ssize_t w, Py_ssize_t d, \
                                         int axis, T *xs, T *ys, uint8_t *mask) {              \
        Py_ssize_t n = 0, rows = axis ? h : h - d, cols = axis ? w - d : w;                    \
        Py_ssize_t step = axis ? d : w * d; /* from a pixel to its pair */                     \
        const Py_ssize_t per = 16 / (Py_ssize_t)sizeof(T); /* items per 16 bytes */            \
        for (Py_ssize_t r = 0; r < rows; r++) {                                                \
            const T *a = L + r * w, *b = a + step;                                             \
            uint8_t *m = mask ? mask + r * cols : NULL;                                        \
            Py_ssize_t j = 0;                                                                  \
            if (HAVE_SSE2)                                                                     \
                for (; j + per <= cols; j += per) {                                            \
                    unsigned diff = ~equal16(a + j, b + j) & 0xFFFFu;                          \
                    while (diff) {                                                             \
                        int k = CTZ(diff) / (int)sizeof(T);                                    \
                        diff &= ~(((1u << sizeof(T)) - 1) << (k * (int)sizeof(T)));           \
                        xs[n] = a[j + k], ys[n] = b[j + k], n++;                               \
                        if (m) m[j + k] = 1;                                                   \
                    }                                                                          \
                }                                                                              \
            for (; j < cols; j++) {                                                            \
                if (a[j] == b[j]) continue;                                                    \
                xs[n] = a[j], ys[n] = b[j], n++;                                               \
                if (m) m[j] = 1;                                                               \
            }                                                                                  \
        }                                                                                      \
        return n;                                                                              \
    }
DEFINE_NEIGHBOUR_LOOP(uint8_t, u8)
DEFINE_NEIGHBOUR_LOOP(uint16_t, u16)
DEFINE_NEIGHBOUR_LOOP(int32_t, i32)

/* neighbour_pairs(labels, h, w, d, axis, xs, ys, mask[, itemsize]) -> n
 * The pairs of pixels d apart along axis 1 (rows) or 0 (columns) of an h x w map of 1, 2 or 4
 * bytes per label whose labels differ (see DEFINE_NEIGHBOUR_LOOP): xs and ys (of the labels'
 * width) must hold every pair the map has room for; mask is None or a zeroed uint8 / bool map of
 * the pairs' first pixels. Returns the number of pairs written. */
static PyObject *neighbour_pairs(PyObject *self, PyObject *args) {
    Py_buffer lab, xs, ys, mask = {0};
    Py_ssize_t h, w, d, axis, itemsize = 4;
    PyObject *mask_obj;
    if (!PyArg_ParseTuple(args, "y*nnnnw*w*O|n", &lab, &h, &w, &d, &axis, &xs, &ys, &mask_obj,
                          &itemsize))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = 0;
    int has_mask = mask_obj != Py_None;
    if (has_mask && PyObject_GetBuffer(mask_obj, &mask, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS)) {
        PyBuffer_Release(&lab);
        PyBuffer_Release(&xs);
        PyBuffer_Release(&ys);
        return NULL;
    }
    if (h < 0 || w < 0 || d < 1 || (axis != 0 && axis != 1)) {
        PyErr_SetString(PyExc_ValueError, "h and w must be >= 0, d >= 1, axis 0 or 1");
        goto done;
    }
    Py_ssize_t rows = axis ? h : h - d, cols = axis ? w - d : w;
    Py_ssize_t pairs = rows > 0 && cols > 0 ? rows * cols : 0;
    if (check_shape(h, w)) goto done;
    if (check_width(itemsize, "labels") || check_size(&lab, h * w, itemsize, "labels") ||
        check_size(&xs, pairs, itemsize, "xs") || check_size(&ys, pairs, itemsize, "ys") ||
        (has_mask && check_size(&mask, pairs, 1, "mask")))
        goto done;
    if (pairs) {
        uint8_t *m = has_mask ? mask.buf : NULL;
        Py_BEGIN_ALLOW_THREADS
        if (itemsize == 1)
            n = neighbour_loop_u8(lab.buf, h, w, d, (int)axis, xs.buf, ys.buf, m);
        else if (itemsize == 2)
            n = neighbour_loop_u16(lab.buf, h, w, d, (int)axis, xs.buf, ys.buf, m);
        else
            n = neighbour_loop_i32(lab.buf, h, w, d, (int)axis, xs.buf, ys.buf, m);
        Py_END_ALLOW_THREADS
    }
    result = PyLong_FromSsize_t(n);
done:
    if (has_mask) PyBuffer_Release(&mask);
    PyBuffer_Release(&lab);
    PyBuffer_Release(&xs);
    PyBuffer_Release(&ys);
    return result;
}

/* A little-endian 32-bit value as the host reads it (PNG bytes are R, G, B in that order). */
static inline uint32_t le32(uint32_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap32(v);
#else
    return v;
#endif
}

/* The PNG Paeth predictor, without branches (the selects compile to conditional moves). */
static inline uint8_t paeth(int a, int b, int c) {
    int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
    int bc = pb <= pc ? b : c;
    return (uint8_t)(pa <= pb && pa <= pc ? a : bc);
}

/* png_ids(raw, h, w, bpp, out) -> bad_row
 * Undo the PNG row filters of 8-bit RGB (bpp 3) or RGBA (bpp 4) image data in place (raw: the
 * inflated IDAT stream, h rows of one filter byte + w * bpp bytes) and write each pixel's
 * segment id R + 256 G + 256^2 B into out (int32, h * w). Returns -1, or the first row whose
 * filter type is not 0-4 (the data is corrupt). */
static PyObject *png_ids(PyObject *self, PyObject *args) {
    Py_buffer raw, out;
    Py_ssize_t h_arg, w_arg, bpp_arg;
    if (!PyArg_ParseTuple(args, "w*nnnw*", &raw, &h_arg, &w_arg, &bpp_arg, &out)) return NULL;
    const Py_ssize_t h = h_arg, w = w_arg, bpp = bpp_arg; /* never address-taken: see band */
    PyObject *result = NULL;
    Py_ssize_t bad = -1;
    if ((bpp != 3 && bpp != 4) || h < 0 || w < 0) {
        PyErr_SetString(PyExc_ValueError, "bpp must be 3 or 4, h and w >= 0");
        goto done;
    }
    Py_ssize_t stride = 1 + w * bpp;
    if (check_size(&raw, h * stride, 1, "raw") || check_size(&out, h * w, 4, "out")) goto done;
    {
        uint8_t *R = raw.buf;
        int32_t *O = out.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t y = 0; y < h && bad < 0; y++) {
            uint8_t *row = R + y * stride + 1;
            const uint8_t *up = y ? R + (y - 1) * stride + 1 : NULL;
            Py_ssize_t n = w * bpp;
            switch (row[-1]) {
            case 0:
                break;
            case 1:
                for (Py_ssize_t i = bpp; i < n; i++) row[i] += row[i - bpp];
                break;
            case 2:
                if (up)
                    for (Py_ssize_t i = 0; i < n; i++) row[i] += up[i];
                break;
            case 3:
                for (Py_ssize_t i = 0; i < n; i++) {
                    int left = i >= bpp ? row[i - bpp] : 0, above = up ? up[i] : 0;
                    row[i] += (uint8_t)((left + above) >> 1);
                }
                break;
            case 4:
                if (!up) { /* first row: Paeth = Sub */
                    for (Py_ssize_t i = bpp; i < n; i++) row[i] += row[i - bpp];
                    break;
                }
                for (Py_ssize_t i = 0; i < bpp; i++) row[i] += up[i]; /* left = diag = 0 */
                for (Py_ssize_t i = bpp; i < n; i++)
                    row[i] += paeth(row[i - bpp], up[i], up[i - bpp]);
                break;
            default:
                bad = y;
                continue;
            }
            int32_t *o = O + y * w;
            /* 4-byte loads masked to 24 bits; the row's last pixel byte by byte (with bpp 3 its
             * fourth byte would lie past the end of the data) */
            for (Py_ssize_t x = 0; x + 1 < w; x++) {
                uint32_t v;
                memcpy(&v, row + x * bpp, 4);
                o[x] = (int32_t)(le32(v) & 0xFFFFFFu);
            }
            if (w) {
                const uint8_t *p = row + (w - 1) * bpp;
                o[w - 1] = (int32_t)p[0] | ((int32_t)p[1] << 8) | ((int32_t)p[2] << 16);
            }
        }
        Py_END_ALLOW_THREADS
    }
    result = PyLong_FromSsize_t(bad);
done:
    PyBuffer_Release(&raw);
    PyBuffer_Release(&out);
    return result;
}

/* One run of a label along a row (columns [start, end)) in the union-find of its component. */
typedef struct {
    int32_t start, end, parent;
    int64_t size;
} Run;

/* The root of run r, halving the path on the way. */
static inline int32_t run_root(Run *R, int32_t r) {
    while (R[r].parent != r) {
        R[r].parent = R[R[r].parent].parent;
        r = R[r].parent;
    }
    return r;
}

/* The 4-connected components of {label == k} in rows [y0, y1), columns [x0, x1) of a map of
 * width w: the runs of k of each row, each joined to the runs of the row above that share a
 * column with it (those are its 4-neighbours). *count gets the number of components, *big those
 * of at least thr pixels. The run buffer (*cap runs) grows as needed; returns -1 when memory
 * runs out. */
#define DEFINE_BLOB_LOOP(T, S)                                                                 \
    static int blob_loop_##S(const T *L, Py_ssize_t w, T k, Py_ssize_t y0, Py_ssize_t y1,      \
                             Py_ssize_t x0, Py_ssize_t x1, double thr, Run **runs,             \
                             Py_ssize_t *cap, int64_t *count, int64_t *big) {                  \
        Py_ssize_t n = 0, prev = 0, prev_end = 0; /* runs; the row above's: [prev, prev_end) */ \
        for (Py_ssize_t y = y0; y < y1; y++) {                                                 \
            const T *l = L + y * w;                                                            \
            Py_ssize_t row = n;                                                                \
            for (Py_ssize_t x = x0; x < x1;) {                                                 \
                if (l[x] != k) {                                                               \
                    x++;                                                                       \
                    continue;                                                                  \
                }                                                                              \
                Py_ssize_t e = run_end_##S(l, x, x1, k);                                       \
                if (n == *cap) {                                                               \
                    Py_ssize_t c = 2 * *cap + 256;                                             \
                    if (c > INT32_MAX) return -1;                                              \
                    Run *r = realloc(*runs, sizeof(Run) * (size_t)c);                          \
                    if (!r) return -1;                                                         \
                    *runs = r, *cap = c;                                                       \
                }                                                                              \
                Run *R = *runs;                                                                \
                R[n] = (Run){(int32_t)x, (int32_t)e, (int32_t)n, 0};                           \
                while (prev < prev_end && R[prev].end <= x) prev++; /* ends before x */        \
                for (Py_ssize_t q = prev; q < prev_end && R[q].start < e; q++) {               \
                    int32_t a = run_root(R, (int32_t)n), b = run_root(R, (int32_t)q);          \
                    if (a != b) R[a > b ? a : b].parent = a < b ? a : b;                       \
                }                                                                              \
                n++;                                                                           \
                x = e;                                                                         \
            }                                                                                  \
            prev = row, prev_end = n;                                                          \
        }                                                                                      \
        Run *R = *runs;                                                                        \
        *count = *big = 0;                                                                     \
        for (Py_ssize_t r = 0; r < n; r++)                                                     \
            R[run_root(R, (int32_t)r)].size += R[r].end - R[r].start;                          \
        for (Py_ssize_t r = 0; r < n; r++)                                                     \
            if (R[r].parent == r) {                                                            \
                *count += 1;                                                                   \
                *big += (double)R[r].size >= thr;                                              \
            }                                                                                  \
        return 0;                                                                              \
    }
DEFINE_BLOB_LOOP(uint8_t, u8)
DEFINE_BLOB_LOOP(uint16_t, u16)
DEFINE_BLOB_LOOP(int32_t, i32)

/* blobs(labels, h, w, keys, boxes, thresholds, out[, itemsize])
 * For each candidate j: the 4-connected components (scipy.ndimage.label's default cross) of the
 * pixels of label keys[j] (int64) inside boxes[4j : 4j + 4] = (y0, y1, x0, x1) (int64, within
 * the h x w map of 1, 2 or 4 bytes per label); out[2j] = their number, out[2j + 1] = how many
 * have at least thresholds[j] (float64) pixels. out int64 of size 2 * len(keys). */
static PyObject *blobs(PyObject *self, PyObject *args) {
    Py_buffer lab, keys, boxes, thr, out;
    Py_ssize_t h, w, itemsize = 4;
    if (!PyArg_ParseTuple(args, "y*nny*y*y*w*|n", &lab, &h, &w, &keys, &boxes, &thr, &out,
                          &itemsize))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t m = keys.len / 8;
    if (h < 0 || w < 0 || h > INT32_MAX || w > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "h and w must be >= 0 and below 2**31");
        goto done;
    }
    if (check_shape(h, w)) goto done;
    if (check_width(itemsize, "labels") || check_size(&lab, h * w, itemsize, "labels") ||
        check_size(&keys, m, 8, "keys") || check_size(&boxes, 4 * m, 8, "boxes") ||
        check_size(&thr, m, 8, "thresholds") || check_size(&out, 2 * m, 8, "out"))
        goto done;
    const int64_t *K = keys.buf, *B = boxes.buf;
    for (Py_ssize_t j = 0; j < m; j++) {
        const int64_t *b = B + 4 * j;
        if (b[0] < 0 || b[1] > h || b[2] < 0 || b[3] > w) {
            PyErr_SetString(PyExc_ValueError, "boxes must lie within the map");
            goto done;
        }
    }
    {
        Run *runs = NULL;
        int64_t *O = out.buf;
        Py_ssize_t cap = 0;
        const double *D = thr.buf;
        int failed = 0;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t j = 0; j < m && !failed; j++) {
            const int64_t *b = B + 4 * j;
            int64_t k = K[j], *o = O + 2 * j;
            o[0] = o[1] = 0;
            if (itemsize == 1 && k >= 0 && k <= UINT8_MAX)
                failed = blob_loop_u8(lab.buf, w, (uint8_t)k, b[0], b[1], b[2], b[3], D[j], &runs,
                                      &cap, o, o + 1);
            else if (itemsize == 2 && k >= 0 && k <= UINT16_MAX)
                failed = blob_loop_u16(lab.buf, w, (uint16_t)k, b[0], b[1], b[2], b[3], D[j],
                                       &runs, &cap, o, o + 1);
            else if (itemsize == 4 && k >= INT32_MIN && k <= INT32_MAX)
                failed = blob_loop_i32(lab.buf, w, (int32_t)k, b[0], b[1], b[2], b[3], D[j],
                                       &runs, &cap, o, o + 1);
        }
        free(runs);
        Py_END_ALLOW_THREADS
        if (failed) {
            PyErr_NoMemory();
            goto done;
        }
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&lab);
    PyBuffer_Release(&keys);
    PyBuffer_Release(&boxes);
    PyBuffer_Release(&thr);
    PyBuffer_Release(&out);
    return result;
}

/* components(n, src, dst, out) -> count
 * Connected components of the undirected graph of n nodes and the edges (src[i], dst[i]) (int32,
 * each in [0, n)); out (int32, n) receives each node's component, numbered in the order of their
 * smallest node (as scipy.sparse.csgraph.connected_components numbers them). A union-find whose
 * roots are the smallest node of their set, with path halving. */
static PyObject *components(PyObject *self, PyObject *args) {
    Py_ssize_t n;
    Py_buffer src, dst, out;
    if (!PyArg_ParseTuple(args, "ny*y*w*", &n, &src, &dst, &out)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t m = src.len / 4;
    if (n < 0 || n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "n must be >= 0 and below 2**31");
        goto done;
    }
    if (check_size(&src, m, 4, "src") || check_size(&dst, m, 4, "dst") ||
        check_size(&out, n, 4, "out"))
        goto done;
    {
        int32_t *P = out.buf;
        const int32_t *S = src.buf, *D = dst.buf;
        Py_ssize_t count = 0, bad = 0;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < n; i++) P[i] = (int32_t)i;
        for (Py_ssize_t e = 0; e < m; e++) {
            int32_t a = S[e], b = D[e];
            if (a < 0 || b < 0 || a >= n || b >= n) {
                bad = 1;
                break;
            }
            while (P[a] != a) a = P[a] = P[P[a]];
            while (P[b] != b) b = P[b] = P[P[b]];
            if (a < b) P[b] = a;
            else if (b < a) P[a] = b;
        }
        if (!bad)
            for (Py_ssize_t i = 0; i < n; i++) /* a root is its set's smallest node: seen first */
                P[i] = P[i] == i ? (int32_t)count++ : P[P[i]];
        Py_END_ALLOW_THREADS
        if (bad) {
            PyErr_SetString(PyExc_ValueError, "edges must join nodes in [0, n)");
            goto done;
        }
        result = PyLong_FromSsize_t(count);
    }
done:
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    PyBuffer_Release(&out);
    return result;
}

/* The findings' objects of one directed annotator pair (agreement.diagnosis._kernel._objects,
 * the numpy version and oracle: same rules, same order of rows). tab is the (nc + 1) x (na + 1)
 * joint table (rows: the reference's compact ids, columns: the annotator's; 0 = void). Ratios
 * are compared as numpy compares them: int64 counts converted to double, then divided or
 * multiplied once. Scratch: 3 na + 4 nc + nc * nc int64. Returns the rows written. */
static Py_ssize_t objects_loop(const int64_t *tab, Py_ssize_t nc, Py_ssize_t na,
                               const int64_t *cat_c, const int64_t *cat_a, const uint8_t *thing_c,
                               const uint8_t *crowd_c, const uint8_t *thing_a,
                               const uint8_t *near, double min_area, int64_t *rows,
                               uint8_t *event, int64_t *scratch) {
    const Py_ssize_t W = na + 1;
    int64_t *area_c = scratch, *area_a = area_c + nc, *owner = area_a + na, *lost = owner + na;
    int64_t *owned = lost + nc, *parts = owned + nc, *taken = parts + nc;
    uint8_t *real = (uint8_t *)(taken + nc * nc); /* nc bytes after the int64s */
#define T(i, j) tab[((i) + 1) * W + (j) + 1]
#define COVERS(i, j) ((double)T(i, j) >= 0.5 * (double)area_c[i])
    for (Py_ssize_t i = 0; i < nc; i++) {
        int64_t s = 0;
        for (Py_ssize_t j = 0; j <= na; j++) s += tab[(i + 1) * W + j];
        area_c[i] = s;
        real[i] = thing_c[i] && (double)s >= min_area && !crowd_c[i];
        if (thing_c[i] && !real[i]) memset(event + (i + 1) * W, 1, (size_t)W);
    }
    for (Py_ssize_t j = 0; j < na; j++) {
        int64_t s = 0;
        for (Py_ssize_t i = 0; i <= nc; i++) s += tab[i * W + j + 1];
        area_a[j] = s;
    }
    /* owners (_owners): the object of its class it covers most of (at least half), else the
     * object of its class holding most of its pixels; things only */
    for (Py_ssize_t j = 0; j < na; j++) {
        owner[j] = -1;
        if (!thing_a[j]) continue;
        double best = -1.0;
        Py_ssize_t by_cover = 0, most = 0;
        int64_t most_t = -1;
        for (Py_ssize_t i = 0; i < nc; i++) {
            /* an object of no pixel covers nothing (not 0 / 0) */
            int ok = thing_c[i] && cat_c[i] == cat_a[j] && area_c[i] > 0;
            double cover = ok ? (double)T(i, j) / (double)area_c[i] : 0.0;
            if (cover > best) best = cover, by_cover = i;
            if (T(i, j) > most_t) most_t = T(i, j), most = i;
        }
        if (best >= 0.5)
            owner[j] = by_cover;
        else if (most_t > 0 && thing_c[most] && cat_c[most] == cat_a[j])
            owner[j] = most;
    }
    /* pixels of each object in segments standing for another one, net of what it took */
    memset(taken, 0, (size_t)(nc * nc) * sizeof(int64_t));
    memset(owned, 0, (size_t)nc * sizeof(int64_t));
    memset(parts, 0, (size_t)nc * sizeof(int64_t));
    for (Py_ssize_t j = 0; j < na; j++) {
        Py_ssize_t k = (Py_ssize_t)owner[j];
        if (k < 0) continue;
        owned[k]++;
        if ((double)T(k, j) >= 0.5 * (double)area_a[j] && (double)T(k, j) >= 0.1 * (double)area_c[k])
            parts[k]++;
        for (Py_ssize_t i = 0; i < nc; i++)
            if (i != k) taken[i * nc + k] += T(i, j);
    }
    for (Py_ssize_t i = 0; i < nc; i++) {
        int64_t s = 0;
        for (Py_ssize_t k = 0; k < nc; k++) {
            int64_t d = taken[i * nc + k] - taken[k * nc + i];
            if (d > 0) s += d;
        }
        lost[i] = s;
    }
    /* stray things (standing for no object): their pixels off their main object were taken */
    for (Py_ssize_t j = 0; j < na; j++) {
        if (!thing_a[j] || owner[j] >= 0) continue;
        Py_ssize_t home = 0;
        for (Py_ssize_t i = 1; i < nc; i++)
            if (T(i, j) > T(home, j)) home = i;
        for (Py_ssize_t i = 0; i < nc; i++)
            if (i != home && thing_c[i]) lost[i] += T(i, j);
        for (Py_ssize_t i = 0; i <= nc; i++) event[i * W + j + 1] = 1;
    }
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < nc; i++) {
        if (!real[i]) continue;
        const int64_t *row = tab + (i + 1) * W;
        Py_ssize_t j = 0;
        for (Py_ssize_t m = 1; m <= na; m++)
            if (row[m] > row[j]) j = m;
        j -= 1; /* the segment over most of it (-1: void) */
        int valid = j >= 0;
        Py_ssize_t jj = valid ? j : 0;
        int same = valid && cat_c[i] == cat_a[jj];
        int missed = !valid || !thing_a[jj];
        int merged = 0;
        if (!missed && same && COVERS(i, jj) && owned[i] - (owner[jj] == i) == 0) {
            for (Py_ssize_t r = 0; r < nc && !merged; r++)
                merged = r != i && real[r] && cat_c[r] == cat_c[i] && COVERS(r, jj);
        }
        int hidden = !missed && !merged && owner[jj] >= 0 && owner[jj] != i;
        int confused = !missed && !merged && !hidden && !same;
        int64_t status = missed ? 1 : merged ? 4 : hidden ? 3 : confused ? 2 : 0;
        if (merged || confused)
            for (Py_ssize_t r = 0; r <= nc; r++) event[r * W + jj + 1] = 1;
        if (status != 0) memset(event + (i + 1) * W, 1, (size_t)W);
        for (Py_ssize_t m = 0; m < na; m++)
            if (owner[m] >= 0 && owner[m] != i) event[(i + 1) * W + m + 1] = 1;
        int mergeable = 0;
        for (Py_ssize_t r = 0; r < nc && !mergeable; r++)
            mergeable = near[(i + 1) * (nc + 1) + r + 1] && real[r] && cat_c[r] == cat_c[i];
        int64_t *out = rows + 7 * n++;
        out[0] = cat_c[i], out[1] = area_c[i], out[2] = status;
        out[3] = confused ? cat_a[jj] : 0, out[4] = parts[i];
        out[5] = status != 4 ? lost[i] : 0, out[6] = mergeable;
    }
#undef T
#undef COVERS
    return n;
}

/* pair_objects(table, nc, na, cat_c, cat_a, thing_c, crowd_c, thing_a, near, min_area, rows,
 *              event) -> n
 * objects_loop over buffers: table int64 (nc + 1) x (na + 1), cat_c / cat_a int64, thing_c /
 * crowd_c / thing_a / near (nc + 1) x (nc + 1) bool, rows int64 nc x 7 (written: the first n),
 * event a zeroed bool (nc + 1) x (na + 1) (set where the module notes say). */
static PyObject *pair_objects(PyObject *self, PyObject *args) {
    Py_buffer tab, cat_c, cat_a, thing_c, crowd_c, thing_a, near, rows, event;
    Py_ssize_t nc, na;
    double min_area;
    if (!PyArg_ParseTuple(args, "y*nny*y*y*y*y*y*dw*w*", &tab, &nc, &na, &cat_c, &cat_a,
                          &thing_c, &crowd_c, &thing_a, &near, &min_area, &rows, &event))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = 0;
    int64_t *scratch = NULL;
    /* nc * nc scratch cells (and every size below) far from any overflow, on 32 bits too */
    if (nc < 0 || na < 0 || nc > 4096 || na > (1 << 24)) {
        PyErr_SetString(PyExc_ValueError, "nc must be in [0, 4096] and na in [0, 2 ** 24]");
        goto done;
    }
    if (check_shape(nc + 1, na + 1) || check_size(&tab, (nc + 1) * (na + 1), 8, "table") ||
        check_size(&cat_c, nc, 8, "cat_c") || check_size(&cat_a, na, 8, "cat_a") ||
        check_size(&thing_c, nc, 1, "thing_c") || check_size(&crowd_c, nc, 1, "crowd_c") ||
        check_size(&thing_a, na, 1, "thing_a") ||
        check_size(&near, (nc + 1) * (nc + 1), 1, "near") ||
        check_size(&rows, nc * 7, 8, "rows") || check_size(&event, (nc + 1) * (na + 1), 1, "event"))
        goto done;
    scratch = malloc((size_t)(3 * na + 4 * nc + nc * nc + 1) * sizeof(int64_t) + (size_t)nc);
    if (scratch == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    n = objects_loop(tab.buf, nc, na, cat_c.buf, cat_a.buf, thing_c.buf, crowd_c.buf,
                     thing_a.buf, near.buf, min_area, rows.buf, event.buf, scratch);
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(n);
done:
    free(scratch);
    PyBuffer_Release(&tab);
    PyBuffer_Release(&cat_c);
    PyBuffer_Release(&cat_a);
    PyBuffer_Release(&thing_c);
    PyBuffer_Release(&crowd_c);
    PyBuffer_Release(&thing_a);
    PyBuffer_Release(&near);
    PyBuffer_Release(&rows);
    PyBuffer_Release(&event);
    return result;
}

/* The pairs of tuples met d apart along axis 1 (rows) or 0 (columns): table[x * n_t + y] = 1
 * for every differing pair (x first in row-major order), the pixel pairs visited as
 * DEFINE_NEIGHBOUR_LOOP visits them. Returns the pairs outside the table (not marked). */
#define DEFINE_MARK_LOOP(T, S)                                                                 \
    static Py_ssize_t mark_loop_##S(const T *L, Py_ssize_t h, Py_ssize_t w, Py_ssize_t d,      \
                                    int axis, Py_ssize_t n_t, uint8_t *table) {                \
        Py_ssize_t bad = 0, rows = axis ? h : h - d, cols = axis ? w - d : w;                  \
        Py_ssize_t step = axis ? d : w * d;                                                    \
        const Py_ssize_t per = 16 / (Py_ssize_t)sizeof(T);                                     \
        for (Py_ssize_t r = 0; r < rows; r++) {                                                \
            const T *a = L + r * w, *b = a + step;                                             \
            Py_ssize_t j = 0;                                                                  \
            if (HAVE_SSE2)                                                                     \
                for (; j + per <= cols; j += per) {                                            \
                    unsigned diff = ~equal16(a + j, b + j) & 0xFFFFu;                          \
                    while (diff) {                                                             \
                        int k = CTZ(diff) / (int)sizeof(T);                                    \
                        diff &= ~(((1u << sizeof(T)) - 1) << (k * (int)sizeof(T)));           \
                        int64_t x = (int64_t)a[j + k], y = (int64_t)b[j + k];                  \
                        if (x < 0 || y < 0 || x >= n_t || y >= n_t) bad++;                     \
                        else table[x * n_t + y] = 1;                                           \
                    }                                                                          \
                }                                                                              \
            for (; j < cols; j++) {                                                            \
                if (a[j] == b[j]) continue;                                                    \
                int64_t x = (int64_t)a[j], y = (int64_t)b[j];                                  \
                if (x < 0 || y < 0 || x >= n_t || y >= n_t) bad++;                             \
                else table[x * n_t + y] = 1;                                                   \
            }                                                                                  \
        }                                                                                      \
        return bad;                                                                            \
    }
DEFINE_MARK_LOOP(uint8_t, u8)
DEFINE_MARK_LOOP(uint16_t, u16)
DEFINE_MARK_LOOP(int32_t, i32)

/* neighbour_marks(labels, h, w, d0, d1, n_t, table[, itemsize]) -> bad
 * mark_loop for every d in d0..d1 along both axes of an h x w map of 1, 2 or 4 bytes per label
 * (uint8, uint16, int32): table (uint8 or bool, n_t * n_t) gets 1 at x * n_t + y for each pair
 * of tuples (x, y) met; the pairs whose labels are not below n_t are counted, not marked. */
static PyObject *neighbour_marks(PyObject *self, PyObject *args) {
    Py_buffer lab, table;
    Py_ssize_t h, w, d0, d1, n_t, itemsize = 4;
    if (!PyArg_ParseTuple(args, "y*nnnnnw*|n", &lab, &h, &w, &d0, &d1, &n_t, &table, &itemsize))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t bad = 0;
    if (h < 0 || w < 0 || d0 < 1 || d1 < d0 || n_t < 0 || n_t > 3037000499) {
        PyErr_SetString(PyExc_ValueError, "h and w must be >= 0, 1 <= d0 <= d1, 0 <= n_t");
        goto done;
    }
    if (check_shape(h, w) || check_width(itemsize, "labels") ||
        check_size(&lab, h * w, itemsize, "labels") || check_size(&table, n_t * n_t, 1, "table"))
        goto done;
    Py_BEGIN_ALLOW_THREADS
    if (d1 > (h > w ? h : w)) d1 = h > w ? h : w; /* no pixel pair lies further apart */
    for (Py_ssize_t d = d0; d <= d1; d++)
        for (int axis = 1; axis >= 0; axis--) {
            if ((axis ? w : h) <= d) continue;
            if (itemsize == 1)
                bad += mark_loop_u8(lab.buf, h, w, d, axis, n_t, table.buf);
            else if (itemsize == 2)
                bad += mark_loop_u16(lab.buf, h, w, d, axis, n_t, table.buf);
            else
                bad += mark_loop_i32(lab.buf, h, w, d, axis, n_t, table.buf);
        }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(bad);
done:
    PyBuffer_Release(&lab);
    PyBuffer_Release(&table);
    return result;
}

/* ---- Disagreement heatmaps (agreement/image/disagreement.py): block averages of per-code
 * maps, packed tuple changes, the pixels of flagged tuples, the pair cells ---- */

/* pooled_codes: out[planes[k], gi, gj] = the average of values[code, k] over the fr x fc cell
 * (gi, gj) of an h x w code map, as disagreement._pooled_codes computes it: a cell whose codes
 * are all equal is that code's value (exact: equal float32 values add up exactly in float64 and
 * the scaling by a power of two undoes the sum); the others add, per column j of the cell, its
 * rows in order, then the columns in order, and multiply by 1 / (fr * fc). Codes >= t (or
 * negative) are counted in *bad and their cells left unwritten. */
/* 2, 4 or 8 (the bytes of a cell's row read as one integer), else 0. */
static inline int load_width(Py_ssize_t bytes) {
    return bytes == 2 || bytes == 4 || bytes == 8 ? (int)bytes : 0;
}

/* The 2, 4 or 8 bytes at p as an unsigned integer (host order, as the items were laid). */
static inline uint64_t load_row(const void *p, int bytes) {
    if (bytes == 2) {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    if (bytes == 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

#define DEFINE_POOLED_LOOP(T, S)                                                               \
    static inline __attribute__((always_inline)) Py_ssize_t pooled22_##S(                      \
        const T *C, Py_ssize_t h, Py_ssize_t w, const double *V, Py_ssize_t t, Py_ssize_t m,   \
        double *out, const int64_t *off) {                                                     \
        const Py_ssize_t g0 = h / 2, g1 = w / 2;                                               \
        Py_ssize_t bad = 0;                                                                    \
        for (Py_ssize_t gi = 0; gi < g0; gi++) {                                               \
            const T *restrict r0 = C + 2 * gi * w, *restrict r1 = r0 + w;                      \
            double *restrict o = out + gi * g1;                                                \
            for (Py_ssize_t gj = 0; gj < g1; gj++) {                                           \
                /* as 64-bit values and an int: no narrow spill read back wider (a stall) */   \
                const uint64_t a = (uint64_t)(int64_t)r0[2 * gj],                              \
                               b = (uint64_t)(int64_t)r0[2 * gj + 1],                          \
                               c = (uint64_t)(int64_t)r1[2 * gj],                              \
                               d = (uint64_t)(int64_t)r1[2 * gj + 1];                          \
                const int same = (a == b) & (a == c) & (a == d);                               \
                if (same) {                                                                    \
                    if (a >= (uint64_t)t) {                                                    \
                        bad++;                                                                 \
                        continue;                                                              \
                    }                                                                          \
                    const double *v = V + (Py_ssize_t)a * m;                                   \
                    for (Py_ssize_t k = 0; k < m; k++) o[off[k] + gj] = v[k];                  \
                    continue;                                                                  \
                }                                                                              \
                if (a >= (uint64_t)t || b >= (uint64_t)t || c >= (uint64_t)t ||                \
                    d >= (uint64_t)t) {                                                        \
                    bad++;                                                                     \
                    continue;                                                                  \
                }                                                                              \
                const double *va = V + (Py_ssize_t)a * m, *vb = V + (Py_ssize_t)b * m,         \
                             *vc = V + (Py_ssize_t)c * m, *vd = V + (Py_ssize_t)d * m;         \
                for (Py_ssize_t k = 0; k < m; k++) /* rows (a + c, b + d), then columns */     \
                    o[off[k] + gj] = ((va[k] + vc[k]) + (vb[k] + vd[k])) * 0.25;               \
            }                                                                                  \
        }                                                                                      \
        return bad;                                                                            \
    }                                                                                          \
    static Py_ssize_t pooled_loop_##S(const T *C, Py_ssize_t h, Py_ssize_t w, const double *V, \
                                      Py_ssize_t t, Py_ssize_t m, Py_ssize_t fr,               \
                                      Py_ssize_t fc, double *out, const int64_t *off) {        \
        const Py_ssize_t g0 = h / fr, g1 = w / fc;                                             \
        const double scale = 1.0 / (double)(fr * fc);                                          \
        /* a cell's row of 2, 4 or 8 bytes: read as one integer, compared with c0 repeated */  \
        const int row_bytes = load_width(fc * (Py_ssize_t)sizeof(T));                          \
        const uint64_t item_mask = sizeof(T) == 8 ? ~(uint64_t)0                               \
                                                  : ((uint64_t)1 << (8 * sizeof(T))) - 1;      \
        uint64_t spread = 0;                                                                   \
        for (Py_ssize_t j = 0; j < fc && row_bytes; j++)                                      \
            spread |= (uint64_t)1 << (8 * sizeof(T) * j);                                      \
        Py_ssize_t bad = 0;                                                                    \
        if (fr == 2 && fc == 2) { /* the usual case, unrolled (and for 1 to 4 maps) */         \
            if (m == 1) return pooled22_##S(C, h, w, V, t, 1, out, off);                       \
            if (m == 2) return pooled22_##S(C, h, w, V, t, 2, out, off);                       \
            if (m == 3) return pooled22_##S(C, h, w, V, t, 3, out, off);                       \
            if (m == 4) return pooled22_##S(C, h, w, V, t, 4, out, off);                       \
            return pooled22_##S(C, h, w, V, t, m, out, off);                                   \
        }                                                                                      \
        for (Py_ssize_t gi = 0; gi < g0; gi++) {                                               \
            const T *row = C + gi * fr * w;                                                    \
            double *o = out + gi * g1;                                                         \
            for (Py_ssize_t gj = 0; gj < g1; gj++) {                                           \
                const T *cell = row + gj * fc;                                                 \
                const T c0 = cell[0];                                                          \
                int uniform = 1;                                                               \
                if (row_bytes) { /* a row of the cell compared at once as one integer */      \
                    const uint64_t want = ((uint64_t)c0 & item_mask) * spread;                 \
                    for (Py_ssize_t i = 0; i < fr && uniform; i++)                             \
                        uniform = load_row(cell + i * w, row_bytes) == want;                   \
                } else                                                                         \
                    for (Py_ssize_t i = 0; i < fr && uniform; i++) {                           \
                        const T *p = cell + i * w;                                             \
                        int diff = 0; /* (an int per row: no narrow spill read back wider) */  \
                        for (Py_ssize_t j = 0; j < fc; j++) diff |= p[j] != c0;                \
                        uniform = !diff;                                                       \
                    }                                                                          \
                if (uniform) {                                                                 \
                    if ((uint64_t)(int64_t)c0 >= (uint64_t)t) {                                \
                        bad++;                                                                 \
                        continue;                                                              \
                    }                                                                          \
                    const double *v = V + (Py_ssize_t)c0 * m;                                  \
                    for (Py_ssize_t k = 0; k < m; k++) o[off[k] + gj] = v[k];               \
                    continue;                                                                  \
                }                                                                              \
                int ok = 1;                                                                    \
                for (Py_ssize_t i = 0; i < fr; i++)                                            \
                    for (Py_ssize_t j = 0; j < fc; j++)                                        \
                        ok &= (uint64_t)(int64_t)cell[i * w + j] < (uint64_t)t;                \
                if (!ok) {                                                                     \
                    bad++;                                                                     \
                    continue;                                                                  \
                }                                                                              \
                for (Py_ssize_t k = 0; k < m; k++) {                                           \
                    double total = 0.0;                                                        \
                    for (Py_ssize_t j = 0; j < fc; j++) {                                      \
                        double acc = V[(Py_ssize_t)cell[j] * m + k];                           \
                        for (Py_ssize_t i = 1; i < fr; i++)                                    \
                            acc += V[(Py_ssize_t)cell[i * w + j] * m + k];                     \
                        total = j ? total + acc : acc;                                         \
                    }                                                                          \
                    o[off[k] + gj] = total * scale;                                         \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        return bad;                                                                            \
    }
DEFINE_POOLED_LOOP(uint8_t, u8)
DEFINE_POOLED_LOOP(uint16_t, u16)
DEFINE_POOLED_LOOP(int32_t, i32)

/* pooled_codes(code, h, w, itemsize, values, t, m, fr, fc, out, planes, p) -> None
 * code: an h x w map of 1 (uint8), 2 (uint16) or 4 (int32) bytes per item; values: float64,
 * t x m (the m maps' values of each code, negative zeros already made +0.0); out: float64,
 * p x (h / fr) x (w / fc), map k written into plane planes[k] (int64, m of them, in [0, p)).
 * fr and fc must divide h and w. IndexError when a code is not in [0, t). */
static PyObject *pooled_codes(PyObject *self, PyObject *args) {
    Py_buffer code, values, out, planes;
    Py_ssize_t h, w, itemsize, t, m, fr, fc, p;
    if (!PyArg_ParseTuple(args, "y*nnny*nnnnw*y*n", &code, &h, &w, &itemsize, &values, &t, &m,
                          &fr, &fc, &out, &planes, &p))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t bad = 0;
    int64_t *off = NULL;
    if (check_shape(h, w) || check_width(itemsize, "code")) goto done;
    if (t < 0 || m < 0 || p < 0 || fr < 1 || fc < 1 || h % fr || w % fc) {
        PyErr_SetString(PyExc_ValueError,
                        "t, m and p must be >= 0, fr and fc >= 1 and divide h and w");
        goto done;
    }
    if ((h && fr > h) || (w && fc > w)) { /* (h or w 0: any factor divides it) */
        PyErr_SetString(PyExc_ValueError, "fr and fc must be at most h and w");
        goto done;
    }
    Py_ssize_t cells = (h / fr) * (w / fc);
    if (check_shape(t, m) || check_shape(p, cells)) goto done;
    if (check_size(&code, h * w, itemsize, "code") ||
        check_size(&values, t * m, sizeof(double), "values") ||
        check_size(&out, p * cells, sizeof(double), "out") ||
        check_size(&planes, m, sizeof(int64_t), "planes"))
        goto done;
    off = PyMem_Malloc(sizeof(int64_t) * (size_t)(m + 1));
    if (!off) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < m; k++) {
        int64_t q = ((const int64_t *)planes.buf)[k];
        if (q < 0 || q >= p) {
            PyErr_Format(PyExc_ValueError, "planes must be in [0, %zd), got %lld", p,
                         (long long)q);
            goto done;
        }
        off[k] = q * cells;
    }
    if (!cells) { /* nothing to write (and no loop over rows of no cell) */
        result = Py_NewRef(Py_None);
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    if (itemsize == 1)
        bad = pooled_loop_u8(code.buf, h, w, values.buf, t, m, fr, fc, out.buf, off);
    else if (itemsize == 2)
        bad = pooled_loop_u16(code.buf, h, w, values.buf, t, m, fr, fc, out.buf, off);
    else
        bad = pooled_loop_i32(code.buf, h, w, values.buf, t, m, fr, fc, out.buf, off);
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_Format(PyExc_IndexError, "code must be in [0, %zd), got %zd cells outside", t, bad);
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(off);
    PyBuffer_Release(&code);
    PyBuffer_Release(&values);
    PyBuffer_Release(&out);
    PyBuffer_Release(&planes);
    return result;
}

/* tuple_changes: bit k of rows[r, c] (c < w - 1): map k's segment differs between pixels (r, c)
 * and (r, c + 1), i.e. codes[index[r, c], k] != codes[index[r, c + 1], k]; of cols[r, c]
 * (r < h - 1): between (r, c) and (r + 1, c). Only pixels whose tuples differ are looked at
 * (16 bytes of index compared at once with SSE2); the rest, the last column of rows and the
 * last row of cols stay as given (zeroed by the caller). Tuples >= t (or negative) are counted
 * in *bad. */
static inline uint32_t change_bits(const int64_t *codes, Py_ssize_t n, Py_ssize_t a,
                                   Py_ssize_t b) {
    const int64_t *x = codes + a * n, *y = codes + b * n;
    uint32_t bits = 0;
    for (Py_ssize_t k = 0; k < n; k++) bits |= (uint32_t)(x[k] != y[k]) << k;
    return bits;
}

static inline void put_bits(void *out, Py_ssize_t i, uint32_t v, int width) {
    if (width == 1)
        ((uint8_t *)out)[i] = (uint8_t)v;
    else if (width == 2)
        ((uint16_t *)out)[i] = (uint16_t)v;
    else
        ((uint32_t *)out)[i] = v;
}

#define DEFINE_CHANGES_LOOP(T, S)                                                              \
    static Py_ssize_t changes_loop_##S(const T *L, Py_ssize_t h, Py_ssize_t w,                 \
                                       const int64_t *codes, Py_ssize_t t, Py_ssize_t n,       \
                                       void *rows, void *cols, int width) {                    \
        const Py_ssize_t per = 16 / (Py_ssize_t)sizeof(T);                                     \
        Py_ssize_t bad = 0;                                                                    \
        for (int axis = 1; axis >= 0; axis--) {                                                \
            const Py_ssize_t nr = axis ? h : h - 1, nc = axis ? w - 1 : w;                     \
            const Py_ssize_t step = axis ? 1 : w;                                              \
            void *out = axis ? rows : cols;                                                    \
            for (Py_ssize_t r = 0; r < nr; r++) {                                              \
                const T *a = L + r * w, *b = a + step;                                         \
                Py_ssize_t j = 0;                                                              \
                for (;;) {                                                                     \
                    if (HAVE_SSE2)                                                             \
                        while (j + per <= nc && equal16(a + j, b + j) == 0xFFFFu) j += per;    \
                    if (j >= nc) break;                                                        \
                    Py_ssize_t end = j + per < nc ? j + per : nc;                              \
                    for (; j < end; j++) {                                                     \
                        if (a[j] == b[j]) continue;                                            \
                        uint64_t x = (uint64_t)(int64_t)a[j], y = (uint64_t)(int64_t)b[j];     \
                        if (x >= (uint64_t)t || y >= (uint64_t)t) {                            \
                            bad++;                                                             \
                            continue;                                                          \
                        }                                                                      \
                        put_bits(out, r * w + j, change_bits(codes, n, (Py_ssize_t)x,          \
                                                             (Py_ssize_t)y), width);           \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        return bad;                                                                            \
    }
DEFINE_CHANGES_LOOP(uint8_t, u8)
DEFINE_CHANGES_LOOP(uint16_t, u16)
DEFINE_CHANGES_LOOP(int32_t, i32)

/* tuple_changes(index, h, w, itemsize, codes, t, n, rows, cols, width) -> None
 * index: an h x w map of tuples, 1 (uint8), 2 (uint16) or 4 (int32) bytes per item; codes:
 * int64, t x n (each tuple's segment in each of the n <= 32 maps); rows and cols: zeroed h x w
 * maps of width (1, 2 or 4) bytes per item, n <= 8 * width. IndexError when a tuple is not in
 * [0, t). */
static PyObject *tuple_changes(PyObject *self, PyObject *args) {
    Py_buffer index, codes, rows, cols;
    Py_ssize_t h, w, itemsize, t, n, width;
    if (!PyArg_ParseTuple(args, "y*nnny*nnw*w*n", &index, &h, &w, &itemsize, &codes, &t, &n,
                          &rows, &cols, &width))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t bad = 0;
    if (check_shape(h, w) || check_width(itemsize, "index") || check_width(width, "rows"))
        goto done;
    if (t < 0 || n < 0 || n > 8 * width) {
        PyErr_SetString(PyExc_ValueError, "t must be >= 0 and n in [0, 8 * width]");
        goto done;
    }
    if (check_shape(t, n) || check_size(&index, h * w, itemsize, "index") ||
        check_size(&codes, t * n, sizeof(int64_t), "codes") ||
        check_size(&rows, h * w, width, "rows") || check_size(&cols, h * w, width, "cols"))
        goto done;
    if (h > 0 && w > 0) {
        Py_BEGIN_ALLOW_THREADS
        if (itemsize == 1)
            bad = changes_loop_u8(index.buf, h, w, codes.buf, t, n, rows.buf, cols.buf, (int)width);
        else if (itemsize == 2)
            bad = changes_loop_u16(index.buf, h, w, codes.buf, t, n, rows.buf, cols.buf,
                                   (int)width);
        else
            bad = changes_loop_i32(index.buf, h, w, codes.buf, t, n, rows.buf, cols.buf,
                                   (int)width);
        Py_END_ALLOW_THREADS
    }
    if (bad) {
        PyErr_Format(PyExc_IndexError, "index must be in [0, %zd), got %zd pixels outside", t,
                     bad);
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&index);
    PyBuffer_Release(&codes);
    PyBuffer_Release(&rows);
    PyBuffer_Release(&cols);
    return result;
}
/* pair_marks: for each pixel q of where (flat indices into an h x w map of tuples), each row s
 * of slots (t x r, int64: the slot of tuple index[q] in row s, -1 for none) and each cell of a
 * g0 x g1 grid the pixel overlaps (the image stretched onto the grid: rows y * g0 / h to
 * ((y + 1) * g0 - 1) / h, columns alike), cells[slot * g0 * g1 + cell] = 1. A pixel of the same
 * tuple and cells as the one before is skipped (the same marks). Pixels outside the map, tuples
 * >= t and slots >= p are counted in *bad. */
#define DEFINE_MARKS_LOOP(T, S)                                                                \
    static Py_ssize_t marks_loop_##S(const int64_t *where, Py_ssize_t k, const T *L,           \
                                     int64_t h, int64_t w, int64_t g1, const int64_t *rows,     \
                                     const int64_t *cols, const int64_t *slots, Py_ssize_t t,  \
                                     Py_ssize_t r, uint8_t *cells, Py_ssize_t p,               \
                                     int64_t n_cells) {                                        \
        Py_ssize_t bad = 0;                                                                    \
        int64_t last_tup = -1, last_y = -1, last_x = -1, y = -1, start = -w; /* no row */    \
        for (Py_ssize_t i = 0; i < k; i++) {                                                   \
            const int64_t q = where[i];                                                        \
            if (q < 0 || q >= h * w) {                                                         \
                bad++;                                                                         \
                continue;                                                                      \
            }                                                                                  \
            const int64_t tup = (int64_t)L[q];                                                 \
            if (tup < 0 || tup >= t) {                                                         \
                bad++;                                                                         \
                continue;                                                                      \
            }                                                                                  \
            if (q < start || q >= start + w) y = q / w, start = y * w; /* a new row */         \
            const int64_t x = q - start;                                                       \
            /* the same tuple over the same cells as the pixel before: the same marks */      \
            if (tup == last_tup && rows[2 * y] == rows[2 * last_y] &&                          \
                rows[2 * y + 1] == rows[2 * last_y + 1] && cols[2 * x] == cols[2 * last_x] &&  \
                cols[2 * x + 1] == cols[2 * last_x + 1])                                       \
                continue;                                                                      \
            last_tup = tup, last_y = y, last_x = x;                                            \
            const int64_t r0 = rows[2 * y], r1 = rows[2 * y + 1];                              \
            const int64_t c0 = cols[2 * x], c1 = cols[2 * x + 1];                              \
            const int64_t *row = slots + tup * r;                                              \
            for (Py_ssize_t s = 0; s < r; s++) {                                               \
                const int64_t slot = row[s];                                                   \
                if (slot < 0) continue;                                                        \
                if (slot >= p) {                                                               \
                    bad++;                                                                     \
                    continue;                                                                  \
                }                                                                              \
                uint8_t *c = cells + slot * n_cells;                                           \
                for (int64_t a = r0; a <= r1; a++)                                             \
                    for (int64_t b = c0; b <= c1; b++) c[a * g1 + b] = 1;                      \
            }                                                                                  \
        }                                                                                      \
        return bad;                                                                            \
    }
DEFINE_MARKS_LOOP(uint8_t, u8)
DEFINE_MARKS_LOOP(uint16_t, u16)
DEFINE_MARKS_LOOP(int32_t, i32)

/* pair_marks(where, k, index, h, w, itemsize, g0, g1, slots, t, r, cells, p) -> None
 * where: int64, k flat pixel indices; index: an h x w map of tuples of 1 (uint8), 2 (uint16) or
 * 4 (int32) bytes per item; slots: int64, t x r; cells: uint8 / bool, p x g0 x g1 (marks are
 * added: zeroed by the caller). IndexError for a pixel, tuple or slot out of range. */
static PyObject *pair_marks(PyObject *self, PyObject *args) {
    Py_buffer where, index, slots, cells;
    Py_ssize_t k, h, w, itemsize, g0, g1, t, r, p;
    if (!PyArg_ParseTuple(args, "y*ny*nnnnny*nnw*n", &where, &k, &index, &h, &w, &itemsize, &g0,
                          &g1, &slots, &t, &r, &cells, &p))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t bad = 0;
    int64_t *lines = NULL;
    if (check_shape(h, w) || check_width(itemsize, "index")) goto done;
    if (g0 < 1 || g1 < 1 || t < 0 || r < 0 || p < 0 || k < 0 || check_shape(h + 1, g0) ||
        check_shape(w + 1, g1) || check_shape(g0, g1) || check_shape(t, r) ||
        check_shape(p, g0 * g1)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "g0 and g1 must be >= 1, k, t, r and p >= 0");
        goto done;
    }
    if (check_size(&where, k, sizeof(int64_t), "where") ||
        check_size(&index, h * w, itemsize, "index") ||
        check_size(&slots, t * r, sizeof(int64_t), "slots") ||
        check_size(&cells, p * g0 * g1, 1, "cells"))
        goto done;
    if (!h || !w) { /* a map of no pixel: every pixel given lies outside it */
        if (k)
            PyErr_Format(PyExc_IndexError, "pixels, tuples and slots must be in range, got %zd "
                         "outside", k);
        else
            result = Py_NewRef(Py_None);
        goto done;
    }
    if (h + w + 1 > PY_SSIZE_T_MAX / 16) { /* (the line table below: 16 bytes a row or column) */
        PyErr_NoMemory();
        goto done;
    }
    /* each row's and each column's first and last cell (no division per pixel) */
    lines = PyMem_Malloc(sizeof(int64_t) * 2 * (size_t)(h + w + 1));
    if (!lines) {
        PyErr_NoMemory();
        goto done;
    }
    for (int64_t y = 0; y < h; y++)
        lines[2 * y] = y * g0 / h, lines[2 * y + 1] = ((y + 1) * g0 - 1) / h;
    int64_t *cols = lines + 2 * h;
    for (int64_t x = 0; x < w; x++)
        cols[2 * x] = x * g1 / w, cols[2 * x + 1] = ((x + 1) * g1 - 1) / w;
    Py_BEGIN_ALLOW_THREADS
    if (itemsize == 1)
        bad = marks_loop_u8(where.buf, k, index.buf, h, w, g1, lines, cols, slots.buf, t, r,
                            cells.buf, p, g0 * g1);
    else if (itemsize == 2)
        bad = marks_loop_u16(where.buf, k, index.buf, h, w, g1, lines, cols, slots.buf, t, r,
                             cells.buf, p, g0 * g1);
    else
        bad = marks_loop_i32(where.buf, k, index.buf, h, w, g1, lines, cols, slots.buf, t, r,
                             cells.buf, p, g0 * g1);
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_Format(PyExc_IndexError, "pixels, tuples and slots must be in range, got %zd "
                     "outside", bad);
        goto done;
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(lines);
    PyBuffer_Release(&where);
    PyBuffer_Release(&index);
    PyBuffer_Release(&slots);
    PyBuffer_Release(&cells);
    return result;
}

/* flagged_pixels(index, n, itemsize, flags, t, out, room) -> count
 * The flat indices q (increasing) of the n items of a map of tuples (1, 2 or 4 bytes per item)
 * whose tuple is flagged (flags: t bytes, nonzero = flagged): how many, written into out (int64,
 * room for room of them: the first room written) unless out is None (only counted).
 * IndexError for a tuple not in [0, t). */
#define DEFINE_FLAGGED_LOOP(T, S)                                                              \
    static Py_ssize_t flagged_loop_##S(const T *L, Py_ssize_t n, const uint8_t *flags,         \
                                       Py_ssize_t t, int64_t *out, Py_ssize_t room,            \
                                       Py_ssize_t *bad) {                                      \
        Py_ssize_t k = 0, q = 0;                                                               \
        while (q < n) { /* a run of one tuple at a time (run_end: 16 bytes compared at once) */ \
            const T v = L[q];                                                                  \
            const Py_ssize_t end = run_end_##S(L, q, n, v);                                    \
            if ((uint64_t)(int64_t)v >= (uint64_t)t)                                           \
                *bad += end - q;                                                               \
            else if (flags[(Py_ssize_t)v]) {                                                   \
                for (Py_ssize_t i = q; i < end && k + (i - q) < room; i++)                     \
                    out[k + (i - q)] = i;                                                      \
                k += end - q;                                                                  \
            }                                                                                  \
            q = end;                                                                           \
        }                                                                                      \
        return k;                                                                              \
    }
DEFINE_FLAGGED_LOOP(uint8_t, u8)
DEFINE_FLAGGED_LOOP(uint16_t, u16)
DEFINE_FLAGGED_LOOP(int32_t, i32)

static PyObject *flagged_pixels(PyObject *self, PyObject *args) {
    Py_buffer index, flags, out = {0};
    Py_ssize_t n, itemsize, t, room = 0;
    PyObject *out_obj;
    if (!PyArg_ParseTuple(args, "y*nny*nO|n", &index, &n, &itemsize, &flags, &t, &out_obj,
                          &room))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t k = 0, bad = 0;
    int has_out = out_obj != Py_None;
    if (has_out && PyObject_GetBuffer(out_obj, &out, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS)) {
        PyBuffer_Release(&index);
        PyBuffer_Release(&flags);
        return NULL;
    }
    if (!has_out) room = 0;
    if (check_width(itemsize, "index") || check_size(&index, n, itemsize, "index") ||
        check_size(&flags, t, 1, "flags") ||
        (has_out && check_size(&out, room, sizeof(int64_t), "out")))
        goto done;
    {
        int64_t *o = has_out ? out.buf : NULL;
        Py_BEGIN_ALLOW_THREADS
        if (itemsize == 1)
            k = flagged_loop_u8(index.buf, n, flags.buf, t, o, room, &bad);
        else if (itemsize == 2)
            k = flagged_loop_u16(index.buf, n, flags.buf, t, o, room, &bad);
        else
            k = flagged_loop_i32(index.buf, n, flags.buf, t, o, room, &bad);
        Py_END_ALLOW_THREADS
    }
    if (bad) {
        PyErr_Format(PyExc_IndexError, "index must be in [0, %zd), got %zd pixels outside", t,
                     bad);
        goto done;
    }
    result = PyLong_FromSsize_t(k);
done:
    if (has_out) PyBuffer_Release(&out);
    PyBuffer_Release(&index);
    PyBuffer_Release(&flags);
    return result;
}
/* ---- end of the disagreement heatmaps' kernels ---- */

/* ---- the ambiguous regions (agreement/image/regions.py) ---- */

/* dst |= src shifted by k bits toward higher columns (k > 0) or lower ones (k < 0), rows of
 * `words` 64-bit words; bits shifted out of the row are dropped. */
static void shift_or(uint64_t *restrict dst, const uint64_t *restrict src, Py_ssize_t words,
                     Py_ssize_t k) {
    Py_ssize_t q = (k < 0 ? -k : k) / 64;
    int b = (int)((k < 0 ? -k : k) % 64);
    for (Py_ssize_t i = 0; i < words; i++) {
        Py_ssize_t j = k >= 0 ? i - q : i + q; /* the source word of word i */
        uint64_t v = 0;
        if (k >= 0) {
            if (j >= 0) v = src[j] << b;
            if (b && j - 1 >= 0) v |= src[j - 1] >> (64 - b);
        } else {
            if (j < words) v = src[j] >> b;
            if (b && j + 1 < words) v |= src[j + 1] << (64 - b);
        }
        dst[i] |= v;
    }
}

/* opening_at(pixels, h, w, r, out)
 * regions._opening of the h x w mask of the pixels (int64, increasing flat indices), read at
 * the pixels: out (uint8, n) = 1 where the pixel survives an erosion then a dilation with a
 * (2r+1) square (windows clipped at the border: outside counts as set for the erosion, unset
 * for the dilation). On bit rows: the erosion along rows from the runs of pixels (a run
 * [c0, c1] keeps [c0 + r, c1 - r], up to a border it touches), along columns an AND of rows;
 * the dilation ORs of shifted rows, then of rows, read at the pixels. Memory: three bits a
 * pixel of the map. */
static PyObject *opening_at(PyObject *self, PyObject *args) {
    Py_buffer pix, out;
    Py_ssize_t h, w, r;
    if (!PyArg_ParseTuple(args, "y*nnnw*", &pix, &h, &w, &r, &out)) return NULL;
    PyObject *result = NULL;
    uint64_t *bits = NULL;
    Py_ssize_t n = pix.len / 8;
    if (h < 1 || w < 1 || r < 0 || h > INT32_MAX || w > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "h and w must be in [1, 2**31) and r >= 0");
        goto done;
    }
    if (check_shape(h, w) || check_size(&pix, n, 8, "pixels") || check_size(&out, n, 1, "out"))
        goto done;
    const int64_t *p = pix.buf;
    for (Py_ssize_t i = 0; i < n; i++)
        if (i == 0 ? p[0] < 0 : p[i] <= p[i - 1]) {
            PyErr_SetString(PyExc_ValueError, "pixels must be increasing and >= 0");
            goto done;
        }
    if (n && p[n - 1] >= h * w) {
        PyErr_SetString(PyExc_ValueError, "pixels must be within the map");
        goto done;
    }
    r = r < h || r < w ? r : (h > w ? h : w); /* (a longer window: the same as reaching it) */
    Py_ssize_t words = (w + 63) / 64, size = h * words;
    bits = PyMem_Calloc((size_t)(3 * size), sizeof(uint64_t));
    if (!bits) {
        PyErr_NoMemory();
        goto done;
    }
    {
        uint64_t *eh = bits, *a = bits + size, *b = bits + 2 * size;
        uint8_t *o = out.buf;
        Py_BEGIN_ALLOW_THREADS
        /* erosion along rows, from the runs */
        for (Py_ssize_t i = 0; i < n;) {
            Py_ssize_t e = i + 1;
            int64_t y = p[i] / w, c0 = p[i] - y * w;
            while (e < n && p[e] == p[e - 1] + 1 && p[e] - y * w < w) e++;
            int64_t c1 = p[e - 1] - y * w;
            int64_t lo = c0 == 0 ? 0 : c0 + r, hi = c1 == w - 1 ? w - 1 : c1 - r;
            uint64_t *row = eh + y * words;
            for (int64_t x = lo; x <= hi;) { /* bits lo..hi, a word at a time */
                int64_t end = (x | 63) < hi ? (x | 63) : hi;
                int span = (int)(end - x + 1);
                row[x >> 6] |= (span == 64 ? ~0ULL : ((1ULL << span) - 1)) << (x & 63);
                x = end + 1;
            }
            i = e;
        }
        /* along columns: the AND of the rows of the window */
        int any = 0;
        for (Py_ssize_t y = 0; y < h; y++) {
            Py_ssize_t y0 = y - r < 0 ? 0 : y - r, y1 = y + r >= h ? h - 1 : y + r;
            uint64_t *dst = a + y * words;
            memcpy(dst, eh + y0 * words, sizeof(uint64_t) * (size_t)words);
            for (Py_ssize_t yy = y0 + 1; yy <= y1; yy++)
                for (Py_ssize_t k = 0; k < words; k++) dst[k] &= eh[yy * words + k];
            for (Py_ssize_t k = 0; k < words && !any; k++) any = dst[k] != 0;
        }
        if (any) {
            /* dilation along rows: shifted ORs, then along columns, read at the pixels */
            for (Py_ssize_t y = 0; y < h; y++) {
                const uint64_t *src = a + y * words;
                uint64_t *dst = b + y * words;
                for (Py_ssize_t k = 0; k < words; k++) dst[k] = src[k];
                for (Py_ssize_t s = 1; s <= r && s < w; s++) {
                    shift_or(dst, src, words, s);
                    shift_or(dst, src, words, -s);
                }
            }
            for (Py_ssize_t y = 0; y < h; y++) { /* (a: the eroded rows, read no more) */
                Py_ssize_t y0 = y - r < 0 ? 0 : y - r, y1 = y + r >= h ? h - 1 : y + r;
                uint64_t *dst = a + y * words;
                memcpy(dst, b + y0 * words, sizeof(uint64_t) * (size_t)words);
                for (Py_ssize_t yy = y0 + 1; yy <= y1; yy++)
                    for (Py_ssize_t k = 0; k < words; k++) dst[k] |= b[yy * words + k];
            }
            for (Py_ssize_t i = 0; i < n; i++)
                o[i] = (a[(p[i] / w) * words + (p[i] % w >> 6)] >> (p[i] % w & 63)) & 1;
        } else {
            memset(o, 0, (size_t)n);
        }
        Py_END_ALLOW_THREADS
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(bits);
    PyBuffer_Release(&pix);
    PyBuffer_Release(&out);
    return result;
}

/* region_labels(pixels, w, thick, code, out[, codesize]) -> (n_thick, n_thin)
 * The ambiguous regions of the disputed pixels: pixels (int64, n strictly increasing flat indices
 * into a map w wide), thick (uint8, n: 1 where the pixel survives the opening) and code (n, int32
 * or int64 by codesize 4 or 8: the class pair of the pixel). Two pixels are joined when they are
 * 8-neighbours, both thick or both thin, and thin ones of one code. out (int64, n) receives the
 * region of each pixel: the thick components numbered from 1 in raster order of their first
 * pixel, then the thin ones from n_thick + 1 (as regions._components numbers them).
 * Over runs (neighbouring pixels of a row of one kind, as regions._connected): a run is joined
 * to the runs of the row above that overlap its columns widened by one (positions p0 <= q1 + 1 -
 * w and p1 >= q0 - 1 - w: at the image's borders the widened columns are the row above's own
 * ends, which the bounds reach anyway), in a union-find whose roots are the first run of their
 * set. out holds the runs' parents, then their regions, then the pixels' (filled backwards: a
 * run's pixels are at or after its own index). */
#define SAME_KIND(a, b) (T[a] == T[b] && (T[a] || (C4 ? C4[a] == C4[b] : C8[a] == C8[b])))
static PyObject *region_labels(PyObject *self, PyObject *args) {
    Py_buffer pix, thick, code, out;
    Py_ssize_t w, codesize = 8;
    if (!PyArg_ParseTuple(args, "y*ny*y*w*|n", &pix, &w, &thick, &code, &out, &codesize))
        return NULL;
    PyObject *result = NULL;
    int64_t *rs = NULL;
    Py_ssize_t n = pix.len / 8;
    if (w < 1) {
        PyErr_SetString(PyExc_ValueError, "w must be >= 1");
        goto done;
    }
    if (codesize != 4 && codesize != 8) {
        PyErr_Format(PyExc_ValueError, "code must have 4 or 8 bytes per item, got %zd", codesize);
        goto done;
    }
    if (check_size(&pix, n, 8, "pixels") || check_size(&thick, n, 1, "thick") ||
        check_size(&code, n, codesize, "code") || check_size(&out, n, 8, "out"))
        goto done;
    const int64_t *p = pix.buf;
    for (Py_ssize_t i = 0; i < n; i++)
        if (i == 0 ? p[0] < 0 : p[i] <= p[i - 1]) {
            PyErr_SetString(PyExc_ValueError, "pixels must be increasing and >= 0");
            goto done;
        }
    if (n && p[n - 1] > PY_SSIZE_T_MAX - 2 * w) { /* row ends computed below stay in range */
        PyErr_SetString(PyExc_ValueError, "pixels must be below PY_SSIZE_T_MAX - 2 w");
        goto done;
    }
    rs = PyMem_Malloc(sizeof(int64_t) * (size_t)(n + 1)); /* the runs' first pixels */
    if (!rs) {
        PyErr_NoMemory();
        goto done;
    }
    {
        const uint8_t *T = thick.buf;
        const int32_t *C4 = codesize == 4 ? code.buf : NULL;
        const int64_t *C8 = code.buf;
        int64_t *P = out.buf, nt = 0, nn = 0, runs = 0;
        Py_BEGIN_ALLOW_THREADS
        /* above: the runs of the row above [a0, a1), or none; here: those of this row from h0 */
        int64_t a0 = 0, a1 = 0, h0 = 0, row_end = 0, j = 0;
        for (Py_ssize_t i = 0; i < n;) {
            int64_t q0 = p[i];
            if (q0 >= row_end) { /* a new row: its runs start here */
                int64_t start = q0 - q0 % w;
                int adjacent = start == row_end && runs > h0; /* (the row above had runs) */
                a0 = adjacent ? h0 : runs;
                a1 = runs;
                j = a0;
                h0 = runs;
                row_end = start + w;
            }
            Py_ssize_t e = i + 1; /* the run: neighbouring pixels of one kind in the row */
            while (e < n && p[e] == p[e - 1] + 1 && p[e] < row_end && SAME_KIND(e, i)) e++;
            int64_t q1 = p[e - 1], k = runs++;
            rs[k] = i;
            P[k] = k;
            while (j < a1 && p[rs[j + 1] - 1] < q0 - 1 - w) j++;
            for (int64_t m = j; m < a1 && p[rs[m]] <= q1 + 1 - w; m++)
                if (SAME_KIND(rs[m], i)) {
                    int64_t x = m, y = k;
                    while (P[x] != x) x = P[x] = P[P[x]];
                    while (P[y] != y) y = P[y] = P[P[y]];
                    if (x < y) P[y] = x;
                    else if (y < x) P[x] = y;
                }
            i = e;
        }
        rs[runs] = n;
        for (int64_t k = 0; k < runs; k++) /* a root is its set's first run: seen first */
            P[k] = P[k] == k ? (T[rs[k]] ? nt++ : nn++) : P[P[k]];
        for (int64_t k = runs - 1; k >= 0; k--) {
            int64_t label = P[k] + (T[rs[k]] ? 1 : 1 + nt);
            for (int64_t i = rs[k]; i < rs[k + 1]; i++) P[i] = label;
        }
        Py_END_ALLOW_THREADS
        result = Py_BuildValue("LL", (long long)nt, (long long)nn);
    }
done:
    PyMem_Free(rs);
    PyBuffer_Release(&pix);
    PyBuffer_Release(&thick);
    PyBuffer_Release(&code);
    PyBuffer_Release(&out);
    return result;
}
#undef SAME_KIND

/* The loop of region_sums for one width of tuple ids: the number of kept pixels, -1 for a
 * region, tuple or pixel outside its table. (Rows: a pixel's row is the last one's or a later
 * one, so the first pixel of a region gives its top row and the last its bottom row.) */
#define DEFINE_SUMS_LOOP(U, S_)                                                                \
    static Py_ssize_t sums_loop_##S_(                                                          \
        const int64_t *restrict R, const int64_t *restrict M, Py_ssize_t m,                    \
        const U *restrict tup, Py_ssize_t nt, const int64_t *restrict p, Py_ssize_t n,         \
        Py_ssize_t w, const double *restrict S, const double *restrict I,                      \
        const int64_t *restrict J, Py_ssize_t k, double *restrict out, int64_t *restrict B,    \
        Py_ssize_t nr, int64_t *restrict C, int64_t *restrict KR, int64_t *restrict KP) {      \
        Py_ssize_t kept = 0;                                                                   \
        int64_t y = -1, start = 0, end = 0; /* the row of the pixel: [start, end) */           \
        for (Py_ssize_t i = 0; i < n; i++) {                                                   \
            int64_t g = R[i], t = (int64_t)tup[i], q = p[i];                                   \
            if (g < 0 || g >= m || t < 0 || t >= nt || q < start) return -1;                   \
            int64_t r = M[g];                                                                  \
            if (r < 0) continue;                                                               \
            if (q >= end) { /* (a division per row, not per pixel) */                          \
                y = q / w;                                                                     \
                start = y * w;                                                                 \
                end = start + w;                                                               \
            }                                                                                  \
            int64_t x = q - start;                                                             \
            double *o = out + r * (2 + k), v = I[t];                                           \
            o[0] += S[t];                                                                      \
            o[1] += v;                                                                         \
            o[2 + J[t]] += v;                                                                  \
            C[r * nt + t]++;                                                                   \
            if (B[r] == INT64_MAX) B[r] = y;                                                   \
            B[nr + r] = y;                                                                     \
            if (x < B[2 * nr + r]) B[2 * nr + r] = x;                                          \
            if (x > B[3 * nr + r]) B[3 * nr + r] = x;                                          \
            KR[kept] = r;                                                                      \
            KP[kept++] = q;                                                                    \
        }                                                                                      \
        return kept;                                                                           \
    }
DEFINE_SUMS_LOOP(uint16_t, u16)
DEFINE_SUMS_LOOP(int32_t, i32)

/* region_sums(region, remap, tup, tupsize, pixels, w, semantic, instance, majority, k, sums,
 *             boxes, counts, kept_region, kept_pixels) -> kept
 * One pass over the disputed pixels (n, in raster order) for the tables of the kept regions:
 * region (int64, n, each in [0, len(remap))), remap (int64: the kept region's row r in [0, R),
 * -1 for another), tup (n, uint16 or int32 by tupsize 2 or 4: the pixel's tuple in [0, T)),
 * pixels (int64, n: increasing flat indices into a map w wide); per tuple semantic and
 * instance (float64, T) and majority (int64, T, in [0, k)). Adds, pixel after pixel (the bits
 * of numpy.bincount's sums): sums (float64, R * (2 + k), zeroed) = per region the semantic
 * sum, the instance sum and the instance sum per majority label; counts (int64, R * T, zeroed)
 * the pixels per (region, tuple); boxes (int64, 4 R) = (min row, max row, min column, max
 * column) of every region (rows R each, set here); kept_region / kept_pixels (int64, n)
 * receive the kept pixels' rows and flat indices, in order. Returns their number. */
static PyObject *region_sums(PyObject *self, PyObject *args) {
    Py_buffer reg, remap, tup, pix, sem, inst, maj, sums, boxes, counts, kreg, kpix;
    Py_ssize_t tupsize, w, k;
    if (!PyArg_ParseTuple(args, "y*y*y*ny*ny*y*y*nw*w*w*w*w*", &reg, &remap, &tup, &tupsize,
                          &pix, &w, &sem, &inst, &maj, &k, &sums, &boxes, &counts, &kreg, &kpix))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = reg.len / 8, m = remap.len / 8, nt = sem.len / 8, nr = boxes.len / 32;
    if (w < 1 || k < 1 || k > (1 << 24) || (tupsize != 2 && tupsize != 4)) {
        PyErr_SetString(PyExc_ValueError, "w and k must be >= 1, k <= 2 ** 24, tupsize 2 or 4");
        goto done;
    }
    const int64_t *P0 = pix.buf;
    if (n && (P0[0] < 0 || P0[n - 1] > PY_SSIZE_T_MAX - 2 * w)) { /* (in order: checked below) */
        PyErr_SetString(PyExc_ValueError, "pixels must be in [0, PY_SSIZE_T_MAX - 2 w]");
        goto done;
    }
    if (check_size(&reg, n, 8, "region") || check_size(&remap, m, 8, "remap") ||
        check_size(&tup, n, tupsize, "tup") || check_size(&pix, n, 8, "pixels") ||
        check_size(&sem, nt, 8, "semantic") || check_size(&inst, nt, 8, "instance") ||
        check_size(&maj, nt, 8, "majority") || check_size(&boxes, 4 * nr, 8, "boxes") ||
        check_shape(nr, 2 + k) || check_size(&sums, nr * (2 + k), 8, "sums") ||
        check_shape(nr, nt) || check_size(&counts, nr * nt, 8, "counts") ||
        check_size(&kreg, n, 8, "kept_region") || check_size(&kpix, n, 8, "kept_pixels"))
        goto done;
    {
        const int64_t *R = reg.buf, *M = remap.buf, *p = pix.buf, *J = maj.buf;
        const uint16_t *U2 = tup.buf;
        const int32_t *U4 = tup.buf;
        const double *S = sem.buf, *I = inst.buf;
        double *out = sums.buf;
        int64_t *B = boxes.buf, *C = counts.buf, *KR = kreg.buf, *KP = kpix.buf;
        Py_ssize_t kept = 0;
        int bad = 0;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t t = 0; t < nt && !bad; t++) bad = J[t] < 0 || J[t] >= k;
        for (Py_ssize_t r = 0; r < m && !bad; r++) bad = M[r] < -1 || M[r] >= nr;
        for (Py_ssize_t r = 0; r < nr; r++) {
            B[r] = B[2 * nr + r] = INT64_MAX;
            B[nr + r] = B[3 * nr + r] = -1;
        }
        if (!bad)
            kept = tupsize == 2 ? sums_loop_u16(R, M, m, U2, nt, p, n, w, S, I, J, k, out, B, nr,
                                                C, KR, KP)
                                : sums_loop_i32(R, M, m, U4, nt, p, n, w, S, I, J, k, out, B, nr,
                                                C, KR, KP);
        bad = bad || kept < 0;
        Py_END_ALLOW_THREADS
        if (bad) {
            PyErr_SetString(PyExc_ValueError, "regions, rows, tuples, majority labels and pixels "
                                              "must be within their tables (pixels in order)");
            goto done;
        }
        result = PyLong_FromSsize_t(kept);
    }
done:
    PyBuffer_Release(&reg);
    PyBuffer_Release(&remap);
    PyBuffer_Release(&tup);
    PyBuffer_Release(&pix);
    PyBuffer_Release(&sem);
    PyBuffer_Release(&inst);
    PyBuffer_Release(&maj);
    PyBuffer_Release(&sums);
    PyBuffer_Release(&boxes);
    PyBuffer_Release(&counts);
    PyBuffer_Release(&kreg);
    PyBuffer_Release(&kpix);
    return result;
}

static PyMethodDef methods[] = {
    {"pair_counts", pair_counts, METH_VARARGS, "Pixels per (a, b) pair of two int32 maps."},
    {"compact", compact, METH_VARARGS, "Compact ids of an int32 map by a hash of the keys."},
    {"band", band, METH_VARARGS, "Boundary band of every segment of an int32 label map."},
    {"banded", banded, METH_VARARGS, "2 x compact + band in one pass."},
    {"window_any", window_any, METH_VARARGS, "Windowed OR along one axis of a 2-D map."},
    {"neighbour_pairs", neighbour_pairs, METH_VARARGS, "Pixels d apart whose labels differ."},
    {"blobs", blobs, METH_VARARGS, "4-connected components of segments in their boxes."},
    {"components", components, METH_VARARGS, "Connected components of a graph's edge list."},
    {"png_ids", png_ids, METH_VARARGS, "Unfilter 8-bit RGB(A) PNG rows into segment ids."},
    {"pair_objects", pair_objects, METH_VARARGS, "The findings' objects of one annotator pair."},
    {"neighbour_marks", neighbour_marks, METH_VARARGS, "Pairs of labels met d0..d1 apart."},
    {"pooled_codes", pooled_codes, METH_VARARGS, "Block averages of per-code values."},
    {"tuple_changes", tuple_changes, METH_VARARGS, "Packed segment changes from tuples."},
    {"pair_marks", pair_marks, METH_VARARGS, "Grid cells of flagged pixels per pair slot."},
    {"flagged_pixels", flagged_pixels, METH_VARARGS, "Flat indices of flagged tuples' pixels."},
    {"region_labels", region_labels, METH_VARARGS, "Thick and thin regions of disputed pixels."},
    {"region_sums", region_sums, METH_VARARGS, "Per kept region: sums, boxes, tuple counts."},
    {"opening_at", opening_at, METH_VARARGS, "Opening of the mask of some pixels, at them."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels",
                                    "Compiled pixel loops of agreement (optional).", -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
