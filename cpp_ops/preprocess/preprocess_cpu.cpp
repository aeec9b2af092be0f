// CPU pre-processing: Pillow's two-pass bilinear resize, normalization and padding, fused.
//
// Each thread owns a block of output rows and writes every output float of them exactly once,
// padding included. Horizontal pass first: the thread resamples horizontally just the input rows
// its block reads (a band; neighbouring blocks recompute a few boundary rows rather than share),
// then each output row vertically from the band. Vertical pass first: each output row is summed
// vertically over whole input rows, clipped, then resampled horizontally; no band is needed.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "preprocess.h"

namespace haris {
namespace {

// A thread is worth starting for this many output rows of resampling.
constexpr int kMinRowsPerBlock = 16;

// An axis's taps, tabulated once per call: first tap and tap count per output index, and the
// fixed-point weights at a stride of max_taps.
struct TapTable {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;
  int stride;
};

TapTable tabulate_taps(int in_size, int out_size) {
  const FilterAxis axis = make_filter_axis(in_size, out_size);
  TapTable table{std::vector<int>(out_size), std::vector<int>(out_size), {}, max_taps(axis)};
  table.weights.assign(static_cast<size_t>(out_size) * table.stride, 0);
  for (int out = 0; out < out_size; ++out) {
    const FilterTaps taps = filter_taps(axis, out);
    table.first[out] = taps.first;
    table.count[out] = taps.count;
    for (int tap = 0; tap < taps.count; ++tap) {
      table.weights[static_cast<size_t>(out) * table.stride + tap] = tap_weight(axis, taps, tap);
    }
  }
  return table;
}

// Everything a block needs, shared read-only by all threads.
struct Job {
  const uint8_t* image;
  int width;
  int image_size;
  ResizedShape resized;
  TapTable horizontal;
  TapTable vertical;
  float lookup[3][256];  // normalized value of every uint8, per channel
  float* output;
};

// One interleaved RGB row resampled horizontally to `table`'s output width, clipped.
void resample_horizontally(const uint8_t* source, const TapTable& table, uint8_t* destination) {
  for (size_t x = 0; x < table.first.size(); ++x) {
    const uint8_t* pixel = source + static_cast<size_t>(table.first[x]) * 3;
    const int32_t* weights = &table.weights[x * table.stride];
    int32_t red = kRoundingHalf, green = kRoundingHalf, blue = kRoundingHalf;
    for (int tap = 0; tap < table.count[x]; ++tap, pixel += 3) {
      red += pixel[0] * weights[tap];
      green += pixel[1] * weights[tap];
      blue += pixel[2] * weights[tap];
    }
    destination[3 * x] = clip_to_uint8(red);
    destination[3 * x + 1] = clip_to_uint8(green);
    destination[3 * x + 2] = clip_to_uint8(blue);
  }
}

// Output row `y` summed vertically over rows of `rows` (row r at rows + (r - first_row) * values),
// clipped. Summing whole interleaved rows at a time lets the compiler vectorize the loop.
void resample_vertically(const uint8_t* rows, int first_row, size_t values, const TapTable& table,
                         int y, std::vector<int32_t>& sums, uint8_t* destination) {
  std::fill(sums.begin(), sums.begin() + values, kRoundingHalf);
  const int32_t* weights = &table.weights[static_cast<size_t>(y) * table.stride];
  for (int tap = 0; tap < table.count[y]; ++tap) {
    const uint8_t* source = rows + (table.first[y] + tap - first_row) * values;
    const int32_t weight = weights[tap];
    for (size_t i = 0; i < values; ++i) sums[i] += source[i] * weight;
  }
  for (size_t i = 0; i < values; ++i) destination[i] = clip_to_uint8(sums[i]);
}

// Normalizes a resized RGB row into row `y` of the three output planes, and pads it.
void write_output_row(const Job& job, int y, const uint8_t* rgb) {
  const size_t plane = static_cast<size_t>(job.image_size) * job.image_size;
  for (int channel = 0; channel < 3; ++channel) {
    float* out = job.output + channel * plane + static_cast<size_t>(y) * job.image_size;
    const float* lookup = job.lookup[channel];
    for (int x = 0; x < job.resized.width; ++x) out[x] = lookup[rgb[3 * x + channel]];
    std::fill(out + job.resized.width, out + job.image_size, 0.0f);
  }
}

void resample_rows_horizontal_first(const Job& job, RowRange rows) {
  int first_row = job.vertical.first[rows.begin];
  int end_row = first_row;
  for (int y = rows.begin; y < rows.end; ++y) {
    first_row = std::min(first_row, job.vertical.first[y]);
    end_row = std::max(end_row, job.vertical.first[y] + job.vertical.count[y]);
  }
  const size_t in_values = static_cast<size_t>(job.width) * 3;
  const size_t out_values = static_cast<size_t>(job.resized.width) * 3;
  // An input as wide as the output is the band itself: Pillow skips that pass, an identity.
  const uint8_t* band = job.image + first_row * in_values;
  std::vector<uint8_t> storage;
  if (job.resized.width != job.width) {
    storage.resize((end_row - first_row) * out_values);
    for (int row = first_row; row < end_row; ++row) {
      resample_horizontally(job.image + row * in_values, job.horizontal,
                            &storage[(row - first_row) * out_values]);
    }
    band = storage.data();
  }
  std::vector<int32_t> sums(out_values);
  std::vector<uint8_t> rgb(out_values);
  for (int y = rows.begin; y < rows.end; ++y) {
    resample_vertically(band, first_row, out_values, job.vertical, y, sums, rgb.data());
    write_output_row(job, y, rgb.data());
  }
}

void resample_rows_vertical_first(const Job& job, RowRange rows) {
  const size_t in_values = static_cast<size_t>(job.width) * 3;
  std::vector<int32_t> sums(in_values);
  std::vector<uint8_t> column_resampled(in_values);
  std::vector<uint8_t> rgb(static_cast<size_t>(job.resized.width) * 3);
  for (int y = rows.begin; y < rows.end; ++y) {
    resample_vertically(job.image, 0, in_values, job.vertical, y, sums, column_resampled.data());
    resample_horizontally(column_resampled.data(), job.horizontal, rgb.data());
    write_output_row(job, y, rgb.data());
  }
}

void zero_padding_rows(const Job& job, RowRange rows) {
  const size_t plane = static_cast<size_t>(job.image_size) * job.image_size;
  const size_t row_floats = static_cast<size_t>(job.image_size);
  for (int channel = 0; channel < 3; ++channel) {
    float* start = job.output + channel * plane + rows.begin * row_floats;
    std::fill(start, start + (rows.end - rows.begin) * row_floats, 0.0f);
  }
}

}  // namespace

ResizedShape preprocess_image_cpu(const uint8_t* image, int height, int width, int image_size,
                                  const float mean[3], const float std[3], bool pillow_13_order,
                                  int threads, float* output) {
  const ResizedShape resized = resized_shape(height, width, image_size);
  if (resized.height <= 0 || resized.width <= 0) {
    throw std::invalid_argument("height and width must be > 0 after resizing");
  }
  Job job{image, width, image_size, resized, tabulate_taps(width, resized.width),
          tabulate_taps(height, resized.height), {}, output};
  for (int channel = 0; channel < 3; ++channel) {
    for (int value = 0; value < 256; ++value) {
      job.lookup[channel][value] = normalize_pixel(value, mean[channel], std[channel]);
    }
  }
  const bool vertical_first = runs_vertical_first(height, width, resized, pillow_13_order);
  // Each block takes its share of the image rows and of the padding rows below them.
  const int padding_rows = image_size - resized.height;
  run_row_blocks(resized.height, threads, kMinRowsPerBlock, [&](int block, int blocks) {
    const RowRange rows = block_of(resized.height, block, blocks);
    if (rows.begin < rows.end) {
      vertical_first ? resample_rows_vertical_first(job, rows)
                     : resample_rows_horizontal_first(job, rows);
    }
    const RowRange padding = block_of(padding_rows, block, blocks);
    zero_padding_rows(job, {resized.height + padding.begin, resized.height + padding.end});
  });
  return resized;
}

}  // namespace haris
