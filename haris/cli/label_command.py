"""`haris label`: parses its arguments and calls haris.label.label_run.label_images."""

from __future__ import annotations

import argparse

from haris.cli.worker_options import add_worker_engine_options


def add_label_command(commands: argparse._SubParsersAction) -> None:
    label = commands.add_parser(
        "label", help="label an image collection with referring expressions on a Ray cluster, into COCO files (docs/labelling.md)"
    )
    label.add_argument("bundle", help="bundle directory (on every node of a cluster, at this path)")
    label.add_argument("images", help="a folder (subfolders included), a glob pattern, or a .txt / .parquet list of image paths")
    label.add_argument(
        "--expressions",
        required=True,
        metavar="FILE",
        help="one list for every image (.txt, one a line, or a .json list) or per image (.jsonl {image, expressions}, .parquet, .json object)",
    )
    label.add_argument("--out", required=True, help="output folder: manifest.json, shards/, annotations.json; rerun to resume")
    label.add_argument("--address", help="run on this Ray cluster (host:port, or auto) instead of starting Ray here")
    add_worker_engine_options(label, "actor")
    label.add_argument(
        "--actors",
        metavar="N|MIN,MAX",
        help="a pool of N actors, or MIN,MAX to let Ray Data scale it (default: as many as the cluster's CPUs or GPUs hold)",
    )
    label.add_argument(
        "--memory",
        type=float,
        default=0.0,
        metavar="GIB",
        help="Ray memory to reserve per actor, in GiB, so a node gets only as many actors as its memory holds "
        "(default: none; the paper preset at 1024 takes about 8)",
    )
    label.add_argument("--shard-size", type=int, default=256, help="images per output shard and per actor task (default 256)")
    label.add_argument("--batch-size", type=int, default=8, help="images per Predictor batch inside an actor (default 8)")
    label.add_argument("--no-merge", dest="merge", action="store_false", help="leave the shards as they are: no annotations.json at the end")
    label.set_defaults(run=_run_label)


def _run_label(args: argparse.Namespace) -> None:
    from haris.label.label_run import label_images
    from haris.label.label_settings import LabelSettings, parse_actors

    settings = LabelSettings(
        args.bundle,
        args.images,
        args.expressions,
        args.out,
        args.address,
        args.backend,
        args.precision,
        args.device,
        parse_actors(args.actors) if args.actors else None,
        args.num_cpus,
        args.num_gpus,
        args.threads,
        args.shard_size,
        args.batch_size,
        args.merge,
        args.memory,
    )
    summary = label_images(settings)
    unreadable = f", {summary['unreadable']} unreadable (listed in the shards)" if summary["unreadable"] else ""
    where = summary["merged"] or f"{summary['out']}/shards"
    if summary["shards_labelled"]:
        print(f"labelled {summary['labelled']} images{unreadable}: {summary['annotations']} annotations in {summary['shards']} shards -> {where}")
    else:
        print(f"nothing to do: all {summary['shards']} shards in {summary['out']} are done ({summary['labelled']} images{unreadable}) -> {where}")
