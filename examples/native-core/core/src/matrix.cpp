// Dense linear algebra, instantiated for float and double.
#include "nativecore/matrix.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "nativecore/types.hpp"

namespace nc {
namespace {

constexpr std::size_t kBlock = 64;

// A row-major n x n working copy and its LU factors (L unit-diagonal below, U on and above).
template <class T>
class LuFactors {
public:
    LuFactors(const T* a, std::size_t n) : n_(n), lu_(a, a + n * n), perm_(n) {
        std::iota(perm_.begin(), perm_.end(), std::size_t(0));
        T scale = 0;
        for (const T& v : lu_) scale = std::max(scale, std::fabs(v));
        const T tiny = scale * std::numeric_limits<T>::epsilon() * static_cast<T>(n);
        for (std::size_t col = 0; col < n; ++col) {
            std::size_t pivot = col;
            T best = std::fabs(at(col, col));
            for (std::size_t row = col + 1; row < n; ++row) {
                const T v = std::fabs(at(row, col));
                if (v > best) {
                    best = v;
                    pivot = row;
                }
            }
            if (!(best > tiny)) {
                singular_ = true;
                return;
            }
            if (pivot != col) {
                std::swap_ranges(row_ptr(col), row_ptr(col) + n, row_ptr(pivot));
                std::swap(perm_[col], perm_[pivot]);
                sign_ = -sign_;
            }
            const T diagonal = at(col, col);
            for (std::size_t row = col + 1; row < n; ++row) {
                const T factor = at(row, col) / diagonal;
                at(row, col) = factor;
                if (factor == T(0)) continue;
                T* target = row_ptr(row);
                const T* source = row_ptr(col);
                for (std::size_t j = col + 1; j < n; ++j) target[j] -= factor * source[j];
            }
        }
    }

    bool singular() const { return singular_; }

    double determinant() const {
        if (singular_) return 0.0;
        double d = sign_;
        for (std::size_t i = 0; i < n_; ++i) d *= static_cast<double>(at(i, i));
        return d;
    }

    // Solves in place for one right-hand side stored with stride `stride` (column of b).
    void solve_column(const T* b, T* x, std::size_t stride) const {
        std::vector<T> y(n_);
        for (std::size_t i = 0; i < n_; ++i) {
            T v = b[perm_[i] * stride];
            for (std::size_t j = 0; j < i; ++j) v -= at(i, j) * y[j];
            y[i] = v;
        }
        for (std::size_t i = n_; i-- > 0;) {
            T v = y[i];
            for (std::size_t j = i + 1; j < n_; ++j) v -= at(i, j) * y[j];
            y[i] = v / at(i, i);
        }
        for (std::size_t i = 0; i < n_; ++i) x[i * stride] = y[i];
    }

private:
    T& at(std::size_t r, std::size_t c) { return lu_[r * n_ + c]; }
    const T& at(std::size_t r, std::size_t c) const { return lu_[r * n_ + c]; }
    T* row_ptr(std::size_t r) { return lu_.data() + r * n_; }

    std::size_t n_;
    std::vector<T> lu_;
    std::vector<std::size_t> perm_;
    int sign_ = 1;
    bool singular_ = false;
};

}  // namespace

template <class T>
void matmul(const T* a, const T* b, T* c, std::size_t m, std::size_t k, std::size_t n) {
    std::fill(c, c + m * n, T(0));
    for (std::size_t i0 = 0; i0 < m; i0 += kBlock) {
        const std::size_t i1 = std::min(i0 + kBlock, m);
        for (std::size_t p0 = 0; p0 < k; p0 += kBlock) {
            const std::size_t p1 = std::min(p0 + kBlock, k);
            for (std::size_t j0 = 0; j0 < n; j0 += kBlock) {
                const std::size_t j1 = std::min(j0 + kBlock, n);
                for (std::size_t i = i0; i < i1; ++i) {
                    T* crow = c + i * n;
                    for (std::size_t p = p0; p < p1; ++p) {
                        const T av = a[i * k + p];
                        const T* brow = b + p * n;
                        for (std::size_t j = j0; j < j1; ++j) crow[j] += av * brow[j];
                    }
                }
            }
        }
    }
}

template <class T>
bool solve(const T* a, const T* b, T* x, std::size_t n, std::size_t nrhs) {
    const LuFactors<T> lu(a, n);
    if (lu.singular()) return false;
    for (std::size_t col = 0; col < nrhs; ++col) lu.solve_column(b + col, x + col, nrhs);
    return true;
}

template <class T>
double determinant(const T* a, std::size_t n) {
    return LuFactors<T>(a, n).determinant();
}

template <class T>
bool inverse(const T* a, T* out, std::size_t n) {
    std::vector<T> identity(n * n, T(0));
    for (std::size_t i = 0; i < n; ++i) identity[i * n + i] = T(1);
    return solve(a, identity.data(), out, n, n);
}

template <class T>
bool cholesky(const T* a, T* l, std::size_t n) {
    std::fill(l, l + n * n, T(0));
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j <= i; ++j) {
            if (a[i * n + j] != a[j * n + i]) return false;
            double sum = static_cast<double>(a[i * n + j]);
            for (std::size_t p = 0; p < j; ++p) {
                sum -= static_cast<double>(l[i * n + p]) * static_cast<double>(l[j * n + p]);
            }
            if (i == j) {
                if (!(sum > 0.0)) return false;
                l[i * n + i] = static_cast<T>(std::sqrt(sum));
            } else {
                l[i * n + j] = static_cast<T>(sum / static_cast<double>(l[j * n + j]));
            }
        }
    }
    return true;
}

