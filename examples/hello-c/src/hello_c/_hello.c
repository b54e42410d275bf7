/* hello_c._hello: a small C extension that calls into libc and libm.
 *
 * fletcher32(data)   Fletcher-32 checksum of a bytes-like object.
 * count_words(text)  number of whitespace-separated words (isspace from libc).
 * norm(values)       Euclidean norm of a sequence of floats (hypot from libm, no overflow).
 * greet(name)        a greeting formatted with snprintf.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static PyObject *
fletcher32(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const unsigned char *data = (const unsigned char *)view.buf;
    Py_ssize_t len = view.len;
    uint32_t sum1 = 0xffff, sum2 = 0xffff;
    Py_ssize_t i = 0;

    /* Pairs of bytes form little-endian 16-bit words; an odd last byte is zero-padded. */
    while (len - i > 1) {
        Py_ssize_t block = (len - i) / 2;
        if (block > 359) {
            block = 359; /* the largest count that cannot overflow 32 bits */
        }
        for (Py_ssize_t w = 0; w < block; ++w, i += 2) {
            sum1 += (uint32_t)data[i] | ((uint32_t)data[i + 1] << 8);
            sum2 += sum1;
        }
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    if (i < len) {
        sum1 += data[i];
        sum2 += sum1;
        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong((unsigned long)((sum2 << 16) | sum1));
}

static PyObject *
count_words(PyObject *self, PyObject *arg)
{
    Py_ssize_t len;
    const char *text = PyUnicode_AsUTF8AndSize(arg, &len);
    if (text == NULL) {
        return NULL;
    }
    Py_ssize_t words = 0;
    int in_word = 0;
    for (Py_ssize_t i = 0; i < len; ++i) {
        /* Bytes >= 0x80 (UTF-8 sequences) are never whitespace in the C locale. */
        int space = isspace((unsigned char)text[i]);
        if (!space && !in_word) {
            ++words;
        }
        in_word = !space;
    }
    return PyLong_FromSsize_t(words);
}

static PyObject *
norm(PyObject *self, PyObject *arg)
{
    PyObject *seq = PySequence_Fast(arg, "norm() expects a sequence of numbers");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    double result = 0.0;
    for (Py_ssize_t i = 0; i < n; ++i) {
        double x = PyFloat_AsDouble(items[i]);
        if (x == -1.0 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return NULL;
        }
        result = hypot(result, x);
    }
    Py_DECREF(seq);
    return PyFloat_FromDouble(result);
}

static PyObject *
greet(PyObject *self, PyObject *args)
{
    const char *name = "world";
    if (!PyArg_ParseTuple(args, "|s:greet", &name)) {
        return NULL;
    }
    size_t need = strlen(name) + sizeof("Hello, !");
    char *buffer = PyMem_Malloc(need);
    if (buffer == NULL) {
        return PyErr_NoMemory();
    }
    snprintf(buffer, need, "Hello, %s!", name);
    PyObject *result = PyUnicode_FromString(buffer);
    PyMem_Free(buffer);
    return result;
}

static PyMethodDef hello_methods[] = {
    {"fletcher32", fletcher32, METH_O, "Fletcher-32 checksum of a bytes-like object."},
    {"count_words", count_words, METH_O, "Number of whitespace-separated words in a str."},
    {"norm", norm, METH_O, "Euclidean norm of a sequence of floats, computed without overflow."},
    {"greet", greet, METH_VARARGS, "greet(name='world') -> 'Hello, name!'"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef hello_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "hello_c._hello",
    .m_doc = "A minimal C extension built by wheelyard.",
    .m_size = 0,
    .m_methods = hello_methods,
};

PyMODINIT_FUNC
PyInit__hello(void)
{
    return PyModuleDef_Init(&hello_module);
}
