// cuda_kernels._ext: the per-Python binding of the kernel library (plain CPython C API).
//
// Arrays cross as C-contiguous float32 buffers; outputs are allocated by cuda_kernels/__init__.py.
// `device` is 0 for the CPU implementation and 1 for the CUDA kernels.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <cstring>

#include "cuda_kernels/kernels.h"

namespace {

class FloatBuffer {
public:
    FloatBuffer() { std::memset(&view_, 0, sizeof view_); }
    FloatBuffer(const FloatBuffer&) = delete;
    FloatBuffer& operator=(const FloatBuffer&) = delete;
    ~FloatBuffer() {
        if (held_) PyBuffer_Release(&view_);
    }

    bool get(PyObject* obj, bool writable, const char* what) {
        int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT;
        if (writable) flags |= PyBUF_WRITABLE;
        if (PyObject_GetBuffer(obj, &view_, flags) < 0) return false;
        held_ = true;
        const char* f = view_.format ? view_.format : "B";
        if (*f == '@' || *f == '=' || *f == '<') ++f;
        if (std::strcmp(f, "f") != 0 || view_.itemsize != 4) {
            PyErr_Format(PyExc_TypeError, "%s must be a float32 buffer (format 'f'), not '%s'", what,
                         view_.format ? view_.format : "B");
            return false;
        }
        return true;
    }

    float* data() const { return static_cast<float*>(view_.buf); }
    size_t count() const { return static_cast<size_t>(view_.len / 4); }

private:
    Py_buffer view_;
    bool held_ = false;
};

bool check(int status) {
    if (status == CK_OK) return true;
    PyErr_Format(PyExc_RuntimeError, "cuda_kernels: %s", ck_last_error());
    return false;
}

bool valid_device(int device) {
    if (device == 0 || device == 1) return true;
    PyErr_SetString(PyExc_ValueError, "device must be 0 (cpu) or 1 (cuda)");
    return false;
}

bool expect(const FloatBuffer& b, size_t count, const char* what) {
    if (b.count() == count) return true;
    PyErr_Format(PyExc_ValueError, "%s: expected %zu items, got %zu", what, count, b.count());
    return false;
}

PyObject* py_backend(PyObject*, PyObject*) {
    return PyUnicode_FromString(ck_cuda_compiled() ? "cuda" : "cpu");
}

PyObject* py_device_count(PyObject*, PyObject*) { return PyLong_FromLong(ck_device_count()); }

PyObject* py_runtime_version(PyObject*, PyObject*) { return PyLong_FromLong(ck_runtime_version()); }

PyObject* py_driver_version(PyObject*, PyObject*) { return PyLong_FromLong(ck_driver_version()); }

PyObject* py_device_name(PyObject*, PyObject* arg) {
    const int index = PyLong_AsLong(arg);
    if (index == -1 && PyErr_Occurred()) return nullptr;
    char name[256];
    if (ck_device_name(index, name, sizeof name) != CK_OK) {
        PyErr_Format(PyExc_ValueError, "no CUDA device %d", index);
        return nullptr;
    }
    return PyUnicode_FromString(name);
}

PyObject* py_saxpy(PyObject*, PyObject* args) {
    float a;
    PyObject *x_obj, *y_obj, *out_obj;
    int device;
    if (!PyArg_ParseTuple(args, "fOOOi:saxpy", &a, &x_obj, &y_obj, &out_obj, &device)) return nullptr;
    FloatBuffer x, y, out;
    if (!valid_device(device) || !x.get(x_obj, false, "x") || !y.get(y_obj, false, "y") ||
        !out.get(out_obj, true, "out") || !expect(y, x.count(), "y") ||
        !expect(out, x.count(), "out")) {
        return nullptr;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = device ? ck_saxpy_cuda(x.count(), a, x.data(), y.data(), out.data())
                    : ck_saxpy_cpu(x.count(), a, x.data(), y.data(), out.data());
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    Py_RETURN_NONE;
}

PyObject* py_sum(PyObject*, PyObject* args) {
    PyObject* x_obj;
    int device;
    if (!PyArg_ParseTuple(args, "Oi:sum", &x_obj, &device)) return nullptr;
    FloatBuffer x;
    if (!valid_device(device) || !x.get(x_obj, false, "x")) return nullptr;
    double total = 0.0;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = device ? ck_sum_cuda(x.count(), x.data(), &total) : ck_sum_cpu(x.count(), x.data(), &total);
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    return PyFloat_FromDouble(total);
}

PyObject* py_matmul(PyObject*, PyObject* args) {
    PyObject *a_obj, *b_obj, *c_obj;
    Py_ssize_t m, k, n;
    int device;
    if (!PyArg_ParseTuple(args, "OOOnnni:matmul", &a_obj, &b_obj, &c_obj, &m, &k, &n, &device)) {
        return nullptr;
    }
    if (m < 0 || k < 0 || n < 0) {
        PyErr_SetString(PyExc_ValueError, "matmul: dimensions must not be negative");
        return nullptr;
    }
    FloatBuffer a, b, c;
    if (!valid_device(device) || !a.get(a_obj, false, "a") || !b.get(b_obj, false, "b") ||
        !c.get(c_obj, true, "out") || !expect(a, m * k, "a") || !expect(b, k * n, "b") ||
        !expect(c, m * n, "out")) {
        return nullptr;
    }
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = device ? ck_matmul_cuda(m, k, n, a.data(), b.data(), c.data())
                    : ck_matmul_cpu(m, k, n, a.data(), b.data(), c.data());
    Py_END_ALLOW_THREADS
    if (!check(status)) return nullptr;
    Py_RETURN_NONE;
}

PyMethodDef methods[] = {
    {"backend", py_backend, METH_NOARGS, "'cuda' when the kernels were compiled in, else 'cpu'."},
    {"device_count", py_device_count, METH_NOARGS, "Usable CUDA devices (0 without GPU or driver)."},
    {"runtime_version", py_runtime_version, METH_NOARGS, "CUDA runtime built against (0: none)."},
    {"driver_version", py_driver_version, METH_NOARGS, "CUDA version of the driver (0: none)."},
    {"device_name", py_device_name, METH_O, "device_name(index) -> str"},
    {"saxpy", py_saxpy, METH_VARARGS, "saxpy(a, x, y, out, device)"},
    {"sum", py_sum, METH_VARARGS, "sum(x, device) -> float"},
    {"matmul", py_matmul, METH_VARARGS, "matmul(a, b, out, m, k, n, device)"},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "cuda_kernels._ext", "Binding of the cuda_kernels library.", 0, methods,
    nullptr, nullptr, nullptr, nullptr,
};

}  // namespace

PyMODINIT_FUNC PyInit__ext(void) { return PyModuleDef_Init(&module_def); }
