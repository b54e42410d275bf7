// torch_extension::scaled_add(x, y, alpha) = x + alpha * y, registered with the PyTorch
// dispatcher: a C++ kernel for CPU tensors here, a CUDA kernel in ops_cuda.cu for CUDA builds.
// The module itself is plain CPython (no pybind11): importing it registers the operator.
#include <Python.h>

#include <ATen/ATen.h>
#include <torch/library.h>

namespace {

at::Tensor scaled_add_cpu(const at::Tensor& x, const at::Tensor& y, double alpha) {
  TORCH_CHECK(x.sizes() == y.sizes(), "scaled_add: x and y must have the same shape");
  TORCH_CHECK(x.scalar_type() == at::kFloat && y.scalar_type() == at::kFloat,
              "scaled_add: float32 tensors only");
  TORCH_CHECK(x.device().is_cpu() && y.device().is_cpu(), "scaled_add: CPU tensors here");
  at::Tensor xc = x.contiguous();
  at::Tensor yc = y.contiguous();
  at::Tensor out = at::empty_like(xc);
  const float* xp = xc.data_ptr<float>();
  const float* yp = yc.data_ptr<float>();
  float* op = out.data_ptr<float>();
  const float a = static_cast<float>(alpha);
  for (int64_t i = 0, n = xc.numel(); i < n; ++i) {
    op[i] = xp[i] + a * yp[i];
  }
  return out;
}

}  // namespace

TORCH_LIBRARY(torch_extension, m) {
  m.def("scaled_add(Tensor x, Tensor y, float alpha) -> Tensor");
}

TORCH_LIBRARY_IMPL(torch_extension, CPU, m) { m.impl("scaled_add", &scaled_add_cpu); }

#ifdef WITH_CUDA
static const int kWithCuda = 1;
#else
static const int kWithCuda = 0;
#endif

static PyObject* has_cuda(PyObject*, PyObject*) { return PyBool_FromLong(kWithCuda); }

static PyMethodDef kMethods[] = {
    {"has_cuda", has_cuda, METH_NOARGS, "Whether this build has the CUDA kernel."},
    {nullptr, nullptr, 0, nullptr},
};

static PyModuleDef kModule = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, kMethods};

PyMODINIT_FUNC PyInit__C(void) { return PyModule_Create(&kModule); }
