"""The deployment commands of `haris`: export, inspect, build. Each parses and calls one function."""

from __future__ import annotations

import argparse

from haris.errors import HarisError


def add_deploy_commands(commands: argparse._SubParsersAction) -> None:
    _add_export(commands)
    inspect = commands.add_parser("inspect", help="print a bundle's manifest readably (and verify its files)")
    inspect.add_argument("bundle", help="bundle directory")
    inspect.set_defaults(run=_run_inspect)
    _add_build(commands)
    _add_predict(commands)


def _add_export(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser("export", help="export a checkpoint to a checked ONNX bundle (fp32 and fp16 graphs)")
    export.add_argument("checkpoint", help="checkpoint directory (or a run directory: its best/ checkpoint)")
    export.add_argument("--out", required=True, help="bundle directory to write")
    export.add_argument("--precision", default="fp32,fp16", help="comma-separated: fp32, fp16 (default both)")
    export.add_argument("--image-size", type=int, help="input size S (default: the checkpoint's)")
    export.add_argument("--max-images", type=int, default=16, help="largest N the graphs are meant for (default 16)")
    export.add_argument("--max-expressions", type=int, default=64, help="largest B the graphs are meant for (default 64)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing bundle directory")
    export.set_defaults(run=_run_export)


def _add_build(commands: argparse._SubParsersAction) -> None:
    build = commands.add_parser("build", help="build TensorRT engines from a bundle's graphs (tensorrt or tensorrt_rtx)")
    build.add_argument("bundle", help="bundle directory")
    build.add_argument("--precision", default="fp16", choices=["fp16", "fp32"])
    build.add_argument("--max-batch", type=int, help="largest N of the image encoder profile (default: the bundle's)")
    build.add_argument("--max-expressions", type=int, help="largest B of the profiles (default: the bundle's)")
    build.add_argument("--timing-cache", help="timing cache file, read if present and written after the build")
    build.add_argument("--flavor", default="auto", choices=["auto", "tensorrt", "tensorrt_rtx"])
    build.set_defaults(run=_run_build)


def _add_predict(commands: argparse._SubParsersAction) -> None:
    predict = commands.add_parser("predict", help="segment what expressions refer to in images, with a bundle or a checkpoint")
    predict.add_argument("model", help="bundle directory, or checkpoint / run directory (eager torch); with --server, the first image")
    predict.add_argument("images", nargs="*", help="image files, folders or glob patterns")
    predict.add_argument("-e", "--expression", dest="expressions", action="append", required=True, help="a referring expression (repeatable)")
    predict.add_argument(
        "--backend",
        choices=["onnxruntime", "tensorrt", "torch"],
        help="for a bundle: onnxruntime (default) or tensorrt; a checkpoint runs eager torch",
    )
    predict.add_argument("--device", help="cpu, cuda[:N] (default: cpu; cuda for tensorrt)")
    predict.add_argument("--precision", choices=["fp32", "fp16"], help="bundle graphs to run (default: fp16 on a GPU, fp32 on a CPU)")
    predict.add_argument("--out", default="predictions", help="output folder (default: predictions)")
    predict.add_argument("--skip-bad", action="store_true", help="skip unreadable images (listed in predictions.json)")
    predict.add_argument("--server", metavar="URL", help="segment with a `haris serve` service instead of a local model (then no MODEL)")
    predict.set_defaults(run=_run_predict)


def _run_export(args: argparse.Namespace) -> None:
    from haris.checkpoint.checkpoint_io import resolve_checkpoint
    from haris.export.bundle_export import export_bundle

    precisions = tuple(part.strip() for part in args.precision.split(",") if part.strip())
    out = export_bundle(
        resolve_checkpoint(args.checkpoint),
        args.out,
        precisions,
        args.image_size,
        args.max_images,
        args.max_expressions,
        args.overwrite,
    )
    print(f"wrote {out} ({', '.join(precisions)}); `haris inspect {out}` shows it")


def _run_inspect(args: argparse.Namespace) -> None:
    from haris.runtime.bundle import Bundle
    from haris.runtime.bundle_description import describe_bundle

    print(describe_bundle(Bundle.open(args.bundle)))


def _run_build(args: argparse.Namespace) -> None:
    from haris.export.bundle_engines import build_bundle_engines

    plans = build_bundle_engines(args.bundle, args.precision, args.max_batch, args.max_expressions, args.timing_cache, args.flavor)
    print("\n".join(f"wrote {plan}" for plan in plans))


def _run_predict(args: argparse.Namespace) -> None:
    from haris.runtime.predict_run import find_images, predict_images

    if args.server:
        if args.backend or args.device or args.precision:
            raise HarisError("--backend, --device and --precision are the service's settings: leave them out with --server")
        from haris.client import SegmentClient
        from haris.remote_predictor import RemotePredictor

        images = find_images([args.model, *args.images])
        predictor = RemotePredictor(SegmentClient(args.server))
    else:
        from haris.runtime.predictor_factory import open_predictor

        if not args.images:
            raise HarisError("give a MODEL and at least one image (or --server URL and images)")
        images = find_images(args.images)
        predictor = open_predictor(args.model, args.backend, args.device, args.precision)
    report = predict_images(predictor, images, args.expressions, args.out, args.skip_bad)
    skipped = f", skipped {len(report['skipped'])} unreadable" if report["skipped"] else ""
    print(f"wrote {len(report['images'])} images x {len(args.expressions)} expressions to {args.out}{skipped}")
