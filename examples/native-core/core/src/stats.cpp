// Descriptive statistics, instantiated for every element type of the core.
#include "nativecore/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nativecore/select.hpp"

namespace nc {
namespace {

// Neumaier's variant of Kahan summation: exact to within one rounding for most inputs.
class CompensatedSum {
public:
    void add(double x) {
        const double t = sum_ + x;
        if (std::fabs(sum_) >= std::fabs(x)) {
            compensation_ += (sum_ - t) + x;
        } else {
            compensation_ += (x - t) + sum_;
        }
        sum_ = t;
    }
    double value() const { return sum_ + compensation_; }

private:
    double sum_ = 0.0;
    double compensation_ = 0.0;
};

}  // namespace

template <class T>
nc_summary summarize(const T* data, std::size_t n) {
    nc_summary s{};
    s.min = std::numeric_limits<double>::infinity();
    s.max = -std::numeric_limits<double>::infinity();
    CompensatedSum sum;
    double mean = 0.0;
    double m2 = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double x = static_cast<double>(data[i]);
        sum.add(x);
        const double delta = x - mean;
        mean += delta / static_cast<double>(i + 1);
        m2 += delta * (x - mean);
        s.min = std::min(s.min, x);
        s.max = std::max(s.max, x);
    }
    s.count = n;
    s.sum = sum.value();
    s.mean = n ? mean : std::numeric_limits<double>::quiet_NaN();
    s.variance = n > 1 ? m2 / static_cast<double>(n - 1) : 0.0;
    if (n == 0) s.min = s.max = std::numeric_limits<double>::quiet_NaN();
    return s;
}

template <class T>
double quantile(const T* data, std::size_t n, double q) {
    if (n == 0 || !(q >= 0.0 && q <= 1.0)) return std::numeric_limits<double>::quiet_NaN();
    std::vector<T> copy(data, data + n);
    const double position = q * static_cast<double>(n - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const double fraction = position - static_cast<double>(below);
    std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(below), copy.end());
    const double low = static_cast<double>(copy[below]);
    if (fraction == 0.0 || below + 1 >= n) return low;
    const double high = static_cast<double>(
        *std::min_element(copy.begin() + static_cast<std::ptrdiff_t>(below) + 1, copy.end()));
    return low + fraction * (high - low);
}

template <class T>
void histogram(const T* data, std::size_t n, double lo, double hi, std::size_t bins,
               std::uint64_t* counts) {
    std::fill(counts, counts + bins, std::uint64_t(0));
    if (bins == 0 || !(hi > lo)) return;
    const double scale = static_cast<double>(bins) / (hi - lo);
    for (std::size_t i = 0; i < n; ++i) {
        const double x = static_cast<double>(data[i]);
        if (!(x >= lo && x <= hi)) continue;
        auto bin = static_cast<std::size_t>((x - lo) * scale);
        if (bin >= bins) bin = bins - 1;
        ++counts[bin];
    }
}

template <class T>
double correlation(const T* x, const T* y, std::size_t n) {
    double mean_x = 0.0, mean_y = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double a = static_cast<double>(x[i]);
        const double b = static_cast<double>(y[i]);
        const double k = static_cast<double>(i + 1);
        const double dx = a - mean_x;
        const double dy = b - mean_y;
        mean_x += dx / k;
        mean_y += dy / k;
        sxx += dx * (a - mean_x);
        syy += dy * (b - mean_y);
        sxy += dx * (b - mean_y);
    }
    if (sxx <= 0.0 || syy <= 0.0) return std::numeric_limits<double>::quiet_NaN();
    return sxy / std::sqrt(sxx * syy);
}

template <class T>
double spearman(const T* x, const T* y, std::size_t n) {
    std::vector<double> rx(n);
    std::vector<double> ry(n);
    rank(x, n, rx.data());
    rank(y, n, ry.data());
    return correlation(rx.data(), ry.data(), n);
}

#define NC_INSTANTIATE_STATS(T)                                                                \
    template nc_summary summarize<T>(const T*, std::size_t);                                   \
    template double quantile<T>(const T*, std::size_t, double);                                \
    template void histogram<T>(const T*, std::size_t, double, double, std::size_t,             \
                               std::uint64_t*);                                                \
    template double correlation<T>(const T*, const T*, std::size_t);                           \
    template double spearman<T>(const T*, const T*, std::size_t);
NC_FOR_EACH_TYPE(NC_INSTANTIATE_STATS)

}  // namespace nc
