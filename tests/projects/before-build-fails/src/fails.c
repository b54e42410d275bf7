#include <Python.h>
#include <string.h>

#ifdef BREAK_THE_BUILD
#error "this fixture does not compile on Python 3.12"
#endif

static PyObject *length(PyObject *self, PyObject *args) {
    const char *text;
    if (!PyArg_ParseTuple(args, "s", &text)) return NULL;
    return PyLong_FromSize_t(strlen(text));
}

static PyMethodDef methods[] = {{"length", length, METH_VARARGS, "strlen"}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "fails_on_cp312", NULL, -1, methods};
PyMODINIT_FUNC PyInit_fails_on_cp312(void) { return PyModule_Create(&module); }
