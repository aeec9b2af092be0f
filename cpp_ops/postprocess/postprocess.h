// Post-processing: low-resolution mask logits -> mask (and logits) at the original image size.
//
// Reproduces haris.runtime.image_transforms.postprocess_logits followed by `> threshold`: a
// bilinear upsample (align_corners=False) of the (lh, lw) logits to S x S, a crop to the resized
// (h, w), a bilinear resize to (H, W). Both resizes are separable blends in float32 with sample
// positions computed in double, as the numpy reference computes them; the functions below are
// that arithmetic for one sample, shared by the CPU and CUDA kernels. The S x S grid is never
// materialized: a value of it is computed where the second resize reads it.
#pragma once

#include <cmath>
#include <cstdint>

#include "../common/row_blocks.h"

namespace haris {

// Where output index `index` of a resize from `source` to `target` samples: the two neighbours
// and the float32 weight of the second.
struct SamplePoint {
  int low;
  int high;
  float weight;
};

HARIS_HOST_DEVICE inline SamplePoint sample_point(int source, int target, int index) {
  // Half-pixel centres, clamped at the border, as align_corners=False does.
  double position = (index + 0.5) * (static_cast<double>(source) / target) - 0.5;
  const double last = static_cast<double>(source - 1);
  position = position < 0.0 ? 0.0 : (position > last ? last : position);
  const int low = static_cast<int>(floor(position));
  const int high = low + 1 < source ? low + 1 : source - 1;
  return {low, high, static_cast<float>(position - low)};
}

// a * (1 - w) + b * w, each operation rounded to float32 as numpy rounds it.
HARIS_HOST_DEVICE inline float blend(float a, float b, float weight) {
  return a * (1.0f - weight) + b * weight;
}

// The bilinear value between two rows at a column sample: columns blended first, then rows.
HARIS_HOST_DEVICE inline float bilinear_sample(const float* upper_row, const float* lower_row,
                                               SamplePoint column, float row_weight) {
  const float upper = blend(upper_row[column.low], upper_row[column.high], column.weight);
  const float lower = blend(lower_row[column.low], lower_row[column.high], column.weight);
  return blend(upper, lower, row_weight);
}

// One value of the S x S upsampled logits, read straight from the (lh, lw) low-resolution ones.
HARIS_HOST_DEVICE inline float upsampled_logit(const float* logits, int low_width, SamplePoint row,
                                               SamplePoint column) {
  return bilinear_sample(logits + static_cast<long long>(row.low) * low_width,
                         logits + static_cast<long long>(row.high) * low_width, column,
                         row.weight);
}

// The sizes of one post-processing call.
struct PostprocessShape {
  int low_height;   // the logits' (lh, lw), S/4 x S/4 for the decoder
  int low_width;
  int image_size;   // S
  int resized_height;  // (h, w): the image's region inside S x S
  int resized_width;
  int out_height;   // (H, W): the original image
  int out_width;
};

// True when the sizes make sense: all positive, the resized region inside S x S.
HARIS_HOST_DEVICE inline bool is_valid(const PostprocessShape& shape) {
  return shape.low_height > 0 && shape.low_width > 0 && shape.image_size > 0 &&
         shape.resized_height > 0 && shape.resized_width > 0 &&
         shape.resized_height <= shape.image_size && shape.resized_width <= shape.image_size &&
         shape.out_height > 0 && shape.out_width > 0;
}

#ifndef __CUDACC__
// Writes the (H, W) mask (0/1 bytes: logit > threshold) and, when `logits_out` is not null, the
// (H, W) logits. `threads` <= 0 means one per hardware thread.
void postprocess_mask_cpu(const float* logits, const PostprocessShape& shape, float threshold,
                          int threads, uint8_t* mask, float* logits_out);
#endif

}  // namespace haris
