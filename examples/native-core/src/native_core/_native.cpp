// native_core._native: the thin per-Python binding of the nativecore C library.
//
// Arrays cross as buffers (array.array, memoryview, numpy arrays ...): inputs need only be
// C-contiguous, outputs must be writable and are allocated by the Python layer
// (native_core/__init__.py). The GIL is released while the core works. This file includes only
// Python.h and the core's C header, so it compiles in a fraction of a second per Python.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstring>
#include <initializer_list>

#include "nativecore/capi.h"

#ifndef NATIVE_CORE_LINKAGE
#define NATIVE_CORE_LINKAGE "unknown"
#endif
#ifndef NATIVE_CORE_VARIANT
#define NATIVE_CORE_VARIANT "cpu"
#endif

namespace {

// A Py_buffer released on scope exit, with the core's dtype of its items.
class Buffer {
public:
    Buffer() { std::memset(&view_, 0, sizeof view_); }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() {
        if (held_) PyBuffer_Release(&view_);
    }

    // Typed array: the format must map to an nc_dtype.
    bool typed(PyObject* obj, bool writable, const char* what) {
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;
        if (writable) flags |= PyBUF_WRITABLE;
        if (PyObject_GetBuffer(obj, &view_, flags) < 0) return false;
        held_ = true;
        if (!dtype_of(view_.format, view_.itemsize, &dtype_)) {
            PyErr_Format(PyExc_TypeError, "%s: unsupported item format '%s' (use one of bBhHiIlLqQfd)",
                         what, view_.format ? view_.format : "B");
            return false;
        }
        return true;
    }

    // Raw bytes of any contiguous buffer.
    bool bytes(PyObject* obj) {
        if (PyObject_GetBuffer(obj, &view_, PyBUF_C_CONTIGUOUS) < 0) return false;
        held_ = true;
        return true;
    }

    void* data() const { return view_.buf; }
    size_t count() const {
        return view_.itemsize ? static_cast<size_t>(view_.len / view_.itemsize) : 0;
    }
    size_t nbytes() const { return static_cast<size_t>(view_.len); }
    nc_dtype dtype() const { return dtype_; }

private:
    static bool dtype_of(const char* format, Py_ssize_t itemsize, nc_dtype* out) {
        const char* f = format ? format : "B";
        if (*f == '@' || *f == '=' || *f == '<') ++f;  // native or little-endian (x86-64, aarch64)
        if (f[0] == '\0' || f[1] != '\0') return false;
        const char code = f[0];
        if (std::strchr("fd", code)) {
            if (itemsize == 4) return *out = NC_F32, true;
            if (itemsize == 8) return *out = NC_F64, true;
            return false;
        }
        const bool is_signed = std::strchr("bhilqn", code) != nullptr;
        if (!is_signed && !std::strchr("BHILQN", code)) return false;
        switch (itemsize) {
            case 1: *out = is_signed ? NC_I8 : NC_U8; return true;
            case 2: *out = is_signed ? NC_I16 : NC_U16; return true;
            case 4: *out = is_signed ? NC_I32 : NC_U32; return true;
            case 8: *out = is_signed ? NC_I64 : NC_U64; return true;
            default: return false;
        }
    }

