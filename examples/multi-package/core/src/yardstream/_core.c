/* yardstream._core: CRC-32C checksums and content-defined chunking (gear hash).
 *
 * crc32c(data, value=0)                          -> int
 * chunk_boundaries(data, min_size, avg_size, max_size) -> list of chunk end offsets
 *
 * Both are also exported to other C extensions through the capsule described in _capi.h.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include "_capi.h"

static uint32_t crc_table[256];
static uint64_t gear[256];

static void
init_tables(void)
{
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) {
            c = (c & 1u) ? 0x82F63B78u ^ (c >> 1) : c >> 1; /* reflected Castagnoli */
        }
        crc_table[i] = c;
    }
    /* The gear table is fixed (splitmix64 from a constant seed): chunk boundaries of the same
     * bytes must agree across builds, platforms and versions. */
    uint64_t state = 0x79617264737472ULL;
    for (int i = 0; i < 256; ++i) {
        uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        gear[i] = z ^ (z >> 31);
    }
}

static uint32_t
crc32c(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    uint32_t c = ~crc;
    while (n--) {
        c = crc_table[(c ^ *p++) & 0xffu] ^ (c >> 8);
    }
    return ~c;
}

/* A boundary follows the byte where the top `bits` bits of the rolling gear hash are all zero
 * (the hash covers the last 64 bytes), so boundaries move with the content, not with offsets. */
static size_t
next_chunk(const uint8_t *data, size_t n, size_t min_size, int bits, size_t max_size)
{
    if (n <= min_size) {
        return n;
    }
    const size_t limit = n < max_size ? n : max_size;
    uint64_t hash = 0;
    for (size_t i = min_size; i < limit; ++i) {
        hash = (hash << 1) + gear[data[i]];
        if ((hash >> (64 - bits)) == 0) {
            return i + 1;
        }
    }
    return limit;
}

static YardstreamCAPI capi = {YARDSTREAM_CAPI_VERSION, crc32c, next_chunk};

static PyObject *
py_crc32c(PyObject *module, PyObject *args)
{
    Py_buffer view;
    unsigned long value = 0;
    if (!PyArg_ParseTuple(args, "y*|k:crc32c", &view, &value)) {
        return NULL;
    }
    uint32_t crc;
    Py_BEGIN_ALLOW_THREADS
    crc = crc32c((uint32_t)value, view.buf, (size_t)view.len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(crc);
}

static PyObject *
py_chunk_boundaries(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {"data", "min_size", "avg_size", "max_size", NULL};
    Py_buffer view;
    Py_ssize_t min_size = 2048, avg_size = 8192, max_size = 65536;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*|nnn:chunk_boundaries", keywords, &view,
                                     &min_size, &avg_size, &max_size)) {
        return NULL;
    }
    if (min_size < 1 || avg_size <= min_size || max_size < avg_size) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "need 1 <= min_size < avg_size <= max_size");
        return NULL;
    }
    int bits = 0;
    while (((Py_ssize_t)1 << (bits + 1)) <= avg_size - min_size && bits < 62) {
        ++bits;
    }
    PyObject *ends = PyList_New(0);
    const uint8_t *data = (const uint8_t *)view.buf;
    size_t offset = 0, n = (size_t)view.len;
    while (ends != NULL && offset < n) {
        offset += next_chunk(data + offset, n - offset, (size_t)min_size, bits, (size_t)max_size);
        PyObject *end = PyLong_FromSize_t(offset);
        if (end == NULL || PyList_Append(ends, end) < 0) {
            Py_CLEAR(ends);
        }
        Py_XDECREF(end);
    }
    PyBuffer_Release(&view);
    return ends;
}

static PyMethodDef core_methods[] = {
    {"crc32c", py_crc32c, METH_VARARGS, "crc32c(data, value=0) -> int: CRC-32C (Castagnoli)."},
    {"chunk_boundaries", (PyCFunction)(void (*)(void))py_chunk_boundaries,
     METH_VARARGS | METH_KEYWORDS,
     "chunk_boundaries(data, min_size=2048, avg_size=8192, max_size=65536) -> end offsets."},
    {NULL, NULL, 0, NULL},
};

static int
core_exec(PyObject *module)
{
    PyObject *capsule = PyCapsule_New(&capi, YARDSTREAM_CAPI_NAME, NULL);
    if (capsule == NULL) {
        return -1;
    }
    int status = PyModule_AddObjectRef(module, "_C_API", capsule);
    Py_DECREF(capsule);
    if (status == 0) {
        status = PyModule_AddIntConstant(module, "CAPI_VERSION", YARDSTREAM_CAPI_VERSION);
    }
    return status;
}

static PyModuleDef_Slot core_slots[] = {
    {Py_mod_exec, core_exec},
    {0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "yardstream._core",
    .m_doc = "CRC-32C and content-defined chunking for yardstream.",
    .m_size = 0,
    .m_methods = core_methods,
    .m_slots = core_slots,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    init_tables();
    return PyModuleDef_Init(&core_module);
}
