"""The pipelines that chain the toolkit's steps: `haris demo` (data, training, evaluation, export,
engines, prediction, parity and speed, one report) and the ablations of the paper's tables II-III,
each resumable step by step (step_runner)."""
