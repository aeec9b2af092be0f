// CUDA post-processing: the CPU kernel's arithmetic, one thread per output pixel, one launch.
//
// A thread computes the four values of the cropped S x S grid its pixel blends (each an
// upsampled_logit of the low-resolution logits, which stay in cache), blends them and thresholds.
// The CPU kernel instead keeps grid rows between output rows; a GPU thread has no such neighbour
// to share with, and recomputing four cheap samples costs less than a second launch and buffer.
#include <cuda_runtime.h>

#include "postprocess.h"

namespace haris {
namespace {

struct PostprocessArgs {
  const float* logits;
  PostprocessShape shape;
  float threshold;
  uint8_t* mask;
  float* logits_out;  // may be null
};

// The grid value at cropped row `row` and column sample `column` of the first resize.
__device__ float grid_value(const PostprocessArgs& args, int row, SamplePoint column) {
  const PostprocessShape& shape = args.shape;
  const SamplePoint grid_row = sample_point(shape.low_height, shape.image_size, row);
  return upsampled_logit(args.logits, shape.low_width, grid_row, column);
}

__global__ void postprocess_kernel(PostprocessArgs args) {
  const PostprocessShape& shape = args.shape;
  const int x = blockIdx.x * blockDim.x + threadIdx.x;
  const int y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= shape.out_width || y >= shape.out_height) return;
  const SamplePoint row = sample_point(shape.resized_height, shape.out_height, y);
  const SamplePoint column = sample_point(shape.resized_width, shape.out_width, x);
  const SamplePoint left = sample_point(shape.low_width, shape.image_size, column.low);
  const SamplePoint right = sample_point(shape.low_width, shape.image_size, column.high);
  // The same blends, in the same order, as bilinear_sample over two materialized grid rows.
  const float upper = blend(grid_value(args, row.low, left), grid_value(args, row.low, right),
                            column.weight);
  const float lower = blend(grid_value(args, row.high, left), grid_value(args, row.high, right),
                            column.weight);
  const float value = blend(upper, lower, row.weight);
  const size_t offset = static_cast<size_t>(y) * shape.out_width + x;
  args.mask[offset] = value > args.threshold;
  if (args.logits_out) args.logits_out[offset] = value;
}

}  // namespace
}  // namespace haris

// Writes the (H, W) mask (bytes 0/1: logit > threshold) and, when logits_out is not null, the
// (H, W) float32 logits, from the (low_height, low_width) float32 logits; all device pointers, on
// `stream`. Returns a cudaError_t: cudaErrorInvalidValue for bad sizes, else the launch's error.
extern "C" int haris_postprocess_cuda(const float* logits, int low_height, int low_width,
                                      int image_size, int resized_height, int resized_width,
                                      int out_height, int out_width, float threshold,
                                      uint8_t* mask, float* logits_out, cudaStream_t stream) {
  using namespace haris;
  const PostprocessShape shape{low_height,     low_width,  image_size, resized_height,
                               resized_width,  out_height, out_width};
  if (!is_valid(shape)) return cudaErrorInvalidValue;
  const PostprocessArgs args{logits, shape, threshold, mask, logits_out};
  const dim3 block(32, 8);
  const dim3 grid((out_width + block.x - 1) / block.x, (out_height + block.y - 1) / block.y);
  postprocess_kernel<<<grid, block, 0, stream>>>(args);
  return static_cast<int>(cudaGetLastError());
}
