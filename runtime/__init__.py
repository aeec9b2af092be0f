"""haris.runtime: the Predictor over onnxruntime, OpenVINO, TensorRT and eager torch. Imports no torch at module level."""
