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
    if (buf->len != items * itemsize) {
        PyErr_Format(PyExc_ValueError, "%s must hold %zd items of %zd bytes, got %zd bytes", what,
                     items, itemsize, buf->len);
        return -1;
    }
    return 0;
}

/* The end of the run of v that starts at i (p[i] == v): blocks of 16 compared at once. */
static inline Py_ssize_t run_end(const int32_t *p, Py_ssize_t i, Py_ssize_t n, int32_t v) {
    Py_ssize_t j = i + 1;
    while (j + 16 <= n) {
        uint32_t acc = 0;
        for (int k = 0; k < 16; k++) acc |= (uint32_t)(p[j + k] ^ v);
        if (acc) break;
        j += 16;
    }
    while (j < n && p[j] == v) j++;
    return j;
}

/* pair_counts(a, b, nb, out) -> bad
 * out[a[i] * nb + b[i]] += 1 over int32 maps a and b; out is int64 of size na * nb. Runs of
 * equal pairs (long in label maps) are counted once. Returns the number of pixels whose pair is
 * outside the table (negative or too large); those are not counted. */
static PyObject *pair_counts(PyObject *self, PyObject *args) {
    Py_buffer a, b, out;
    Py_ssize_t nb;
    if (!PyArg_ParseTuple(args, "y*y*nw*", &a, &b, &nb, &out)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = a.len / 4, cells = out.len / 8, bad = 0;
    if (check_size(&a, n, 4, "a") || check_size(&b, n, 4, "b") ||
        check_size(&out, cells, 8, "out"))
        goto done;
    if (nb <= 0 || cells % nb) {
        PyErr_SetString(PyExc_ValueError, "nb must divide the table size");
        goto done;
    }
    {
        const int32_t *pa = a.buf, *pb = b.buf;
        int64_t *table = out.buf;
        int64_t na = cells / nb;
        Py_BEGIN_ALLOW_THREADS
        Py_ssize_t i = 0;
        while (i < n) {
            int32_t va = pa[i], vb = pb[i];
            Py_ssize_t j = run_end(pa, i, n, va), jb = run_end(pb, i, j, vb);
            j = jb < j ? jb : j;
            if (va < 0 || vb < 0 || va >= na || vb >= nb)
                bad += j - i;
            else
                table[(int64_t)va * nb + vb] += j - i;
            i = j;
        }
        Py_END_ALLOW_THREADS
    }
    result = PyLong_FromSsize_t(bad);
done:
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    PyBuffer_Release(&out);
    return result;
}

/* compact(ids, keys, out, counts) -> unknown
 * out[i] = j + 1 where ids[i] == keys[j], 0 on void (0) and on ids not among the keys;
 * counts[j] = pixels of keys[j - 1] (counts[0]: void and unknown). ids int32, keys int64
 * (unique, > 0: the caller checks), out int32, counts int64 of size k + 1. An open-addressing
 * hash of the keys; the previous pixel's id is remembered (label maps come in runs). Returns the
 * number of pixels with an unknown id. */
static PyObject *compact(PyObject *self, PyObject *args) {
    Py_buffer ids, keys, out, counts;
    if (!PyArg_ParseTuple(args, "y*y*w*w*", &ids, &keys, &out, &counts)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = ids.len / 4, k = keys.len / 8, unknown = 0;
    int32_t *hkey = NULL, *hval = NULL;
    if (check_size(&ids, n, 4, "ids") || check_size(&keys, k, 8, "keys") ||
        check_size(&out, n, 4, "out") || check_size(&counts, k + 1, 8, "counts"))
        goto done;
    if (k > (1 << 28)) {
        PyErr_SetString(PyExc_ValueError, "keys must be at most 2**28");
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
        const int32_t *pi = ids.buf;
        int32_t *po = out.buf;
        int64_t *pc = counts.buf;
        Py_BEGIN_ALLOW_THREADS
        Py_ssize_t i = 0;
        while (i < n) { /* one run of equal ids at a time */
            int32_t id = pi[i], value = 0;
            Py_ssize_t j = run_end(pi, i, n, id);
            if (id > 0) {
                uint32_t h = ((uint32_t)id * 2654435761u) >> (32 - bits);
                while (hkey[h] && hkey[h] != id) h = (h + 1) & mask;
                value = hkey[h] ? hval[h] : 0;
                if (!hkey[h]) unknown += j - i;
            }
            for (Py_ssize_t t = i; t < j; t++) po[t] = value;
            pc[value] += j - i;
            i = j;
        }
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

/* Whether l[k] != l[k + 1] for some k in [0, 16) (reads l[0..16]); vectorises. */
static inline int any_change16(const int32_t *l) {
    uint32_t acc = 0;
    for (int k = 0; k < 16; k++) acc |= (uint32_t)(l[k] ^ l[k + 1]);
    return acc != 0;
}

/* band(labels, h, w, d, out)
 * out[y, x] = 1 where labels[y, x] != 0 and the (2d+1)^2 window around (y, x) leaves the image
 * or holds two labels (agreement.metrics.boundary.boundary_band). A window holds two labels iff
 * one of its rows does or its centre column does. One pass down the rows: for row r, "a label
 * change within d columns" (rows_ok), then per column the last row r' <= r where that held and
 * the last vertical change; row y = r - d of the band reads them. */
static PyObject *band(PyObject *self, PyObject *args) {
    Py_buffer lab, out;
    Py_ssize_t h_arg, w_arg, d_arg;
    if (!PyArg_ParseTuple(args, "y*nnnw*", &lab, &h_arg, &w_arg, &d_arg, &out)) return NULL;
    PyObject *result = NULL;
    int32_t *last_row = NULL, *last_col = NULL;
    if (h_arg < 0 || w_arg < 0 || d_arg < 1 || h_arg > INT32_MAX / 4 || d_arg > INT32_MAX / 8) {
        PyErr_SetString(PyExc_ValueError, "h and w must be >= 0 and d >= 1");
        goto done;
    }
    if (check_size(&lab, h_arg * w_arg, 4, "labels") || check_size(&out, h_arg * w_arg, 1, "out"))
        goto done;
    last_row = PyMem_Malloc(sizeof(int32_t) * (size_t)(w_arg + 1));
    last_col = PyMem_Malloc(sizeof(int32_t) * (size_t)(w_arg + 1));
    if (!last_row || !last_col) {
        PyErr_NoMemory();
        goto done;
    }
    {
        /* copies whose address was never taken: byte stores cannot alias them (vectorisation) */
        const Py_ssize_t h = h_arg, w = w_arg, d = d_arg;
        const int32_t *L = lab.buf;
        uint8_t *B = out.buf;
        Py_BEGIN_ALLOW_THREADS
        const int32_t never = -(int32_t)(4 * d + 4);
        for (Py_ssize_t x = 0; x < w; x++) last_row[x] = last_col[x] = never;
        /* the window leaves the image sideways: columns x < d and x >= w - d of every row */
        Py_ssize_t lo = d < w ? d : w, hi = w - d > lo ? w - d : lo;
        for (Py_ssize_t r = 0; r < h + d; r++) {
            if (r < h) {
                const int32_t *l = L + r * w;
                for (Py_ssize_t x = 0; x < lo; x++) last_row[x] = (int32_t)r;
                for (Py_ssize_t x = hi; x < w; x++) last_row[x] = (int32_t)r;
                /* middle columns x in [lo, hi): a change l[j] != l[j + 1] with j in
                 * [x - d, x + d - 1], i.e. x in [j - d + 1, j + d] for each change j */
                Py_ssize_t done_to = lo; /* columns below are marked already */
                Py_ssize_t jend = w - 1 < hi + d - 1 ? w - 1 : hi + d - 1;
                for (Py_ssize_t j = lo - d > 0 ? lo - d : 0; j < jend; j++) {
                    while (j + 16 <= jend && !any_change16(l + j)) j += 16; /* runs: skip */
                    if (j >= jend) break;
                    if (l[j] == l[j + 1]) continue;
                    Py_ssize_t from = j - d + 1 > done_to ? j - d + 1 : done_to;
                    Py_ssize_t to = j + d + 1 < hi ? j + d + 1 : hi;
                    for (Py_ssize_t x = from; x < to; x++) last_row[x] = (int32_t)r;
                    if (to > done_to) done_to = to;
                }
                if (r > 0) {
                    const int32_t *restrict u = l - w, *restrict lv = l;
                    int32_t *restrict lc = last_col;
                    const int32_t prev = (int32_t)(r - 1);
                    for (Py_ssize_t x = 0; x < w; x++) lc[x] = u[x] != lv[x] ? prev : lc[x];
                }
            }
            Py_ssize_t y = r - d;
            if (y < 0) continue;
            const int32_t *l = L + y * w;
            uint8_t *b = B + y * w;
            if (y < d || y >= h - d) { /* the window leaves the image vertically */
                for (Py_ssize_t x = 0; x < w; x++) b[x] = l[x] != 0;
                continue;
            }
            /* rows [y - d, y + d] and vertical changes [y - d, y + d - 1] */
            const int32_t first = (int32_t)(y - d);
            const int32_t *restrict lr = last_row, *restrict lc = last_col, *restrict lv = l;
            uint8_t *restrict bo = b;
            for (Py_ssize_t x = 0; x < w; x++)
                bo[x] = (uint8_t)((lv[x] != 0) & ((lr[x] >= first) | (lc[x] >= first)));
        }
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

/* banded(compact, band, out): out = 2 * compact + band (int32, uint8/bool -> int32), one pass */
static PyObject *banded(PyObject *self, PyObject *args) {
    Py_buffer c, b, out;
    if (!PyArg_ParseTuple(args, "y*y*w*", &c, &b, &out)) return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = c.len / 4;
    if (check_size(&c, n, 4, "compact") || check_size(&b, n, 1, "band") ||
        check_size(&out, n, 4, "out"))
        goto done;
    {
        const int32_t *pc = c.buf;
        const uint8_t *pb = b.buf;
        int32_t *po = out.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < n; i++) po[i] = (int32_t)((uint32_t)pc[i] << 1) + (pb[i] != 0);
        Py_END_ALLOW_THREADS
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&c);
    PyBuffer_Release(&b);
    PyBuffer_Release(&out);
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

static PyMethodDef methods[] = {
    {"pair_counts", pair_counts, METH_VARARGS, "Pixels per (a, b) pair of two int32 maps."},
    {"compact", compact, METH_VARARGS, "Compact ids of an int32 map by a hash of the keys."},
    {"band", band, METH_VARARGS, "Boundary band of every segment of an int32 label map."},
    {"banded", banded, METH_VARARGS, "2 x compact + band in one pass."},
    {"png_ids", png_ids, METH_VARARGS, "Unfilter 8-bit RGB(A) PNG rows into segment ids."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels",
                                    "Compiled pixel loops of agreement (optional).", -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
