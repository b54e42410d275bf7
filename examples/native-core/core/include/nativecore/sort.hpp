// Sorting: introsort, stable merge sort, LSD radix sort, argsort.
//
// Comparison sorts order floating-point NaNs after every number in both directions; radix sort
// orders floats by their IEEE-754 total order (-NaN first, +NaN last).
#pragma once

#include <cstddef>
#include <cstdint>

#include "nativecore/types.hpp"

namespace nc {

template <class T>
void intro_sort(T* data, std::size_t n, Order order);
template <class T>
void merge_sort(T* data, std::size_t n, Order order);
template <class T>
void radix_sort(T* data, std::size_t n, Order order);
template <class T>
bool is_sorted(const T* data, std::size_t n, Order order);
template <class T>
void argsort(const T* data, std::size_t n, std::int64_t* indices);

// Stable sort of keys carrying values along (merge sort, or radix when `radix`).
template <class K, class V>
void sort_pairs(K* keys, V* values, std::size_t n, bool radix, Order order);

}  // namespace nc
