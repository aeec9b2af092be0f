"""`haris inspect`: a bundle's manifest as a page a person reads."""

from __future__ import annotations

from haris.runtime.bundle import Bundle
from haris.runtime.bundle_manifest import GraphSpec, TensorSpec


def describe_bundle(bundle: Bundle) -> str:
    manifest = bundle.manifest
    config = manifest.model_config
    lines = [
        f"bundle {bundle.directory} (format {manifest.format_version}, haris {manifest.haris_version}, {manifest.created})",
        f"source checkpoint: {manifest.source_checkpoint['path']} (weights sha256 {manifest.source_checkpoint['weights_sha256'][:12]})",
        f"model: image encoder {config['image_encoder']['name']}, text encoder {config['text_encoder']['name']}, "
        f"fusion {config['fusion']['block']} C={config['fusion']['dim']}, decoder {config['decoder']['kind']}",
        f"input: S={manifest.image_size}, up to {manifest.max_words} tokens; "
        f"mean {manifest.preprocess['pixel_mean']}, std {manifest.preprocess['pixel_std']}",
        f"tokenizer: {manifest.tokenizer['file']} ({manifest.tokenizer.get('source', manifest.tokenizer.get('kind'))})",
        "dynamic axes: " + ", ".join(f"{axis} {low}..{high}" for axis, (low, high) in manifest.dynamic_axes.items()),
        f"exported with {manifest.exporter.get('exporter')} opset {manifest.exporter.get('opset')}, torch {manifest.exporter.get('torch')}",
    ]
    for precision, graphs in manifest.graphs.items():
        lines.append(f"\n{precision} graphs:")
        for name, spec in graphs.items():
            lines += _graph_lines(name, spec, manifest.checks.get(precision, {}).get(name, {}))
    for precision, refusal in manifest.refused.items():
        lines.append(f"\n{precision} refused: its {refusal['graph']} graph failed its check, so the bundle has no {precision} graphs")
        lines += [f"  reason: {refusal['reason']}", f"  retry: {refusal['retry']}"]
    if manifest.int8:
        lines += _int8_lines(manifest.int8)
    for precision, engines in manifest.engines.items():
        lines.append(f"\n{precision} TensorRT engines:")
        lines += [f"  {stage:<14} {spec.file}  (sidecar {spec.sidecar})" for stage, spec in engines.items()]
    if not manifest.engines:
        lines.append("\nno TensorRT engines (build them with `haris build`)")
    return "\n".join(lines)


def _graph_lines(name: str, spec: GraphSpec, check: dict) -> list[str]:
    lines = [f"  {name:<14} {spec.file}  sha256 {spec.sha256[:12]}"]
    lines.append("    in:  " + ", ".join(_tensor(tensor) for tensor in spec.inputs))
    lines.append("    out: " + ", ".join(_tensor(tensor) for tensor in spec.outputs))
    outputs = {key: value for key, value in check.items() if isinstance(value, dict)}
    if outputs:
        worst = ", ".join(f"{output} {value['relative_diff']:.1e} (tol {value['tolerance']:g}{_masks(value)})" for output, value in outputs.items())
        lines.append(f"    checked vs eager (relative max diff): {worst}")
    findings = check.get("tensorrt_findings", [])
    lines.append(f"    TensorRT compatibility: {'ok' if not findings else '; '.join(findings)}")
    return lines


def _masks(check: dict) -> str:
    """How the demo scene's masks agreed with eager's, where the check measured it (mask logits)."""
    agreement, iou = check.get("min_mask_agreement"), check.get("min_mask_iou")
    return "" if agreement is None else f"; masks agree on {100 * agreement:.2f}% of pixels, IoU {iou:.3f}"


def _tensor(tensor: TensorSpec) -> str:
    return f"{tensor.name} {tensor.dtype}[{', '.join(str(dim) for dim in tensor.shape)}]"


def _int8_lines(record: dict) -> list[str]:
    calibration = record.get("calibration") or {}
    source = f"{calibration['images']} images from {calibration['source']}" if calibration else "none (dynamic)"
    lines = [f"\nint8: {record['method']} ({record['format']}), calibration: {source}"]
    if "measured_on" in record:  # bundles exported before it was recorded lack it
        measured = record["measured_on"]
        lines.append(f"  measured on: {measured['cpu']}; onnxruntime {measured['onnxruntime']} (the float-node search and the checks)")
    for name, graph in record.get("graphs", {}).items():
        lines.append(
            f"  {name:<14} {graph['quantized_nodes']} of {graph['candidate_nodes']} MatMul/Conv/Gemm in INT8, "
            f"{len(graph['float_nodes'])} kept float by measurement{_saturation_note(graph)}; "
            f"output error {graph['error']:.4f}, cosine {graph.get('cosine', float('nan')):.4f} "
            f"(all INT8: {graph['error_all_int8']:.4f}, target {graph['target_error']})"
        )
    lines += [f"  {name:<14} not quantized (--int8-stages): its INT8 graph is the FP32 one" for name in record.get("float_stages", [])]
    return lines


def _saturation_note(graph: dict) -> str:
    """How many nodes stayed float because their integer kernel saturates without VNNI; bundles
    exported before that guard do not say, and the note tells how to make their INT8 again."""
    if "saturating_nodes" not in graph:
        return " (not checked for AVX2 saturation: exported before the check; --add --overwrite makes it again)"
    return f", {len(graph['saturating_nodes'])} as they saturate without VNNI" if graph["saturating_nodes"] else ""
