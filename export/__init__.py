"""haris.export: checkpoints to ONNX graphs, FP16 graphs, bundles and TensorRT engines (docs/export.md)."""
