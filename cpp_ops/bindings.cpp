// The one registration file of haris.cpp_ops._prepost: the CPU kernels over numpy buffers.
//
// haris.cpp_ops checks and converts arguments before calling in; the checks here only keep a direct
// call from reading out of bounds. The kernels run with the GIL released, so other Python threads
// go on meanwhile. The CUDA kernels are
// not bound here: they live in a separate shared library (see cuda_kernels.py) so that this module
// never needs the CUDA runtime to import.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <utility>

#include "postprocess/postprocess.h"
#include "preprocess/preprocess.h"

namespace py = pybind11;

namespace {

using ImageArray = py::array_t<uint8_t, py::array::c_style>;
using LogitArray = py::array_t<float, py::array::c_style>;

py::tuple preprocess_image(const ImageArray& image, int image_size,
                           const std::array<float, 3>& pixel_mean,
                           const std::array<float, 3>& pixel_std, bool pillow_13_order,
                           int threads) {
  if (image.ndim() != 3 || image.shape(2) != 3) {
    throw py::value_error("expected a uint8 RGB image (H, W, 3)");
  }
  if (image.shape(0) <= 0 || image.shape(1) <= 0 || image_size <= 0) {
    throw py::value_error("image and image_size must be non-empty");
  }
  const int height = static_cast<int>(image.shape(0));
  const int width = static_cast<int>(image.shape(1));
  const haris::ResizedShape resized = haris::resized_shape(height, width, image_size);
  if (resized.height <= 0 || resized.width <= 0) {
    throw py::value_error("height and width must be > 0 after resizing");
  }
  py::array_t<float> output({3, image_size, image_size});
  const uint8_t* pixels = image.data();
  float* out = output.mutable_data();
  {
    py::gil_scoped_release released;
    haris::preprocess_image_cpu(pixels, height, width, image_size, pixel_mean.data(),
                                pixel_std.data(), pillow_13_order, threads, out);
  }
  return py::make_tuple(output, py::make_tuple(resized.height, resized.width));
}

haris::PostprocessShape postprocess_shape(const LogitArray& logits, std::pair<int, int> resized,
                                          std::pair<int, int> original, int image_size) {
  if (logits.ndim() != 2) throw py::value_error("expected 2-D mask logits (S/4, S/4)");
  const haris::PostprocessShape shape{static_cast<int>(logits.shape(0)),
                                      static_cast<int>(logits.shape(1)),
                                      image_size,
                                      resized.first,
                                      resized.second,
                                      original.first,
                                      original.second};
  if (!haris::is_valid(shape)) {
    throw py::value_error("sizes must be positive and the resized region inside S x S");
  }
  return shape;
}

py::object postprocess_mask(const LogitArray& logits, std::pair<int, int> resized,
                            std::pair<int, int> original, int image_size, float threshold,
                            bool return_logits, int threads) {
  const haris::PostprocessShape shape = postprocess_shape(logits, resized, original, image_size);
  py::array_t<bool> mask({shape.out_height, shape.out_width});
  py::array_t<float> logits_out;
  if (return_logits) logits_out = py::array_t<float>({shape.out_height, shape.out_width});
  const float* source = logits.data();
  // numpy bools are one byte holding 0 or 1, which is what the kernel writes.
  uint8_t* mask_bytes = reinterpret_cast<uint8_t*>(mask.mutable_data());
  float* logits_bytes = return_logits ? logits_out.mutable_data() : nullptr;
  {
    py::gil_scoped_release released;
    haris::postprocess_mask_cpu(source, shape, threshold, threads, mask_bytes, logits_bytes);
  }
  if (return_logits) return py::make_tuple(mask, logits_out);
  return std::move(mask);
}

}  // namespace

PYBIND11_MODULE(_prepost, module) {
  module.doc() = "C++ pre- and post-processing kernels of haris.cpp_ops (use the package API)";
  module.def("preprocess_image", &preprocess_image, py::arg("image"), py::arg("image_size"),
             py::arg("pixel_mean"), py::arg("pixel_std"), py::arg("pillow_13_order") = true,
             py::arg("threads") = 0,
             "uint8 (H, W, 3) -> (float32 (3, S, S), (h, w)), bit-identical to the reference");
  module.def("postprocess_mask", &postprocess_mask, py::arg("mask_logits"), py::arg("resized"),
             py::arg("original"), py::arg("image_size"), py::arg("threshold") = 0.0f,
             py::arg("return_logits") = false, py::arg("threads") = 0,
             "(lh, lw) logits -> bool (H, W) mask, or (mask, float32 logits) with return_logits");
}