    Py_buffer view_;
    bool held_ = false;
    nc_dtype dtype_ = NC_U8;
};

// Turns a negative nc_status into a Python exception; true when `status` is not an error.
bool check(long long status) {
    if (status >= 0) return true;
    PyObject* kind = PyExc_ValueError;
    if (status == NC_EDTYPE) kind = PyExc_TypeError;
    if (status == NC_ENOMEM) kind = PyExc_MemoryError;
    PyErr_SetString(kind, nc_strerror(static_cast<int>(status)));
    return false;
}

// Matrix dimensions arrive as Py_ssize_t: refuse negative ones before they reach size_t.
bool dimensions(std::initializer_list<Py_ssize_t> sizes) {
    for (const Py_ssize_t size : sizes) {
        if (size < 0) {
            PyErr_SetString(PyExc_ValueError, "dimensions must not be negative");
            return false;
        }
    }
    return true;
}

// A bytes object made from the first `size` bytes the core wrote into a scratch buffer.
struct Scratch {
    explicit Scratch(size_t size) : data(static_cast<char*>(PyMem_Malloc(size ? size : 1))) {}
    ~Scratch() { PyMem_Free(data); }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    char* data;
};

bool same_type(const Buffer& a, const Buffer& b, const char* what) {
    if (a.dtype() == b.dtype()) return true;
    PyErr_Format(PyExc_TypeError, "%s: arrays must have the same item type", what);
    return false;
}

bool expect_count(const Buffer& b, size_t expected, const char* what) {
    if (b.count() == expected) return true;
    PyErr_Format(PyExc_ValueError, "%s: expected %zu items, got %zu", what, expected, b.count());
    return false;
}

// --- sorting and selection ------------------------------------------------------------------

PyObject* py_sort(PyObject*, PyObject* args, PyObject* kwargs) {
    static const char* kw[] = {"data", "algorithm", "descending", nullptr};
    PyObject* obj;
    int algorithm = NC_INTROSORT, descending = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|ip:sort", const_cast<char**>(kw), &obj,
                                     &algorithm, &descending)) {
        return nullptr;
    }
    Buffer b;
    if (!b.typed(obj, true, "sort")) return nullptr;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = nc_sort(b.dtype(), b.data(), b.count(), static_cast<nc_sort_algorithm>(algorithm),
                     descending);
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    Py_RETURN_NONE;
}

PyObject* py_is_sorted(PyObject*, PyObject* args, PyObject* kwargs) {
    static const char* kw[] = {"data", "descending", nullptr};
    PyObject* obj;
    int descending = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|p:is_sorted", const_cast<char**>(kw), &obj,
                                     &descending)) {
        return nullptr;
    }
    Buffer b;
    if (!b.typed(obj, false, "is_sorted")) return nullptr;
    const int result = nc_is_sorted(b.dtype(), b.data(), b.count(), descending);
    if (!check(result)) return nullptr;
    return PyBool_FromLong(result);
}

PyObject* py_argsort(PyObject*, PyObject* args) {
    PyObject *obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OO:argsort", &obj, &out_obj)) return nullptr;
    Buffer b, out;
    if (!b.typed(obj, false, "argsort") || !out.typed(out_obj, true, "argsort")) return nullptr;
    if (out.dtype() != NC_I64 || !expect_count(out, b.count(), "argsort output")) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "argsort: output must be int64");
        return nullptr;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = nc_argsort(b.dtype(), b.data(), b.count(), static_cast<int64_t*>(out.data()));
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    Py_RETURN_NONE;
}

PyObject* py_sort_pairs(PyObject*, PyObject* args, PyObject* kwargs) {
    static const char* kw[] = {"keys", "values", "algorithm", "descending", nullptr};
    PyObject *keys_obj, *values_obj;
    int algorithm = NC_MERGESORT, descending = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO|ip:sort_pairs", const_cast<char**>(kw),
                                     &keys_obj, &values_obj, &algorithm, &descending)) {
        return nullptr;
    }
    Buffer keys, values;
    if (!keys.typed(keys_obj, true, "sort_pairs") || !values.typed(values_obj, true, "sort_pairs") ||
        !expect_count(values, keys.count(), "sort_pairs values")) {
        return nullptr;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = nc_sort_pairs(keys.dtype(), keys.data(), values.dtype(), values.data(), keys.count(),
                           static_cast<nc_sort_algorithm>(algorithm), descending);
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    Py_RETURN_NONE;
}

