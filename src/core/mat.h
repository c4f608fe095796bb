// core/mat.h — non-owning row-major matrix view: rows x cols with a row stride (in elements).
#pragma once
#include <cstdint>
#include <span>

namespace bitlm {

template <typename T>
struct Mat {
  T* data = nullptr;
  int64_t rows = 0, cols = 0, stride = 0;

  Mat() = default;
  Mat(T* d, int64_t r, int64_t c) : data(d), rows(r), cols(c), stride(c) {}
  Mat(T* d, int64_t r, int64_t c, int64_t s) : data(d), rows(r), cols(c), stride(s) {}
  template <typename U>  // Mat<float> -> Mat<const float>
  Mat(const Mat<U>& m) : data(m.data), rows(m.rows), cols(m.cols), stride(m.stride) {}

  T* row_ptr(int64_t r) const { return data + r * stride; }
  std::span<T> row(int64_t r) const { return {data + r * stride, size_t(cols)}; }
  T& operator()(int64_t r, int64_t c) const { return data[r * stride + c]; }
  Mat rows_range(int64_t r0, int64_t n) const { return {data + r0 * stride, n, cols, stride}; }
};

}  // namespace bitlm
