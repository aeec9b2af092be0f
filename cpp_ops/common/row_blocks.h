// Shared by both ops: the host/device qualifier and the CPU row-block threading.
//
// Every kernel's arithmetic lives in HARIS_HOST_DEVICE functions, so the CPU and CUDA versions
// run the same code; only the loops around it differ. Build flags keep that code exact:
// -ffp-contract=off (g++) and --fmad=false (nvcc) forbid fused multiply-adds, which the numpy
// reference never uses.
#pragma once

#ifdef __CUDACC__
#define HARIS_HOST_DEVICE __host__ __device__
#else
#define HARIS_HOST_DEVICE
#endif

#ifndef __CUDACC__
#include <algorithm>
#include <exception>
#include <system_error>
#include <thread>
#include <vector>

namespace haris {

// A half-open range of rows.
struct RowRange {
  int begin;
  int end;
};

// The `index`-th of `count` near-equal contiguous parts of [0, total).
inline RowRange block_of(int total, int index, int count) {
  const long long begin = static_cast<long long>(total) * index / count;
  const long long end = static_cast<long long>(total) * (index + 1) / count;
  return {static_cast<int>(begin), static_cast<int>(end)};
}

// `requested` when positive, else one thread per hardware thread.
inline int resolve_thread_count(int requested) {
  if (requested > 0) return requested;
  const unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? static_cast<int>(hardware) : 1;
}

// Runs work(block, blocks) for blocks 0..blocks-1, one thread each, the caller's thread included.
// Fewer blocks than threads when there is little work: starting a thread costs tens of
// microseconds, more than resampling a few rows. Results never depend on the split: each block
// computes its rows exactly as a single thread would. An exception in any block is rethrown after
// all have joined.
template <typename Work>
void run_row_blocks(int rows, int threads, int min_rows_per_block, const Work& work) {
  const int useful = std::max(1, rows / std::max(1, min_rows_per_block));
  const int blocks = std::max(1, std::min(resolve_thread_count(threads), useful));
  std::vector<std::exception_ptr> errors(blocks);
  auto run_block = [&](int block) {
    try {
      work(block, blocks);
    } catch (...) {
      errors[block] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(blocks - 1);
  for (int block = 0; block + 1 < blocks; ++block) {
    try {
      pool.emplace_back(run_block, block);
    } catch (const std::system_error&) {
      run_block(block);  // no thread to be had: do this block here rather than fail
    }
  }
  run_block(blocks - 1);
  for (std::thread& thread : pool) thread.join();
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

}  // namespace haris
#endif  // __CUDACC__