template <class T>
bool least_squares(const T* a, const T* b, T* x, std::size_t m, std::size_t n) {
    if (m < n) return false;
    std::vector<T> r(a, a + m * n);
    std::vector<T> qtb(b, b + m);
    std::vector<T> v(m);
    T scale = 0;
    for (const T& value : r) scale = std::max(scale, std::fabs(value));
    const T tiny = scale * std::numeric_limits<T>::epsilon() * static_cast<T>(m);
    for (std::size_t col = 0; col < n; ++col) {
        // Householder vector v reflecting r[col:, col] onto a multiple of e1.
        T norm = 0;
        for (std::size_t i = col; i < m; ++i) norm = std::hypot(norm, r[i * n + col]);
        if (!(norm > tiny)) return false;
        const T alpha = r[col * n + col] > 0 ? -norm : norm;
        T vnorm2 = 0;
        for (std::size_t i = col; i < m; ++i) {
            v[i] = r[i * n + col] - (i == col ? alpha : T(0));
            vnorm2 += v[i] * v[i];
        }
        if (vnorm2 == T(0)) continue;
        for (std::size_t j = col; j < n; ++j) {
            T dot = 0;
            for (std::size_t i = col; i < m; ++i) dot += v[i] * r[i * n + j];
            const T f = 2 * dot / vnorm2;
            for (std::size_t i = col; i < m; ++i) r[i * n + j] -= f * v[i];
        }
        T dot = 0;
        for (std::size_t i = col; i < m; ++i) dot += v[i] * qtb[i];
        const T f = 2 * dot / vnorm2;
        for (std::size_t i = col; i < m; ++i) qtb[i] -= f * v[i];
    }
    for (std::size_t i = n; i-- > 0;) {  // back substitution with the upper triangle R
        T value = qtb[i];
        for (std::size_t j = i + 1; j < n; ++j) value -= r[i * n + j] * x[j];
        x[i] = value / r[i * n + i];
    }
    return true;
}

template <class T>
bool eigenvalues_symmetric(const T* a, T* w, std::size_t n) {
    std::vector<double> s(a, a + n * n);
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (a[i * n + j] != a[j * n + i]) return false;
        }
    }
    double total = 0.0;
    for (const double value : s) total += value * value;
    constexpr int kMaxSweeps = 100;
    for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
        double off = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            for (std::size_t j = i + 1; j < n; ++j) off += s[i * n + j] * s[i * n + j];
        }
        if (off <= 1e-30 * total) break;  // off-diagonal mass below 1e-15 of the norm
        for (std::size_t p = 0; p < n; ++p) {
            for (std::size_t q = p + 1; q < n; ++q) {
                const double apq = s[p * n + q];
                if (apq == 0.0) continue;
                const double theta = (s[q * n + q] - s[p * n + p]) / (2.0 * apq);
                const double t = (theta >= 0 ? 1.0 : -1.0) /
                                 (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
                const double c = 1.0 / std::sqrt(t * t + 1.0);
                const double sn = t * c;
                for (std::size_t k = 0; k < n; ++k) {  // columns p and q
                    const double skp = s[k * n + p];
                    const double skq = s[k * n + q];
                    s[k * n + p] = c * skp - sn * skq;
                    s[k * n + q] = sn * skp + c * skq;
                }
                for (std::size_t k = 0; k < n; ++k) {  // rows p and q
                    const double spk = s[p * n + k];
                    const double sqk = s[q * n + k];
                    s[p * n + k] = c * spk - sn * sqk;
                    s[q * n + k] = sn * spk + c * sqk;
                }
            }
        }
    }
    std::vector<double> diagonal(n);
    for (std::size_t i = 0; i < n; ++i) diagonal[i] = s[i * n + i];
    std::sort(diagonal.begin(), diagonal.end());
    for (std::size_t i = 0; i < n; ++i) w[i] = static_cast<T>(diagonal[i]);
    return true;
}

#define NC_INSTANTIATE_MATRIX(T)                                                               \
    template void matmul<T>(const T*, const T*, T*, std::size_t, std::size_t, std::size_t);   \
    template bool solve<T>(const T*, const T*, T*, std::size_t, std::size_t);                 \
    template double determinant<T>(const T*, std::size_t);                                     \
    template bool inverse<T>(const T*, T*, std::size_t);                                       \
    template bool cholesky<T>(const T*, T*, std::size_t);                                      \
    template bool least_squares<T>(const T*, const T*, T*, std::size_t, std::size_t);         \
    template bool eigenvalues_symmetric<T>(const T*, T*, std::size_t);
NC_FOR_EACH_FLOAT(NC_INSTANTIATE_MATRIX)

}  // namespace nc
