"""Steps keyed by their inputs: skipped when finished with the same inputs, resumed when interrupted,
run afresh (and every later step with them) when their inputs changed."""

from __future__ import annotations

import json

import pytest

from haris.pipelines import ablations
from haris.pipelines.step_runner import StepRunner


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    def step(self, name: str, fail: bool = False):
        def run(resume: bool) -> dict:
            self.calls.append((name, resume))
            if fail:
                raise KeyboardInterrupt  # as Ctrl-C during the step
            return {"result": name}

        return run


def run_all(folder, recorder, inputs, fail_at=None):
    runner = StepRunner(folder)
    return [runner.run(name, name, inputs.get(name, {}), recorder.step(name, fail=name == fail_at)) for name in ("data", "train", "eval")]


def test_finished_steps_with_the_same_inputs_are_skipped(tmp_path):
    recorder = Recorder()
    first = run_all(tmp_path, recorder, {"data": {"images": 16}})
    again = run_all(tmp_path, recorder, {"data": {"images": 16}})
    assert recorder.calls == [("data", False), ("train", False), ("eval", False)]
    assert [summary["result"] for summary in again] == ["data", "train", "eval"] and all("seconds" in s for s in first + again)


def test_changed_inputs_rerun_the_step_and_every_step_after_it_afresh(tmp_path):
    recorder = Recorder()
    run_all(tmp_path, recorder, {"data": {"images": 16}, "train": {"minutes": 0.1}})  # as `haris demo --quick`
    recorder.calls.clear()
    run_all(tmp_path, recorder, {"data": {"images": 16}, "train": {"minutes": 10}})  # as `haris demo`
    assert recorder.calls == [("train", False), ("eval", False)]
    recorder.calls.clear()
    run_all(tmp_path, recorder, {"data": {"images": 2000}, "train": {"minutes": 10}})
    assert recorder.calls == [("data", False), ("train", False), ("eval", False)]


def test_an_interrupted_step_resumes_and_is_never_taken_for_finished(tmp_path):
    recorder = Recorder()
    with pytest.raises(KeyboardInterrupt):
        run_all(tmp_path, recorder, {}, fail_at="train")
    marker = json.loads((tmp_path / "steps" / "train.json").read_text())
    assert marker["started"] and not marker["finished"]
    recorder.calls.clear()
    run_all(tmp_path, recorder, {})
    assert recorder.calls == [("train", True), ("eval", False)]  # resumed, then the step after it


def test_an_interrupted_ablation_resumes_its_training_before_it_is_evaluated(tmp_path, monkeypatch):
    calls = []

    def fake_train(run, run_dir, source):
        calls.append(("train", False))
        (run_dir / "last").mkdir(parents=True, exist_ok=True)
        raise KeyboardInterrupt  # the first run is stopped mid-training

    def fake_resume(run_dir):
        calls.append(("train", True))
        return {"mean_iou": 0.5}

    def fake_evaluation(checkpoint, source, out_dir, *args):
        calls.append(("eval", False))
        return {"mean_iou": 0.5, "overall_iou": 0.5, "precision": {"Pr@70": 0.1, "Pr@80": 0.1, "Pr@90": 0.1}}

    monkeypatch.setattr(ablations, "train", fake_train)
    monkeypatch.setattr(ablations, "resume_training", fake_resume)
    monkeypatch.setattr(ablations, "run_evaluation", fake_evaluation)
    source = ablations.DatasetSource(tmp_path / "data")
    with pytest.raises(KeyboardInterrupt):
        ablations.run_ablations("tiny", source, tmp_path / "runs", 1.0, ["#4 Ours"])
    assert calls == [("train", False)]  # never evaluated: the table cannot hold it
    results = ablations.run_ablations("tiny", source, tmp_path / "runs", 1.0, ["#4 Ours"])
    assert calls == [("train", False), ("train", True), ("eval", False)] and results["#4 Ours"]["mean_iou"] == 0.5
