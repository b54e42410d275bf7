/* yardstream_s3._s3: S3 multipart checksums, computed with yardstream's C API.
 *
 * part_checksums(data, part_size)     -> list of CRC-32C values, one per part
 * composite_checksum(data, part_size) -> (crc, parts): the CRC-32C of the parts' big-endian
 *                                         CRC-32C values, as S3 reports for multipart uploads
 *                                         with x-amz-checksum-type: COMPOSITE
 *
 * The CRC code lives in yardstream's extension; this module borrows it through the capsule
 * "yardstream._core._C_API" and refuses to load against an incompatible yardstream.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

/* The declaration published by yardstream (core/src/yardstream/_capi.h in this repository).
 * Only api_version and the members below are used; new members are appended there, so an
 * older declaration stays valid while api_version matches. */
#define YARDSTREAM_CAPI_VERSION 1
#define YARDSTREAM_CAPI_NAME "yardstream._core._C_API"

typedef struct {
    int api_version;
    uint32_t (*crc32c)(uint32_t crc, const void *data, size_t n);
} YardstreamCAPI;

typedef struct {
    const YardstreamCAPI *api;
} s3_state;

static int
parse(PyObject *args, const char *format, Py_buffer *view, Py_ssize_t *part_size)
{
    if (!PyArg_ParseTuple(args, format, view, part_size)) {
        return -1;
    }
    if (*part_size < 1) {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_ValueError, "part_size must be positive");
        return -1;
    }
    return 0;
}

static PyObject *
part_checksums(PyObject *module, PyObject *args)
{
    const YardstreamCAPI *api = ((s3_state *)PyModule_GetState(module))->api;
    Py_buffer view;
    Py_ssize_t part_size;
    if (parse(args, "y*n:part_checksums", &view, &part_size) < 0) {
        return NULL;
    }
    const char *data = (const char *)view.buf;
    PyObject *result = PyList_New(0);
    /* Empty data is one empty part, as an S3 multipart upload has at least one part. */
    for (Py_ssize_t offset = 0; result != NULL && (offset < view.len || offset == 0);
         offset += part_size) {
        Py_ssize_t length = view.len - offset < part_size ? view.len - offset : part_size;
        PyObject *crc = PyLong_FromUnsignedLong(api->crc32c(0, data + offset, (size_t)length));
        if (crc == NULL || PyList_Append(result, crc) < 0) {
            Py_CLEAR(result);
        }
        Py_XDECREF(crc);
    }
    PyBuffer_Release(&view);
    return result;
}

static PyObject *
composite_checksum(PyObject *module, PyObject *args)
{
    const YardstreamCAPI *api = ((s3_state *)PyModule_GetState(module))->api;
    Py_buffer view;
    Py_ssize_t part_size;
    if (parse(args, "y*n:composite_checksum", &view, &part_size) < 0) {
        return NULL;
    }
    const char *data = (const char *)view.buf;
    uint32_t combined = 0;
    Py_ssize_t parts = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t offset = 0; offset < view.len || parts == 0; offset += part_size, ++parts) {
        Py_ssize_t length = view.len - offset < part_size ? view.len - offset : part_size;
        uint32_t crc = api->crc32c(0, data + offset, (size_t)length);
        unsigned char digest[4] = {crc >> 24, crc >> 16 & 0xff, crc >> 8 & 0xff, crc & 0xff};
        combined = api->crc32c(combined, digest, sizeof digest);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return Py_BuildValue("(kn)", (unsigned long)combined, parts);
}

static int
s3_exec(PyObject *module)
{
    const YardstreamCAPI *api = PyCapsule_Import(YARDSTREAM_CAPI_NAME, 0);
    if (api == NULL) {
        return -1;
    }
    if (api->api_version != YARDSTREAM_CAPI_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "yardstream-s3 needs yardstream's C API version %d, the installed yardstream "
                     "has %d: install matching versions of yardstream and yardstream-s3",
                     YARDSTREAM_CAPI_VERSION, api->api_version);
        return -1;
    }
    ((s3_state *)PyModule_GetState(module))->api = api;
    return 0;
}

static PyMethodDef s3_methods[] = {
    {"part_checksums", part_checksums, METH_VARARGS,
     "part_checksums(data, part_size) -> CRC-32C of each part."},
    {"composite_checksum", composite_checksum, METH_VARARGS,
     "composite_checksum(data, part_size) -> (crc, parts), S3's COMPOSITE multipart checksum."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot s3_slots[] = {
    {Py_mod_exec, s3_exec},
    {0, NULL},
};

static struct PyModuleDef s3_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "yardstream_s3._s3",
    .m_doc = "S3 multipart checksums on top of yardstream's C API.",
    .m_size = sizeof(s3_state),
    .m_methods = s3_methods,
    .m_slots = s3_slots,
};

PyMODINIT_FUNC
PyInit__s3(void)
{
    return PyModuleDef_Init(&s3_module);
}
