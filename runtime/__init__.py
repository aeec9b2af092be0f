"""haris.runtime: the Predictor over torch, onnxruntime and TensorRT. Imports no torch at module level."""
