"""One actor of a labelling run's pool: a Predictor that labels the batches Ray Data hands it.

Ray Data builds one instance per actor (`map_batches` with an actor pool), so the bundle is opened
once per actor and the engine chosen for the actor's own node (`auto`). A batch arrives as columns
(`index`, `shard`, `path`, `expressions` as JSON) and leaves as one row per image: its size and its
answer records (runtime/answer_json.py) as JSON, or the reason it could not be used, with the node,
process and engine that labelled it and when its batch started and finished (what `haris bench
label` measures the actors' own throughput by). An unreadable image is a row with a reason, never an error: only a
fault of the actor itself fails its task, which Ray Data then retries on a restarted actor.
"""

from __future__ import annotations

import json
import logging
import os
import time

import numpy as np

from haris.runtime.answer_json import encode_prediction
from haris.runtime.engine_choice import choice_line
from haris.runtime.image_loading import ImageError, check_resizable, load_rgb
from haris.runtime.predictor_factory import open_predictor

logger = logging.getLogger(__name__)


class BatchLabeller:
    def __init__(self, bundle: str, backend: str, device: str | None, precision: str, threads: int) -> None:
        import ray

        # No feature cache: each image is seen once, so caching would cost a pixel digest per image and memory.
        self.predictor = open_predictor(bundle, backend, device, precision, threads, cache_bytes=0)
        # Outside Ray (the throughput benchmark's in-process baseline runs this same code): no node.
        self.node = ray.get_runtime_context().get_node_id() if ray.is_initialized() else "local"
        self.process = os.getpid()
        choice = self.predictor.description.get("choice", {})
        self.engine = f"{choice.get('engine', '?')} on {choice.get('device', '?')}"  # what this actor chose for its node
        logger.info("haris label actor %d on node %s: %s", self.process, self.node[:12], choice_line(self.predictor.description))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        started = time.time()
        count = len(batch["index"])
        heights, widths = np.zeros(count, np.int64), np.zeros(count, np.int64)
        results, errors = [""] * count, [""] * count
        readable: list[tuple[int, np.ndarray, list[str]]] = []
        for position, (path, expressions) in enumerate(zip(batch["path"], batch["expressions"])):
            try:
                rgb = load_rgb(str(path))
                check_resizable(rgb.shape[0], rgb.shape[1], self.predictor.settings.image_size)
            except ImageError as error:
                errors[position] = str(error) if str(path) in str(error) else f"{path}: {error}"
                continue
            heights[position], widths[position] = rgb.shape[:2]
            readable.append((position, rgb, json.loads(expressions)))
        answers = self.predictor.predict_batch([(rgb, expressions) for _, rgb, expressions in readable]) if readable else []
        for (position, _, _), predictions in zip(readable, answers):
            results[position] = json.dumps([encode_prediction(prediction) for prediction in predictions])
        return {
            "index": batch["index"],
            "shard": batch["shard"],
            "height": heights,
            "width": widths,
            "results": np.array(results, dtype=object),
            "error": np.array(errors, dtype=object),
            "node": np.full(count, self.node, dtype=object),
            "process": np.full(count, self.process, np.int64),
            "engine": np.full(count, self.engine, dtype=object),
            "started": np.full(count, started),
            "finished": np.full(count, time.time()),
        }