PyObject* py_top_k(PyObject*, PyObject* args, PyObject* kwargs) {
    static const char* kw[] = {"data", "k", "out", "largest", nullptr};
    PyObject *obj, *out_obj;
    Py_ssize_t k;
    int largest = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OnO|p:top_k", const_cast<char**>(kw), &obj, &k,
                                     &out_obj, &largest)) {
        return nullptr;
    }
    Buffer b, out;
    if (!b.typed(obj, false, "top_k") || !out.typed(out_obj, true, "top_k") ||
        !same_type(b, out, "top_k")) {
        return nullptr;
    }
    if (!dimensions({k})) return nullptr;
    const size_t wanted = static_cast<size_t>(k) < b.count() ? static_cast<size_t>(k) : b.count();
    if (out.count() < wanted) {
        PyErr_Format(PyExc_ValueError, "top_k: the output holds %zu items, %zu needed", out.count(),
                     wanted);
        return nullptr;
    }
    const int64_t found = nc_top_k(b.dtype(), b.data(), b.count(), static_cast<size_t>(k),
                                   largest, out.data());
    if (!check(found)) return nullptr;
    return PyLong_FromLongLong(found);
}

PyObject* py_unique(PyObject*, PyObject* args) {
    PyObject *obj, *values_obj, *counts_obj;
    if (!PyArg_ParseTuple(args, "OOO:unique", &obj, &values_obj, &counts_obj)) return nullptr;
    Buffer b, values, counts;
    if (!b.typed(obj, false, "unique") || !values.typed(values_obj, true, "unique") ||
        !counts.typed(counts_obj, true, "unique") || !same_type(b, values, "unique") ||
        !expect_count(values, b.count(), "unique values") ||
        !expect_count(counts, b.count(), "unique counts")) {
        return nullptr;
    }
    if (counts.dtype() != NC_I64) {
        PyErr_SetString(PyExc_TypeError, "unique: counts must be int64");
        return nullptr;
    }
    int64_t distinct;
    Py_BEGIN_ALLOW_THREADS
    distinct = nc_unique(b.dtype(), b.data(), b.count(), values.data(),
                         static_cast<int64_t*>(counts.data()));
    Py_END_ALLOW_THREADS
    if (!check(distinct)) return nullptr;
    return PyLong_FromLongLong(distinct);
}

PyObject* py_search_sorted(PyObject*, PyObject* args, PyObject* kwargs) {
    static const char* kw[] = {"sorted", "queries", "out", "right", nullptr};
    PyObject *sorted_obj, *queries_obj, *out_obj;
    int right = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO|p:search_sorted", const_cast<char**>(kw),
                                     &sorted_obj, &queries_obj, &out_obj, &right)) {
        return nullptr;
    }
    Buffer sorted, queries, out;
    if (!sorted.typed(sorted_obj, false, "search_sorted") ||
        !queries.typed(queries_obj, false, "search_sorted") ||
        !out.typed(out_obj, true, "search_sorted") || !same_type(sorted, queries, "search_sorted") ||
        !expect_count(out, queries.count(), "search_sorted output")) {
        return nullptr;
    }
    if (out.dtype() != NC_I64) {
        PyErr_SetString(PyExc_TypeError, "search_sorted: output must be int64");
        return nullptr;
    }
    const int status = nc_search_sorted(sorted.dtype(), sorted.data(), sorted.count(), queries.data(),
                                        queries.count(), right, static_cast<int64_t*>(out.data()));
    if (!check(status)) return nullptr;
    Py_RETURN_NONE;
}

PyObject* py_rank(PyObject*, PyObject* args) {
    PyObject *obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OO:rank", &obj, &out_obj)) return nullptr;
    Buffer b, out;
    if (!b.typed(obj, false, "rank") || !out.typed(out_obj, true, "rank") ||
        !expect_count(out, b.count(), "rank output")) {
        return nullptr;
    }
    if (out.dtype() != NC_F64) {
        PyErr_SetString(PyExc_TypeError, "rank: output must be float64");
        return nullptr;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = nc_rank(b.dtype(), b.data(), b.count(), static_cast<double*>(out.data()));
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    Py_RETURN_NONE;
}

// --- hashing --------------------------------------------------------------------------------

PyObject* py_xxh64(PyObject*, PyObject* args, PyObject* kwargs) {
    static const char* kw[] = {"data", "seed", nullptr};
    PyObject* obj;
    unsigned long long seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|K:xxh64", const_cast<char**>(kw), &obj,
                                     &seed)) {
        return nullptr;
    }
    Buffer b;
    if (!b.bytes(obj)) return nullptr;
    uint64_t h;
    Py_BEGIN_ALLOW_THREADS
    h = nc_xxh64(b.data(), b.nbytes(), seed);
    Py_END_ALLOW_THREADS
    return PyLong_FromUnsignedLongLong(h);
}

