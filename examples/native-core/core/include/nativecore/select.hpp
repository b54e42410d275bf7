// Selection and searching: top-k, unique values with counts, binary search, ranks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nativecore/types.hpp"

namespace nc {

// The k largest (or smallest) values, best first; returns min(k, n).
template <class T>
std::size_t top_k(const T* data, std::size_t n, std::size_t k, bool largest, T* out);

// Sorted distinct values and how often each occurs; returns their number. `values` and
// `counts` need room for n entries.
template <class T>
std::size_t unique(const T* data, std::size_t n, T* values, std::int64_t* counts);

// For each query, the first (or, with `right`, one past the last) position in `sorted` where it
// could be inserted keeping the order.
template <class T>
void search_sorted(const T* sorted, std::size_t n, const T* queries, std::size_t m, bool right,
                   std::int64_t* out);

// 1-based ranks, ties sharing the average of their positions (scipy's rankdata "average").
template <class T>
void rank(const T* data, std::size_t n, double* out);

}  // namespace nc
