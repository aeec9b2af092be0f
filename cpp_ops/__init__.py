"""haris.cpp_ops: C++/CUDA pre- and post-processing kernels for the runtime (see DESIGN.md)."""