PyObject* py_fnv1a64(PyObject*, PyObject* obj) {
    Buffer b;
    if (!b.bytes(obj)) return nullptr;
    return PyLong_FromUnsignedLongLong(nc_fnv1a64(b.data(), b.nbytes()));
}

PyObject* py_crc32(PyObject*, PyObject* args) {
    PyObject* obj;
    unsigned long value = 0;
    if (!PyArg_ParseTuple(args, "O|k:crc32", &obj, &value)) return nullptr;
    Buffer b;
    if (!b.bytes(obj)) return nullptr;
    uint32_t crc;
    Py_BEGIN_ALLOW_THREADS
    crc = nc_crc32(static_cast<uint32_t>(value), b.data(), b.nbytes());
    Py_END_ALLOW_THREADS
    return PyLong_FromUnsignedLong(crc);
}

PyObject* py_murmur3_128(PyObject*, PyObject* args, PyObject* kwargs) {
    static const char* kw[] = {"data", "seed", nullptr};
    PyObject* obj;
    unsigned int seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|I:murmur3_128", const_cast<char**>(kw), &obj,
                                     &seed)) {
        return nullptr;
    }
    Buffer b;
    if (!b.bytes(obj)) return nullptr;
    uint64_t out[2];
    nc_murmur3_128(b.data(), b.nbytes(), seed, out);
    return Py_BuildValue("(KK)", static_cast<unsigned long long>(out[0]),
                         static_cast<unsigned long long>(out[1]));
}

PyObject* py_count_distinct(PyObject*, PyObject* obj) {
    Buffer b;
    if (!b.typed(obj, false, "count_distinct")) return nullptr;
    int64_t n;
    Py_BEGIN_ALLOW_THREADS
    n = nc_count_distinct(b.dtype(), b.data(), b.count());
    Py_END_ALLOW_THREADS
    if (!check(n)) return nullptr;
    return PyLong_FromLongLong(n);
}

// --- statistics -----------------------------------------------------------------------------

PyObject* py_summarize(PyObject*, PyObject* obj) {
    Buffer b;
    if (!b.typed(obj, false, "summarize")) return nullptr;
    nc_summary s;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = nc_summarize(b.dtype(), b.data(), b.count(), &s);
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    return Py_BuildValue("(Kddddd)", static_cast<unsigned long long>(s.count), s.sum, s.mean,
                         s.variance, s.min, s.max);
}

PyObject* py_quantile(PyObject*, PyObject* args) {
    PyObject* obj;
    double q;
    if (!PyArg_ParseTuple(args, "Od:quantile", &obj, &q)) return nullptr;
    Buffer b;
    if (!b.typed(obj, false, "quantile")) return nullptr;
    double out = 0.0;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = nc_quantile(b.dtype(), b.data(), b.count(), q, &out);
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    return PyFloat_FromDouble(out);
}

PyObject* py_histogram(PyObject*, PyObject* args) {
    PyObject *obj, *counts_obj;
    double lo, hi;
    if (!PyArg_ParseTuple(args, "OddO:histogram", &obj, &lo, &hi, &counts_obj)) return nullptr;
    Buffer b, counts;
    if (!b.typed(obj, false, "histogram") || !counts.typed(counts_obj, true, "histogram")) {
        return nullptr;
    }
    if (counts.dtype() != NC_U64) {
        PyErr_SetString(PyExc_TypeError, "histogram: counts must be uint64");
        return nullptr;
    }
    const int status = nc_histogram(b.dtype(), b.data(), b.count(), lo, hi, counts.count(),
                                    static_cast<uint64_t*>(counts.data()));
    if (!check(status)) return nullptr;
    Py_RETURN_NONE;
}

using PairStat = int (*)(nc_dtype, const void*, const void*, size_t, double*);

