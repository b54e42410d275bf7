// Selection and searching, instantiated for every element type of the core.
#include "nativecore/select.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <type_traits>
#include <vector>

#include "nativecore/sort.hpp"

namespace nc {
namespace {

// NaNs order after numbers, as in sort.cpp.
template <class T>
bool less(const T& a, const T& b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(b)) return !std::isnan(a);
    }
    return a < b;
}

template <class T>
bool equivalent(const T& a, const T& b) {
    return !less(a, b) && !less(b, a);
}

}  // namespace

template <class T>
std::size_t top_k(const T* data, std::size_t n, std::size_t k, bool largest, T* out) {
    k = std::min(k, n);
    if (k == 0) return 0;
    // A heap of the k best so far whose root is the worst of them.
    auto worse_first = [largest](const T& a, const T& b) { return largest ? less(b, a) : less(a, b); };
    std::vector<T> heap(data, data + k);
    std::make_heap(heap.begin(), heap.end(), worse_first);
    for (std::size_t i = k; i < n; ++i) {
        if (worse_first(data[i], heap.front())) {
            std::pop_heap(heap.begin(), heap.end(), worse_first);
            heap.back() = data[i];
            std::push_heap(heap.begin(), heap.end(), worse_first);
        }
    }
    std::sort_heap(heap.begin(), heap.end(), worse_first);
    std::copy(heap.begin(), heap.end(), out);
    return k;
}

template <class T>
std::size_t unique(const T* data, std::size_t n, T* values, std::int64_t* counts) {
    if (n == 0) return 0;
    std::vector<T> sorted(data, data + n);
    intro_sort(sorted.data(), n, Order::ascending);
    std::size_t distinct = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (distinct > 0 && equivalent(values[distinct - 1], sorted[i])) {
            ++counts[distinct - 1];
        } else {
            values[distinct] = sorted[i];
            counts[distinct] = 1;
            ++distinct;
        }
    }
    return distinct;
}

template <class T>
void search_sorted(const T* sorted, std::size_t n, const T* queries, std::size_t m, bool right,
                   std::int64_t* out) {
    for (std::size_t q = 0; q < m; ++q) {
        const T& value = queries[q];
        std::size_t lo = 0;
        std::size_t hi = n;
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            const bool go_right = right ? !less(value, sorted[mid]) : less(sorted[mid], value);
            if (go_right) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        out[q] = static_cast<std::int64_t>(lo);
    }
}

template <class T>
void rank(const T* data, std::size_t n, double* out) {
    std::vector<std::int64_t> order(n);
    argsort(data, n, order.data());
    std::size_t i = 0;
    while (i < n) {
        std::size_t j = i + 1;
        while (j < n && equivalent(data[order[j]], data[order[i]])) ++j;
        const double average = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
        for (std::size_t t = i; t < j; ++t) out[order[t]] = average;
        i = j;
    }
}

#define NC_INSTANTIATE_SELECT(T)                                                               \
    template std::size_t top_k<T>(const T*, std::size_t, std::size_t, bool, T*);             \
    template std::size_t unique<T>(const T*, std::size_t, T*, std::int64_t*);                 \
    template void search_sorted<T>(const T*, std::size_t, const T*, std::size_t, bool,        \
                                   std::int64_t*);                                             \
    template void rank<T>(const T*, std::size_t, double*);
NC_FOR_EACH_TYPE(NC_INSTANTIATE_SELECT)

}  // namespace nc
