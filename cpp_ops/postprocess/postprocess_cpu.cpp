// CPU post-processing: both bilinear resizes and the threshold in one pass over the output.
//
// Each thread owns a block of output rows. An output row blends two rows of the cropped S x S
// grid; the thread computes those grid rows (only the w columns inside the crop) from the
// low-resolution logits when first needed and keeps the last two, which consecutive output rows
// mostly share when upscaling. No S x S array exists at any point.
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "postprocess.h"

namespace haris {
namespace {

// A thread is worth starting for this many output rows.
constexpr int kMinRowsPerBlock = 32;

std::vector<SamplePoint> tabulate_samples(int source, int target, int count) {
  std::vector<SamplePoint> samples(count);
  for (int index = 0; index < count; ++index) samples[index] = sample_point(source, target, index);
  return samples;
}

// Everything a block needs, shared read-only by all threads.
struct Job {
  const float* logits;
  PostprocessShape shape;
  float threshold;
  // First resize (lh, lw) -> (S, S), only the rows and columns inside the crop.
  std::vector<SamplePoint> grid_rows;
  std::vector<SamplePoint> grid_columns;
  // Second resize (h, w) -> (H, W).
  std::vector<SamplePoint> out_rows;
  std::vector<SamplePoint> out_columns;
  uint8_t* mask;
  float* logits_out;
};

// The two most recently computed rows of the cropped grid, by row index.
class GridRowCache {
 public:
  explicit GridRowCache(const Job& job) : job_(job) {
    for (Slot& slot : slots_) slot.values.resize(job.shape.resized_width);
  }

  // Grid rows `upper` and `lower`, computed unless already held; neither evicts the other.
  void fetch(int upper, int lower, const float** upper_row, const float** lower_row) {
    *upper_row = row(upper, lower);
    *lower_row = row(lower, upper);
  }

 private:
  struct Slot {
    int index = -1;
    std::vector<float> values;
  };

  const float* row(int index, int keep) {
    for (Slot& slot : slots_) {
      if (slot.index == index) return slot.values.data();
    }
    Slot& free_slot = slots_[0].index == keep ? slots_[1] : slots_[0];
    compute(index, free_slot.values);
    free_slot.index = index;
    return free_slot.values.data();
  }

  void compute(int index, std::vector<float>& values) const {
    const SamplePoint row = job_.grid_rows[index];
    for (size_t column = 0; column < values.size(); ++column) {
      values[column] = upsampled_logit(job_.logits, job_.shape.low_width, row,
                                       job_.grid_columns[column]);
    }
  }

  const Job& job_;
  Slot slots_[2];
};

void write_output_rows(const Job& job, RowRange rows) {
  GridRowCache cache(job);
  const int out_width = job.shape.out_width;
  for (int y = rows.begin; y < rows.end; ++y) {
    const SamplePoint row = job.out_rows[y];
    const float* upper_row;
    const float* lower_row;
    cache.fetch(row.low, row.high, &upper_row, &lower_row);
    uint8_t* mask = job.mask + static_cast<size_t>(y) * out_width;
    float* logits_out =
        job.logits_out ? job.logits_out + static_cast<size_t>(y) * out_width : nullptr;
    for (int x = 0; x < out_width; ++x) {
      const float value = bilinear_sample(upper_row, lower_row, job.out_columns[x], row.weight);
      mask[x] = value > job.threshold;
      if (logits_out) logits_out[x] = value;
    }
  }
}

}  // namespace

void postprocess_mask_cpu(const float* logits, const PostprocessShape& shape, float threshold,
                          int threads, uint8_t* mask, float* logits_out) {
  if (!is_valid(shape)) throw std::invalid_argument("invalid post-processing sizes");
  const Job job{logits,
                shape,
                threshold,
                tabulate_samples(shape.low_height, shape.image_size, shape.resized_height),
                tabulate_samples(shape.low_width, shape.image_size, shape.resized_width),
                tabulate_samples(shape.resized_height, shape.out_height, shape.out_height),
                tabulate_samples(shape.resized_width, shape.out_width, shape.out_width),
                mask,
                logits_out};
  run_row_blocks(shape.out_height, threads, kMinRowsPerBlock, [&](int block, int blocks) {
    write_output_rows(job, block_of(shape.out_height, block, blocks));
  });
}

}  // namespace haris
