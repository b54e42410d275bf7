// Element types the core is instantiated for, and the dtype tags of the C API.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nativecore/capi.h"

// X-macros: each algorithm template is explicitly instantiated once per type in these lists.
#define NC_FOR_EACH_INT(X)                                                                     \
    X(int8_t) X(uint8_t) X(int16_t) X(uint16_t) X(int32_t) X(uint32_t) X(int64_t) X(uint64_t)
#define NC_FOR_EACH_FLOAT(X) X(float) X(double)
#define NC_FOR_EACH_TYPE(X) NC_FOR_EACH_INT(X) NC_FOR_EACH_FLOAT(X)
// Value types sort_pairs carries along with its keys (row ids, weights), passed with an argument.
#define NC_FOR_EACH_PAYLOAD(X, ARG)                                                            \
    X(int32_t, ARG) X(uint32_t, ARG) X(int64_t, ARG) X(uint64_t, ARG) X(float, ARG) X(double, ARG)

namespace nc {

enum class Order { ascending, descending };

// Calls f(T*) with a null pointer of the C++ type behind `dtype`; false for an unknown dtype.
template <class F>
bool visit_dtype(nc_dtype dtype, F&& f) {
    switch (dtype) {
        case NC_I8: f(static_cast<int8_t*>(nullptr)); return true;
        case NC_U8: f(static_cast<uint8_t*>(nullptr)); return true;
        case NC_I16: f(static_cast<int16_t*>(nullptr)); return true;
        case NC_U16: f(static_cast<uint16_t*>(nullptr)); return true;
        case NC_I32: f(static_cast<int32_t*>(nullptr)); return true;
        case NC_U32: f(static_cast<uint32_t*>(nullptr)); return true;
        case NC_I64: f(static_cast<int64_t*>(nullptr)); return true;
        case NC_U64: f(static_cast<uint64_t*>(nullptr)); return true;
        case NC_F32: f(static_cast<float*>(nullptr)); return true;
        case NC_F64: f(static_cast<double*>(nullptr)); return true;
    }
    return false;
}

// As visit_dtype, for the payload types of sort_pairs only.
template <class F>
bool visit_payload_dtype(nc_dtype dtype, F&& f) {
    switch (dtype) {
        case NC_I32: f(static_cast<int32_t*>(nullptr)); return true;
        case NC_U32: f(static_cast<uint32_t*>(nullptr)); return true;
        case NC_I64: f(static_cast<int64_t*>(nullptr)); return true;
        case NC_U64: f(static_cast<uint64_t*>(nullptr)); return true;
        case NC_F32: f(static_cast<float*>(nullptr)); return true;
        case NC_F64: f(static_cast<double*>(nullptr)); return true;
        default: return false;
    }
}

}  // namespace nc
