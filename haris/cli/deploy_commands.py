"""The deployment commands of `haris`: export, inspect, build, predict, app. Each parses and calls one function."""

from __future__ import annotations

import argparse
import logging
import os

from haris.errors import HarisError
from haris.runtime.backend_registry import AUTO, BACKENDS, COMPUTE_PRECISIONS
from haris.runtime.bundle_manifest import PRECISIONS
from haris.runtime.tensor_contract import STAGES

log = logging.getLogger(__name__)


def add_deploy_commands(commands: argparse._SubParsersAction) -> None:
    _add_export(commands)
    inspect = commands.add_parser("inspect", help="print a bundle's manifest readably (and verify its files)")
    inspect.add_argument("bundle", help="bundle directory")
    inspect.set_defaults(run=_run_inspect)
    _add_build(commands)
    _add_predict(commands)
    _add_app(commands)


def _add_export(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser("export", help="export a checkpoint to a checked ONNX bundle (fp32, fp16 and int8 graphs)")
    export.add_argument("checkpoint", help="checkpoint directory (or a run directory: its best/ checkpoint)")
    export.add_argument("--out", required=True, help="bundle directory to write")
    export.add_argument("--precision", default="fp32,fp16", help="comma-separated: fp32, fp16, int8 (default: fp32,fp16)")
    export.add_argument(
        "--calibration",
        metavar="DATA",
        help="INT8 calibration images: a dataset folder (refer format or PhraseCut) "
        "or a folder of images (default: synthetic scenes rendered in memory)",
    )
    export.add_argument("--calibration-images", type=int, default=16, help="how many calibration images (default %(default)s)")
    export.add_argument(
        "--int8-method",
        choices=["static", "dynamic"],
        default="static",
        help="static: calibrated Q/DQ graphs for onnxruntime and TensorRT (default); dynamic: MatMul weights only, onnxruntime",
    )
    export.add_argument(
        "--int8-target-error",
        type=float,
        default=0.01,
        help="per graph, the relative output error on held-out images the float nodes are chosen to stay within (default %(default)s)",
    )
    export.add_argument(
        "--int8-stages",
        help=f"comma-separated stages to quantize, of {','.join(STAGES)}; the others' INT8 graph is their FP32 graph, shared "
        "(default: the image encoder only)",
    )
    export.add_argument("--image-size", type=int, help="input size S (default: the checkpoint's)")
    export.add_argument("--max-images", type=int, default=16, help="largest N the graphs are meant for (default 16)")
    export.add_argument("--max-expressions", type=int, default=64, help="largest B the graphs are meant for (default 64)")
    export.add_argument("--overwrite", action="store_true", help="replace an existing bundle directory (with --add: its graphs at these precisions)")
    export.add_argument(
        "--add",
        action="store_true",
        help="add --precision (fp16, int8) to the existing bundle --out of this checkpoint, made from its FP32 graphs (no new trace)",
    )
    export.set_defaults(run=_run_export)


def _add_build(commands: argparse._SubParsersAction) -> None:
    build = commands.add_parser("build", help="build TensorRT engines from a bundle's graphs (tensorrt or tensorrt_rtx)")
    build.add_argument("bundle", help="bundle directory")
    build.add_argument("--precision", default="fp16", choices=PRECISIONS)
    build.add_argument("--max-images", type=int, help="largest N of the image encoder profile (default: the bundle's)")
    build.add_argument("--max-expressions", type=int, help="largest B of the profiles (default: the bundle's)")
    build.add_argument("--timing-cache", help="timing cache file, read if present and written after the build")
    build.add_argument("--flavor", default="auto", choices=["auto", "tensorrt", "tensorrt_rtx"])
    build.set_defaults(run=_run_build)


def _add_predict(commands: argparse._SubParsersAction) -> None:
    predict = commands.add_parser("predict", help="segment what expressions refer to in images, with a bundle or a checkpoint")
    predict.add_argument("model", help="bundle directory, or checkpoint / run directory (eager torch); with --server, the first image")
    predict.add_argument("images", nargs="*", help="image files, folders or glob patterns")
    predict.add_argument("-e", "--expression", dest="expressions", action="append", required=True, help="a referring expression (repeatable)")
    add_engine_arguments(predict)
    predict.add_argument("--out", default="predictions", help="output folder (default: predictions)")
    predict.add_argument("--skip-bad", action="store_true", help="skip unreadable images (listed in predictions.json)")
    predict.add_argument("--server", metavar="URL", help="segment with a `haris serve` service instead of a local model (then no MODEL)")
    add_api_key_argument(predict)
    predict.set_defaults(run=_run_predict)


def _add_app(commands: argparse._SubParsersAction) -> None:
    app = commands.add_parser("app", help="a web page to try a model: upload an image, type expressions, see the masks (ui extra)")
    app.add_argument("model", nargs="?", help="bundle directory (or checkpoint / run directory); omit with --server")
    app.add_argument("--server", metavar="URL", help="ask a running `haris serve` at URL instead of running a model here")
    add_api_key_argument(app)
    app.add_argument("--login-file", help="file of `user:password` lines: the page asks for a login (for --host 0.0.0.0)")
    app.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    app.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    add_engine_arguments(app)
    app.add_argument("--threads", type=int, help="threads of the model (default: every core)")
    app.add_argument("--max-expressions", type=int, help="most expressions per image (default: the bundle's limit)")
    app.set_defaults(run=_run_app)


def add_api_key_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument("--api-key-file", help="with --server: a file whose first line is the service's API key (default: $HARIS_API_KEY)")


def _api_key(args: argparse.Namespace) -> str | None:
    from haris.serve.api_keys import client_key

    return client_key(args.api_key_file, os.environ)


def add_engine_arguments(command: argparse.ArgumentParser) -> None:
    """--backend, --precision and --device, offering exactly the registry's backends and precisions."""
    command.add_argument(
        "--backend",
        choices=[AUTO, *BACKENDS],
        help="for a bundle: auto (default: the fastest measured engine for this CPU, or TensorRT on a GPU) or a bundle backend; "
        "a checkpoint runs eager torch",
    )
    command.add_argument("--device", help="cpu, cuda[:N] (default: cpu; cuda for tensorrt)")
    command.add_argument(
        "--precision",
        choices=[AUTO, *COMPUTE_PRECISIONS],
        help="auto (default: FP32 or, where the CPU runs it natively, BF16; FP16 on a GPU) or one the backend runs; int8 only when asked",
    )


def _run_export(args: argparse.Namespace) -> None:
    from haris.checkpoint.checkpoint_io import resolve_checkpoint
    from haris.export.int8_calibration import Int8Request

    precisions = tuple(part.strip() for part in args.precision.split(",") if part.strip())
    stages = {"stages": tuple(stage.strip() for stage in args.int8_stages.split(",") if stage.strip())} if args.int8_stages else {}
    int8 = Int8Request(args.calibration, args.calibration_images, args.int8_method, args.int8_target_error, **stages)
    checkpoint = resolve_checkpoint(args.checkpoint)
    if args.add:
        from haris.export.bundle_extension import add_precisions

        out = add_precisions(checkpoint, args.out, precisions, args.overwrite, int8=int8, image_size=args.image_size)
    else:
        from haris.export.bundle_export import export_bundle

        out = export_bundle(checkpoint, args.out, precisions, args.image_size, args.max_images, args.max_expressions, args.overwrite, int8=int8)
    print(f"{'added to' if args.add else 'wrote'} {out} ({', '.join(precisions)}); `haris inspect {out}` shows it")


def _run_inspect(args: argparse.Namespace) -> None:
    from haris.runtime.bundle import Bundle
    from haris.runtime.bundle_description import describe_bundle

    print(describe_bundle(Bundle.open(args.bundle)))


def _run_build(args: argparse.Namespace) -> None:
    from haris.export.bundle_engines import build_bundle_engines

    plans = build_bundle_engines(args.bundle, args.precision, args.max_images, args.max_expressions, args.timing_cache, args.flavor)
    print("\n".join(f"wrote {plan}" for plan in plans))


def _run_predict(args: argparse.Namespace) -> None:
    from haris.runtime.predict_run import find_images, predict_images

    if args.server:
        if args.backend or args.device or args.precision:
            raise HarisError("--backend, --device and --precision are the service's settings: leave them out with --server")
        from haris.serve.remote_predictor import RemotePredictor

        images = find_images([args.model, *args.images])
        predictor = RemotePredictor(args.server, api_key=_api_key(args))
    else:
        from haris.runtime.engine_choice import choice_line
        from haris.runtime.predictor_factory import open_predictor

        if not args.images:
            raise HarisError("give a MODEL and at least one image (or --server URL and images)")
        images = find_images(args.images)
        predictor = open_predictor(args.model, args.backend or AUTO, args.device, args.precision or AUTO)
        log.info("haris predict: %s", choice_line(predictor.description))
    with predictor:
        report = predict_images(predictor, images, args.expressions, args.out, args.skip_bad)
    skipped = f", skipped {len(report['skipped'])} unreadable" if report["skipped"] else ""
    print(f"wrote {len(report['images'])} images x {len(args.expressions)} expressions to {args.out}{skipped}")


def _run_app(args: argparse.Namespace) -> None:
    from haris.app.app_launch import run_app

    api_key = _api_key(args) if args.server else None
    engine = (args.backend, args.device, args.precision, args.threads)
    run_app(args.model, args.server, args.host, args.port, *engine, args.max_expressions, api_key, args.login_file)
