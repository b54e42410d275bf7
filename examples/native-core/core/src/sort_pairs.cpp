// Key-value sorting, instantiated for every key type x every payload type.
#include <vector>

#include "nativecore/sort.hpp"
#include "sort_impl.hpp"

namespace nc {

using namespace detail;

template <class K, class V>
void sort_pairs(K* keys, V* values, std::size_t n, bool radix, Order order) {
    std::vector<Pair<K, V>> pairs(n);
    for (std::size_t i = 0; i < n; ++i) pairs[i] = {keys[i], values[i]};
    if (radix) {
        using Key = typename RadixKey<K>::type;
        const bool descending = order == Order::descending;
        radix_sort_with(pairs.data(), n, [descending](const Pair<K, V>& p) {
            const Key k = RadixKey<K>::get(p.key);
            return descending ? static_cast<Key>(~k) : k;
        });
    } else if (order == Order::ascending) {
        const Less<K> less;
        merge_sort_with(pairs.data(), n,
                        [less](const Pair<K, V>& a, const Pair<K, V>& b) { return less(a.key, b.key); });
    } else {
        const Greater<K> greater;
        merge_sort_with(pairs.data(), n, [greater](const Pair<K, V>& a, const Pair<K, V>& b) {
            return greater(a.key, b.key);
        });
    }
    for (std::size_t i = 0; i < n; ++i) {
        keys[i] = pairs[i].key;
        values[i] = pairs[i].value;
    }
}

#define NC_INSTANTIATE_PAIRS(K)                                                                \
    NC_FOR_EACH_PAYLOAD(NC_INSTANTIATE_PAIR_WITH, K)
#define NC_INSTANTIATE_PAIR_WITH(V, K)                                                         \
    template void sort_pairs<K, V>(K*, V*, std::size_t, bool, Order);
NC_FOR_EACH_TYPE(NC_INSTANTIATE_PAIRS)

}  // namespace nc
