// Pre-processing: uint8 HWC RGB image -> float32 CHW (3, S, S) model input.
//
// The resize reproduces Pillow's Image.resize(..., BILINEAR) bit for bit (libImaging/Resample.c):
// a separable convolution in two passes (their order: runs_vertical_first), a triangle filter
// whose support widens by the downscale factor (antialiasing), coefficients normalized in double
// and then rounded to 22-bit fixed point, each pass rounding and clipping its result to uint8.
// The functions below are that arithmetic for one output index, shared by the CPU and CUDA kernels.
#pragma once

#include <cmath>
#include <cstdint>

#include "../common/row_blocks.h"

namespace haris {

// Pillow's PRECISION_BITS: 8 bits of result, 2 of headroom, 22 of fraction.
constexpr int kPrecisionBits = 32 - 8 - 2;
// Accumulators start at one half, so the final shift rounds to nearest.
constexpr int kRoundingHalf = 1 << (kPrecisionBits - 1);

// (h, w) after scaling the longest side to image_size, rounded as segment_anything rounds.
struct ResizedShape {
  int height;
  int width;
};

HARIS_HOST_DEVICE inline ResizedShape resized_shape(int height, int width, int image_size) {
  const double scale = static_cast<double>(image_size) / (height > width ? height : width);
  return {static_cast<int>(height * scale + 0.5), static_cast<int>(width * scale + 0.5)};
}

// One axis of the resize: how output indices map to input pixels.
struct FilterAxis {
  int in_size;
  double scale;            // input pixels per output pixel
  double support;          // half-width of the filter, in input pixels
  double inverse_stretch;  // 1 / max(scale, 1): a downscale stretches the triangle
};

HARIS_HOST_DEVICE inline FilterAxis make_filter_axis(int in_size, int out_size) {
  // Pillow divides (box end - box start), floats holding whole sizes exactly, in double.
  const double scale = static_cast<double>(in_size) / out_size;
  const double stretch = scale < 1.0 ? 1.0 : scale;
  return {in_size, scale, stretch, 1.0 / stretch};
}

// The most taps any output index of the axis uses (Pillow's ksize).
HARIS_HOST_DEVICE inline int max_taps(const FilterAxis& axis) {
  return static_cast<int>(ceil(axis.support)) * 2 + 1;
}

// The input pixels one output index reads, and the normalizer of their weights.
struct FilterTaps {
  int first;
  int count;
  double center;
  double weight_sum;
};

HARIS_HOST_DEVICE inline double triangle(double x) {
  if (x < 0.0) x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

HARIS_HOST_DEVICE inline double raw_weight(const FilterAxis& axis, const FilterTaps& taps,
                                           int tap) {
  const int source = taps.first + tap;
  return triangle((source - taps.center + 0.5) * axis.inverse_stretch);
}

HARIS_HOST_DEVICE inline FilterTaps filter_taps(const FilterAxis& axis, int out_index) {
  FilterTaps taps;
  taps.center = (out_index + 0.5) * axis.scale;
  // Pillow rounds the bounds with (int)(x + 0.5), a truncation toward zero, then clamps.
  int first = static_cast<int>(taps.center - axis.support + 0.5);
  int end = static_cast<int>(taps.center + axis.support + 0.5);
  first = first < 0 ? 0 : first;
  end = end > axis.in_size ? axis.in_size : end;
  taps.first = first;
  taps.count = end - first;
  taps.weight_sum = 0.0;
  for (int tap = 0; tap < taps.count; ++tap) taps.weight_sum += raw_weight(axis, taps, tap);
  return taps;
}

// Pillow 13 resamples vertically first for an image that loses much more height than width
// (python-pillow/Pillow#9549); older Pillow always runs the horizontal pass first. Both orders
// clip to uint8 in between, so they differ by a level here and there. The condition below was
// established by probing Pillow 13.0 on some 2,400 size pairs, boundaries included: the height
// shrinks by more than twice as many pixels as the width does.
HARIS_HOST_DEVICE inline bool runs_vertical_first(int height, int width, ResizedShape resized,
                                                  bool pillow_13_order) {
  return pillow_13_order && resized.height < height &&
         height - resized.height > 2 * (width - resized.width);
}

// The fixed-point weight of one tap. The triangle is never negative, so Pillow's rounding of
// negative coefficients (toward -inf by -0.5) never applies to it.
HARIS_HOST_DEVICE inline int32_t tap_weight(const FilterAxis& axis, const FilterTaps& taps,
                                            int tap) {
  double weight = raw_weight(axis, taps, tap);
  if (taps.weight_sum != 0.0) weight /= taps.weight_sum;
  return static_cast<int32_t>(0.5 + weight * (1 << kPrecisionBits));
}

// A fixed-point accumulator back to uint8, clipped as Pillow's clip8 lookup table does.
HARIS_HOST_DEVICE inline uint8_t clip_to_uint8(int32_t accumulator) {
  const int32_t value = accumulator >> kPrecisionBits;
  return static_cast<uint8_t>(value < 0 ? 0 : (value > 255 ? 255 : value));
}

// The numpy reference's normalization in float32: (pixel - mean) / std, division kept (not a
// reciprocal multiply) so the result is the same float.
HARIS_HOST_DEVICE inline float normalize_pixel(uint8_t value, float mean, float std) {
  return (static_cast<float>(value) - mean) / std;
}

#ifndef __CUDACC__
// Writes the (3, S, S) model input for a contiguous (height, width, 3) image; returns the resized
// (h, w). `pillow_13_order`: choose the pass order as Pillow >= 13 does (see runs_vertical_first).
// `threads` <= 0 means one per hardware thread.
ResizedShape preprocess_image_cpu(const uint8_t* image, int height, int width, int image_size,
                                  const float mean[3], const float std[3], bool pillow_13_order,
                                  int threads, float* output);
#endif

}  // namespace haris
