"""Every onnxruntime session of HARIS is made here, with the same options everywhere.

The NCHWc layout transformer (an ORT_ENABLE_ALL optimizer) is disabled: in onnxruntime 1.32 it
crashes the process (segmentation fault) on the FP16 text-encoder graph, at the first FP16 MatMul
after a Transpose; ORT_ENABLE_EXTENDED runs it, and so does ENABLE_ALL without this one pass. On FP32
it would pay only where the convolutions are: the fusion and decoder graphs gain 3-11% with it, the
image encoder loses 1.5%: about 1% of end to end at 16 expressions and a loss at one
(docs/measurements.md), too little for a per-stage rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import onnxruntime

DISABLED_OPTIMIZERS = ("NchwcTransformer",)


def create_session(
    model: str | bytes,
    providers: Sequence[str | tuple[str, dict]] = ("CPUExecutionProvider",),
    threads: int | None = None,
    config: Mapping[str, str] | None = None,
) -> onnxruntime.InferenceSession:
    """A session over a graph file path or serialized graph; `threads` sets intra-op threads and
    `config` adds session config entries (a diagnosis's, such as `session.disable_quant_qdq`)."""
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: unused-initializer notices are noise to a user
    # Idle pool threads would spin after each run: with four stage sessions plus the cpp_ops
    # threads on few cores they starve each other (docs/measurements.md has the figure).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # A memory pattern is one block planned per input shape and kept for it: with the dynamic N, B and
    # L every shape seen adds one, and the peak memory grows with them (docs/runtime.md, Memory).
    options.enable_mem_pattern = False
    if threads:
        options.intra_op_num_threads = threads
    for key, value in (config or {}).items():
        options.add_session_config_entry(key, value)
    return onnxruntime.InferenceSession(model, options, providers=list(providers), disabled_optimizers=list(DISABLED_OPTIMIZERS))
