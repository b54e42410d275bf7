/* yardstream_dedup._dedup: chunk fingerprints, computed with yardstream's C API.
 *
 * fingerprints(data, min_size=2048, avg_size=8192, max_size=65536)
 *     -> list of (offset, length, crc32c), one per content-defined chunk
 *
 * YARDSTREAM_CAPI_VERSION and YARDSTREAM_BUILT_AGAINST come from the yardstream installed in
 * the build environment (setup.py); the module refuses to load against another C API version.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

#ifndef YARDSTREAM_CAPI_VERSION
#error "build with setup.py: it defines the C API version of the yardstream built against"
#endif
#define YARDSTREAM_CAPI_NAME "yardstream._core._C_API"

/* The members of yardstream's published C API (core/src/yardstream/_capi.h) used here. */
typedef struct {
    int api_version;
    uint32_t (*crc32c)(uint32_t crc, const void *data, size_t n);
    size_t (*next_chunk)(const uint8_t *data, size_t n, size_t min_size, int bits, size_t max_size);
} YardstreamCAPI;

typedef struct {
    const YardstreamCAPI *api;
} dedup_state;

static PyObject *
fingerprints(PyObject *module, PyObject *args)
{
    const YardstreamCAPI *api = ((dedup_state *)PyModule_GetState(module))->api;
    Py_buffer view;
    Py_ssize_t min_size = 2048, avg_size = 8192, max_size = 65536;
    if (!PyArg_ParseTuple(args, "y*|nnn:fingerprints", &view, &min_size, &avg_size, &max_size)) {
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
    const uint8_t *data = (const uint8_t *)view.buf;
    size_t offset = 0, n = (size_t)view.len;
    PyObject *result = PyList_New(0);
    while (result != NULL && offset < n) {
        size_t length = api->next_chunk(data + offset, n - offset, (size_t)min_size, bits,
                                        (size_t)max_size);
        uint32_t crc = api->crc32c(0, data + offset, length);
        PyObject *item = Py_BuildValue("(nnk)", (Py_ssize_t)offset, (Py_ssize_t)length,
                                       (unsigned long)crc);
        if (item == NULL || PyList_Append(result, item) < 0) {
            Py_CLEAR(result);
        }
        Py_XDECREF(item);
        offset += length;
    }
    PyBuffer_Release(&view);
    return result;
}

static int
dedup_exec(PyObject *module)
{
    const YardstreamCAPI *api = PyCapsule_Import(YARDSTREAM_CAPI_NAME, 0);
    if (api == NULL) {
        return -1;
    }
    if (api->api_version != YARDSTREAM_CAPI_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "yardstream-dedup was built against yardstream %s (C API %d); the installed "
                     "yardstream has C API %d: rebuild yardstream-dedup against it",
                     YARDSTREAM_BUILT_AGAINST, YARDSTREAM_CAPI_VERSION, api->api_version);
        return -1;
    }
    ((dedup_state *)PyModule_GetState(module))->api = api;
    if (PyModule_AddStringConstant(module, "BUILT_AGAINST", YARDSTREAM_BUILT_AGAINST) < 0) {
        return -1;
    }
    return PyModule_AddIntConstant(module, "CAPI_VERSION", YARDSTREAM_CAPI_VERSION);
}

static PyMethodDef dedup_methods[] = {
    {"fingerprints", fingerprints, METH_VARARGS,
     "fingerprints(data, min_size=2048, avg_size=8192, max_size=65536) -> "
     "[(offset, length, crc32c)]."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot dedup_slots[] = {
    {Py_mod_exec, dedup_exec},
    {0, NULL},
};

static struct PyModuleDef dedup_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "yardstream_dedup._dedup",
    .m_doc = "Chunk fingerprints on top of yardstream's C API.",
    .m_size = sizeof(dedup_state),
    .m_methods = dedup_methods,
    .m_slots = dedup_slots,
};

PyMODINIT_FUNC
PyInit__dedup(void)
{
    return PyModuleDef_Init(&dedup_module);
}
