#include <Python.h>

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "no_compiler", NULL, -1, NULL};

PyMODINIT_FUNC PyInit_no_compiler(void) { return PyModule_Create(&module); }