PyObject* pair_statistic(PyObject* args, const char* format, PairStat fn) {
    PyObject *x_obj, *y_obj;
    if (!PyArg_ParseTuple(args, format, &x_obj, &y_obj)) return nullptr;
    Buffer x, y;
    if (!x.typed(x_obj, false, "x") || !y.typed(y_obj, false, "y") || !same_type(x, y, "x, y") ||
        !expect_count(y, x.count(), "y")) {
        return nullptr;
    }
    double out = 0.0;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = fn(x.dtype(), x.data(), y.data(), x.count(), &out);
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    return PyFloat_FromDouble(out);
}

PyObject* py_correlation(PyObject*, PyObject* args) {
    return pair_statistic(args, "OO:correlation", nc_correlation);
}

PyObject* py_spearman(PyObject*, PyObject* args) {
    return pair_statistic(args, "OO:spearman", nc_spearman);
}

// --- linear algebra -------------------------------------------------------------------------

PyObject* py_matmul(PyObject*, PyObject* args) {
    PyObject *a_obj, *b_obj, *c_obj;
    Py_ssize_t m, k, n;
    if (!PyArg_ParseTuple(args, "OOOnnn:matmul", &a_obj, &b_obj, &c_obj, &m, &k, &n)) return nullptr;
    if (!dimensions({m, k, n})) return nullptr;
    Buffer a, b, c;
    if (!a.typed(a_obj, false, "matmul") || !b.typed(b_obj, false, "matmul") ||
        !c.typed(c_obj, true, "matmul") || !same_type(a, b, "matmul") || !same_type(a, c, "matmul") ||
        !expect_count(a, m * k, "matmul a") || !expect_count(b, k * n, "matmul b") ||
        !expect_count(c, m * n, "matmul out")) {
        return nullptr;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = nc_matmul(a.dtype(), a.data(), b.data(), c.data(), m, k, n);
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    Py_RETURN_NONE;
}

PyObject* py_solve(PyObject*, PyObject* args) {
    PyObject *a_obj, *b_obj, *x_obj;
    Py_ssize_t n, nrhs;
    if (!PyArg_ParseTuple(args, "OOOnn:solve", &a_obj, &b_obj, &x_obj, &n, &nrhs)) return nullptr;
    if (!dimensions({n, nrhs})) return nullptr;
    Buffer a, b, x;
    if (!a.typed(a_obj, false, "solve") || !b.typed(b_obj, false, "solve") ||
        !x.typed(x_obj, true, "solve") || !same_type(a, b, "solve") || !same_type(a, x, "solve") ||
        !expect_count(a, n * n, "solve a") || !expect_count(b, n * nrhs, "solve b") ||
        !expect_count(x, n * nrhs, "solve out")) {
        return nullptr;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = nc_solve(a.dtype(), a.data(), b.data(), x.data(), n, nrhs);
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    Py_RETURN_NONE;
}

PyObject* py_det(PyObject*, PyObject* args) {
    PyObject* a_obj;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "On:det", &a_obj, &n)) return nullptr;
    if (!dimensions({n})) return nullptr;
    Buffer a;
    if (!a.typed(a_obj, false, "det") || !expect_count(a, n * n, "det a")) return nullptr;
    double out = 0.0;
    if (!check(nc_det(a.dtype(), a.data(), n, &out))) return nullptr;
    return PyFloat_FromDouble(out);
}

using SquareFn = int (*)(nc_dtype, const void*, void*, size_t);

// f(a, out, n) on a square n x n matrix; out is n x n, or n long when `vector_out`.
PyObject* square_op(PyObject* args, const char* format, SquareFn fn, bool vector_out) {
    PyObject *a_obj, *out_obj;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, format, &a_obj, &out_obj, &n)) return nullptr;
    if (!dimensions({n})) return nullptr;
    Buffer a, out;
    if (!a.typed(a_obj, false, "a") || !out.typed(out_obj, true, "out") || !same_type(a, out, "a, out") ||
        !expect_count(a, n * n, "a") || !expect_count(out, vector_out ? n : n * n, "out")) {
        return nullptr;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = fn(a.dtype(), a.data(), out.data(), n);
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    Py_RETURN_NONE;
}

