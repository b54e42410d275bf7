// Descriptive statistics over typed arrays.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nativecore/types.hpp"

namespace nc {

// Count, compensated sum, mean and sample variance (Welford), min and max in one pass.
template <class T>
nc_summary summarize(const T* data, std::size_t n);

// The q-quantile with linear interpolation between order statistics (numpy's default).
template <class T>
double quantile(const T* data, std::size_t n, double q);

// Counts values in `bins` equal bins over [lo, hi]; the last bin includes hi, values outside
// are ignored.
template <class T>
void histogram(const T* data, std::size_t n, double lo, double hi, std::size_t bins,
               std::uint64_t* counts);

// Pearson's correlation coefficient; NaN when either side has zero variance.
template <class T>
double correlation(const T* x, const T* y, std::size_t n);

// Spearman's rank correlation: Pearson's on the (tie-averaged) ranks.
template <class T>
double spearman(const T* x, const T* y, std::size_t n);

}  // namespace nc
