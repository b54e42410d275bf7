// Sorting algorithms, instantiated for every element type of the core.
#include "nativecore/sort.hpp"

#include "sort_impl.hpp"

namespace nc {

using namespace detail;

template <class T>
void intro_sort(T* data, std::size_t n, Order order) {
    if (order == Order::ascending) {
        intro_sort_with(data, data + n, Less<T>{});
    } else {
        intro_sort_with(data, data + n, Greater<T>{});
    }
}

template <class T>
void merge_sort(T* data, std::size_t n, Order order) {
    if (order == Order::ascending) {
        merge_sort_with(data, n, Less<T>{});
    } else {
        merge_sort_with(data, n, Greater<T>{});
    }
}

template <class T>
void radix_sort(T* data, std::size_t n, Order order) {
    using K = typename RadixKey<T>::type;
    const bool descending = order == Order::descending;
    radix_sort_with(data, n, [descending](const T& v) {
        const K k = RadixKey<T>::get(v);
        return descending ? static_cast<K>(~k) : k;
    });
}

template <class T>
bool is_sorted(const T* data, std::size_t n, Order order) {
    for (std::size_t i = 1; i < n; ++i) {
        const bool out_of_order = order == Order::ascending ? Less<T>{}(data[i], data[i - 1])
                                                            : Greater<T>{}(data[i], data[i - 1]);
        if (out_of_order) return false;
    }
    return true;
}

template <class T>
void argsort(const T* data, std::size_t n, std::int64_t* indices) {
    for (std::size_t i = 0; i < n; ++i) indices[i] = static_cast<std::int64_t>(i);
    const Less<T> less;
    merge_sort_with(indices, n,
                    [data, less](std::int64_t a, std::int64_t b) { return less(data[a], data[b]); });
}

#define NC_INSTANTIATE_SORT(T)                                                                 \
    template void intro_sort<T>(T*, std::size_t, Order);                                       \
    template void merge_sort<T>(T*, std::size_t, Order);                                       \
    template void radix_sort<T>(T*, std::size_t, Order);                                       \
    template bool is_sorted<T>(const T*, std::size_t, Order);                                  \
    template void argsort<T>(const T*, std::size_t, std::int64_t*);
NC_FOR_EACH_TYPE(NC_INSTANTIATE_SORT)

}  // namespace nc