PyObject* py_inverse(PyObject*, PyObject* args) {
    return square_op(args, "OOn:inverse", nc_inverse, false);
}

PyObject* py_cholesky(PyObject*, PyObject* args) {
    return square_op(args, "OOn:cholesky", nc_cholesky, false);
}

PyObject* py_eigvalsh(PyObject*, PyObject* args) {
    return square_op(args, "OOn:eigvalsh", nc_eigenvalues_symmetric, true);
}

PyObject* py_least_squares(PyObject*, PyObject* args) {
    PyObject *a_obj, *b_obj, *x_obj;
    Py_ssize_t m, n;
    if (!PyArg_ParseTuple(args, "OOOnn:least_squares", &a_obj, &b_obj, &x_obj, &m, &n)) return nullptr;
    if (!dimensions({m, n})) return nullptr;
    Buffer a, b, x;
    if (!a.typed(a_obj, false, "least_squares") || !b.typed(b_obj, false, "least_squares") ||
        !x.typed(x_obj, true, "least_squares") || !same_type(a, b, "least_squares") ||
        !same_type(a, x, "least_squares") || !expect_count(a, m * n, "least_squares a") ||
        !expect_count(b, m, "least_squares b") || !expect_count(x, n, "least_squares out")) {
        return nullptr;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = nc_least_squares(a.dtype(), a.data(), b.data(), x.data(), m, n);
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    Py_RETURN_NONE;
}

// --- compression ----------------------------------------------------------------------------

PyObject* py_compress(PyObject*, PyObject* obj) {
    Buffer b;
    if (!b.bytes(obj)) return nullptr;
    const size_t bound = nc_compress_bound(b.nbytes());
    Scratch out(bound);
    if (!out.data) return PyErr_NoMemory();
    int64_t size;
    Py_BEGIN_ALLOW_THREADS
    size = nc_compress(b.data(), b.nbytes(), out.data, bound);
    Py_END_ALLOW_THREADS
    if (!check(size)) return nullptr;
    return PyBytes_FromStringAndSize(out.data, size);
}

PyObject* py_decompress(PyObject*, PyObject* obj) {
    Buffer b;
    if (!b.bytes(obj)) return nullptr;
    const int64_t expected = nc_decompressed_size(b.data(), b.nbytes());
    if (!check(expected)) return nullptr;
    if (expected > PY_SSIZE_T_MAX / 2) {
        PyErr_SetString(PyExc_ValueError, "decompress: declared size is too large");
        return nullptr;
    }
    PyObject* out = PyBytes_FromStringAndSize(nullptr, expected);
    if (!out) return nullptr;
    int64_t size;
    Py_BEGIN_ALLOW_THREADS
    size = nc_decompress(b.data(), b.nbytes(), PyBytes_AS_STRING(out), PyBytes_GET_SIZE(out));
    Py_END_ALLOW_THREADS
    if (!check(size)) {
        Py_DECREF(out);
        return nullptr;
    }
    return out;
}

PyObject* py_delta_encode(PyObject*, PyObject* obj) {
    Buffer b;
    if (!b.typed(obj, false, "delta_encode")) return nullptr;
    const size_t bound = nc_delta_bound(b.dtype(), b.count());
    if (bound == 0) {  // not an integer type
        check(NC_EDTYPE);
        return nullptr;
    }
    Scratch out(bound);
    if (!out.data) return PyErr_NoMemory();
    const int64_t size = nc_delta_encode(b.dtype(), b.data(), b.count(), out.data, bound);
    if (!check(size)) return nullptr;
    return PyBytes_FromStringAndSize(out.data, size);
}

PyObject* py_delta_decode(PyObject*, PyObject* args) {
    PyObject *data_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OO:delta_decode", &data_obj, &out_obj)) return nullptr;
    Buffer data, out;
    if (!data.bytes(data_obj) || !out.typed(out_obj, true, "delta_decode")) return nullptr;
    const int64_t n = nc_delta_decode(out.dtype(), data.data(), data.nbytes(), out.data(), out.count());
    if (!check(n)) return nullptr;
    Py_RETURN_NONE;
}

PyObject* py_abi_version(PyObject*, PyObject*) { return PyLong_FromLong(nc_abi_version()); }

#define KW(name, doc) {#name, reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(py_##name)), METH_VARARGS | METH_KEYWORDS, doc}
#define ARGS(name, doc) {#name, py_##name, METH_VARARGS, doc}
#define ONE(name, doc) {#name, py_##name, METH_O, doc}

PyMethodDef methods[] = {
    KW(sort, "sort(data, algorithm=0, descending=False): sort a writable array in place."),
    KW(is_sorted, "is_sorted(data, descending=False) -> bool"),
    ARGS(argsort, "argsort(data, out): stable sorting permutation into an int64 array."),
    KW(sort_pairs, "sort_pairs(keys, values, algorithm=1, descending=False): stable, in place."),
    KW(top_k, "top_k(data, k, out, largest=True) -> number of values written, best first."),
    ARGS(unique, "unique(data, values, counts) -> number of distinct values written."),
    KW(search_sorted, "search_sorted(sorted, queries, out, right=False): insertion points."),
    ARGS(rank, "rank(data, out): average ranks (1-based) into a float64 array."),
    KW(xxh64, "xxh64(data, seed=0) -> int"),
    ONE(fnv1a64, "fnv1a64(data) -> int"),
    ARGS(crc32, "crc32(data, value=0) -> int, as zlib.crc32"),
    KW(murmur3_128, "murmur3_128(data, seed=0) -> (h1, h2)"),
    ONE(count_distinct, "count_distinct(data) -> int"),
    ONE(summarize, "summarize(data) -> (count, sum, mean, variance, min, max)"),
    ARGS(quantile, "quantile(data, q) -> float (linear interpolation)"),
    ARGS(histogram, "histogram(data, lo, hi, counts): counts is a uint64 array, one per bin."),
    ARGS(correlation, "correlation(x, y) -> Pearson's r"),
    ARGS(spearman, "spearman(x, y) -> Spearman's rho"),
    ARGS(matmul, "matmul(a, b, out, m, k, n)"),
    ARGS(solve, "solve(a, b, out, n, nrhs)"),
    ARGS(det, "det(a, n) -> float"),
    ARGS(inverse, "inverse(a, out, n)"),
    ARGS(cholesky, "cholesky(a, out, n)"),
    ARGS(eigvalsh, "eigvalsh(a, out, n): eigenvalues of a symmetric matrix, ascending."),
    ARGS(least_squares, "least_squares(a, b, out, m, n)"),
    ONE(compress, "compress(data) -> bytes (LZ77 block format NCZ1)"),
    ONE(decompress, "decompress(data) -> bytes"),
    ONE(delta_encode, "delta_encode(integers) -> bytes (delta, zigzag, varint)"),
    ARGS(delta_decode, "delta_decode(data, out): decode into an integer array of the right size."),
    {"abi_version", py_abi_version, METH_NOARGS, "The core library's C ABI version."},
    {nullptr, nullptr, 0, nullptr},
};

int exec_module(PyObject* module) {
    if (nc_abi_version() != NC_ABI_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "native_core: the linked core library has ABI %d, the binding expects %d "
                     "(rebuild the core: bash tools/build_core.sh)",
                     nc_abi_version(), NC_ABI_VERSION);
        return -1;
    }
    PyObject* info = Py_BuildValue("{s:s,s:s,s:s,s:i}", "core", NATIVE_CORE_LINKAGE, "variant",
                                   NATIVE_CORE_VARIANT, "compiler", __VERSION__, "abi",
                                   NC_ABI_VERSION);
    if (!info) return -1;
    const int status = PyModule_AddObjectRef(module, "BUILD_INFO", info);
    Py_DECREF(info);
    return status;
}

PyModuleDef_Slot slots[] = {
    {Py_mod_exec, reinterpret_cast<void*>(exec_module)},
    {0, nullptr},
};

PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "native_core._native", "Binding of the nativecore C++ library.", 0,
    methods, slots, nullptr, nullptr, nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__native(void) { return PyModuleDef_Init(&module_def); }
