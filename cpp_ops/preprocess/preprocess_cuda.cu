// CUDA pre-processing: the CPU kernel's arithmetic, one thread per output pixel, one launch.
//
// A thread resamples its pixel straight from the input: for each input line the second pass reads
// (rows when the horizontal pass comes first, else columns), it runs the first pass along that line
// (clipping to uint8 as Pillow does between passes), then weights the result by the second pass.
// That recomputes the first pass once per second-pass tap, which a GPU affords at these sizes, and
// buys a launcher that needs no scratch memory, no allocation and no host-device copy: device
// pointers and a stream in, nothing else.
#include <cuda_runtime.h>

#include "preprocess.h"

namespace haris {
namespace {

struct Normalization {
  float mean[3];
  float std[3];
};

struct PreprocessArgs {
  const uint8_t* image;
  int width;
  int image_size;
  ResizedShape resized;
  FilterAxis horizontal;
  FilterAxis vertical;
  bool vertical_first;
  Normalization normalization;
  float* output;
};

// The first pass along one input line: pixels at line + (taps.first + tap) * step, weighted by
// `axis`, clipped to uint8 per channel.
__device__ void resample_line(const uint8_t* line, size_t step, const FilterAxis& axis,
                              const FilterTaps& taps, int32_t rgb[3]) {
  int32_t sums[3] = {kRoundingHalf, kRoundingHalf, kRoundingHalf};
  for (int tap = 0; tap < taps.count; ++tap) {
    const int32_t weight = tap_weight(axis, taps, tap);
    const uint8_t* pixel = line + static_cast<size_t>(taps.first + tap) * step;
    for (int channel = 0; channel < 3; ++channel) sums[channel] += pixel[channel] * weight;
  }
  for (int channel = 0; channel < 3; ++channel) rgb[channel] = clip_to_uint8(sums[channel]);
}

__global__ void preprocess_kernel(PreprocessArgs args) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= args.image_size || y >= args.image_size) return;
  const size_t plane = static_cast<size_t>(args.image_size) * args.image_size;
  float* out = args.output + static_cast<size_t>(y) * args.image_size + x;
  if (x >= args.resized.width || y >= args.resized.height) {
    for (int channel = 0; channel < 3; ++channel) out[channel * plane] = 0.0f;
    return;
  }
  const FilterTaps columns = filter_taps(args.horizontal, x);
  const FilterTaps rows = filter_taps(args.vertical, y);
  const size_t row_step = static_cast<size_t>(args.width) * 3;
  // The second pass's taps pick lines; the first pass runs along each of them.
  const bool vertical_first = args.vertical_first;
  const FilterAxis& second_axis = vertical_first ? args.horizontal : args.vertical;
  const FilterTaps& second_taps = vertical_first ? columns : rows;
  const FilterAxis& first_axis = vertical_first ? args.vertical : args.horizontal;
  const FilterTaps& first_taps = vertical_first ? rows : columns;
  const size_t line_step = vertical_first ? 3 : row_step;
  const size_t pixel_step = vertical_first ? row_step : 3;
  int32_t sums[3] = {kRoundingHalf, kRoundingHalf, kRoundingHalf};
  for (int tap = 0; tap < second_taps.count; ++tap) {
    const uint8_t* line = args.image + static_cast<size_t>(second_taps.first + tap) * line_step;
    int32_t rgb[3];
    resample_line(line, pixel_step, first_axis, first_taps, rgb);
    const int32_t weight = tap_weight(second_axis, second_taps, tap);
    for (int channel = 0; channel < 3; ++channel) sums[channel] += rgb[channel] * weight;
  }
  const Normalization& norm = args.normalization;
  for (int channel = 0; channel < 3; ++channel) {
    out[channel * plane] =
        normalize_pixel(clip_to_uint8(sums[channel]), norm.mean[channel], norm.std[channel]);
  }
}

}  // namespace
}  // namespace haris

// Writes the (3, S, S) float32 model input for the (height, width, 3) uint8 image, both device
// pointers, on `stream`; stores the resized (h, w) in resized_hw (host memory). pillow_13_order:
// pick the pass order as Pillow >= 13 does (runs_vertical_first). Returns a
// cudaError_t: cudaErrorInvalidValue for bad sizes, else the launch's error. Runs on the calling
// thread's current device and context, the ones cuda-python's cudaSetDevice makes current.
extern "C" int haris_preprocess_cuda(const uint8_t* image, int height, int width, int image_size,
                                     const float* pixel_mean, const float* pixel_std,
                                     int pillow_13_order, float* output, cudaStream_t stream,
                                     int* resized_hw) {
  using namespace haris;
  if (height <= 0 || width <= 0 || image_size <= 0) return cudaErrorInvalidValue;
  const ResizedShape resized = resized_shape(height, width, image_size);
  if (resized.height <= 0 || resized.width <= 0) return cudaErrorInvalidValue;
  resized_hw[0] = resized.height;
  resized_hw[1] = resized.width;
  PreprocessArgs args{image,
                      width,
                      image_size,
                      resized,
                      make_filter_axis(width, resized.width),
                      make_filter_axis(height, resized.height),
                      runs_vertical_first(height, width, resized, pillow_13_order != 0),
                      {{pixel_mean[0], pixel_mean[1], pixel_mean[2]},
                       {pixel_std[0], pixel_std[1], pixel_std[2]}},
                      output};
  const dim3 block(32, 8);
  const dim3 grid((image_size + block.x - 1) / block.x, (image_size + block.y - 1) / block.y);
  preprocess_kernel<<<grid, block, 0, stream>>>(args);
  return static_cast<int>(cudaGetLastError());
}

// The message of a cudaError_t returned by the launchers of this library.
extern "C" const char* haris_cuda_error_string(int error) {
  return cudaGetErrorString(static_cast<cudaError_t>(error));
}
