// Dense linear algebra on row-major matrices of float or double.
#pragma once

#include <cstddef>

namespace nc {

// c (m x n) = a (m x k) * b (k x n), cache-blocked.
template <class T>
void matmul(const T* a, const T* b, T* c, std::size_t m, std::size_t k, std::size_t n);

// x (n x nrhs) solving a (n x n) * x = b by LU decomposition with partial pivoting.
// False when a is singular.
template <class T>
bool solve(const T* a, const T* b, T* x, std::size_t n, std::size_t nrhs);

template <class T>
double determinant(const T* a, std::size_t n);

template <class T>
bool inverse(const T* a, T* out, std::size_t n);

// Lower-triangular l with a = l * l^T; false when a is not symmetric positive definite.
template <class T>
bool cholesky(const T* a, T* l, std::size_t n);

// x (n) minimising ||a x - b|| for a (m x n), m >= n, by Householder QR; false when a does not
// have full column rank.
template <class T>
bool least_squares(const T* a, const T* b, T* x, std::size_t m, std::size_t n);

// Eigenvalues of the symmetric matrix a, ascending (cyclic Jacobi rotations).
template <class T>
bool eigenvalues_symmetric(const T* a, T* w, std::size_t n);

}  // namespace nc
