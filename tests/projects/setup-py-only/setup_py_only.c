#include <Python.h>
#include <string.h>

static PyObject *length(PyObject *self, PyObject *args) {
    const char *text;
    if (!PyArg_ParseTuple(args, "s", &text)) return NULL;
    return PyLong_FromSize_t(strlen(text));
}

static PyMethodDef methods[] = {{"length", length, METH_VARARGS, "strlen"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "setup_py_only", NULL, -1, methods};
PyMODINIT_FUNC PyInit_setup_py_only(void) { return PyModule_Create(&module); }
