"""`haris bench int8-kernels` judges each INT8 graph three ways, and `--against` finds what another run saved differently."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from haris.benchmarks.int8_kernel_check import OUTPUTS_FILE, REPORT_FILE, RUNS, check_int8_kernels, runs_past_bounds
from haris.cli import main
from haris.errors import HarisError
from haris.export.graph_check import RELATIVE_TOLERANCE
from haris.runtime.tensor_contract import STAGES


@pytest.fixture(scope="module")
def first_run(int8_bundle, tiny_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("int8_kernels") / "first"
    assert (
        main(["bench", "int8-kernels", "--bundle", str(int8_bundle), "--checkpoint", str(tiny_checkpoint), "--threads", "1", "--out", str(out)]) == 0
    )
    return out


def test_every_int8_stage_is_judged_three_ways_against_eager(first_run):
    report = json.loads((first_run / REPORT_FILE).read_text())
    assert list(report["stages"]) == list(STAGES) and (first_run / "int8_kernels.md").is_file()
    for stage, figures in report["stages"].items():
        runs = figures["runs"]
        assert list(runs) == list(RUNS)
        for output, fp32 in runs["fp32 graph"].items():
            assert fp32["relative_diff"] <= RELATIVE_TOLERANCE["fp32"], (stage, output)
            for run in ("integer kernels", "float simulation"):
                assert runs[run][output]["passed"], (stage, run, output)
    # The graphs really are quantized (the export may keep a stage's every node float: not all of them).
    quantized = [check["relative_diff"] for figures in report["stages"].values() for check in figures["runs"]["integer kernels"].values()]
    assert max(quantized) > 10 * RELATIVE_TOLERANCE["fp32"]
    assert 0.95 <= report["stages"]["decoder"]["runs"]["integer kernels"]["mask_logits"]["min_mask_agreement"] <= 1.0
    assert runs_past_bounds(report) == []
    report["stages"]["decoder"]["runs"]["integer kernels"]["mask_logits"]["passed"] = False  # as a VNNI CPU might make it
    assert runs_past_bounds(report) == ["decoder (integer kernels)"]


def test_the_float_simulation_runs_other_kernels_than_the_integer_path(first_run):
    # The fusion graph's QLinearMatMul requantizes its int32 sums; the simulation rounds each
    # dequantized product in float instead: the two cannot give identical tokens.
    outputs = np.load(first_run / OUTPUTS_FILE)
    assert not np.array_equal(outputs["fusion/integer kernels/0/vis_tokens"], outputs["fusion/float simulation/0/vis_tokens"])


def test_against_names_what_the_other_run_saved_differently(int8_bundle, tiny_checkpoint, first_run, tmp_path):
    doctored = shutil.copytree(first_run, tmp_path / "other_cpu")
    saved = dict(np.load(doctored / OUTPUTS_FILE))
    saved["decoder/integer kernels/0/mask_logits"] = -saved["decoder/integer kernels/0/mask_logits"]  # every mask inverted
    saved["fusion/inputs/0/image_feats_1"] = saved["fusion/inputs/0/image_feats_1"] * 1.0001  # as another CPU's eager might give
    np.savez(doctored / OUTPUTS_FILE, **saved)
    other = json.loads((doctored / REPORT_FILE).read_text())
    other["stages"]["text_encoder"]["sha256"]["int8"] = "0" * 64  # as if that run had other text-encoder graphs
    (doctored / REPORT_FILE).write_text(json.dumps(other))

    second = tmp_path / "second"
    argv = ["bench", "int8-kernels", "--bundle", str(int8_bundle), "--checkpoint", str(tiny_checkpoint), "--threads", "1"]
    assert main([*argv, "--out", str(second), "--against", str(doctored)]) == 0
    against = json.loads((second / REPORT_FILE).read_text())["against"]["stages"]
    assert "| text_encoder | | | skipped: its graph files differ" in (second / "int8_kernels.md").read_text()
    # Every graph ran on the inputs the other run saved, not on this CPU's own eager ones.
    assert np.array_equal(np.load(second / OUTPUTS_FILE)["fusion/inputs/0/image_feats_1"], saved["fusion/inputs/0/image_feats_1"])
    assert against["text_encoder"] == {"skipped": "its graph files differ from those the other run ran (sha256)"}
    assert against["decoder"]["integer kernels"]["mask_logits"]["min_mask_agreement"] < 0.5
    assert against["decoder"]["integer kernels"]["mask_logits"]["relative_diff"] > 1.0
    # Same CPU, same graph files, same inputs: every output not doctored is reproduced exactly; the fusion graph,
    # fed the altered features, differs from what the other run computed from the original ones.
    for stage, runs in (("image_encoder", RUNS), ("decoder", ("fp32 graph", "float simulation"))):
        for run in runs:
            assert all(figures["relative_diff"] == 0 for figures in against[stage][run].values()), (stage, run)
    assert against["decoder"]["float simulation"]["mask_logits"] == {"relative_diff": 0.0, "min_mask_agreement": 1.0}
    assert all(figures["relative_diff"] > 0 for figures in against["fusion"]["fp32 graph"].values())


def test_a_bundle_without_int8_graphs_and_a_foreign_folder_are_refused(tiny_bundle, int8_bundle, tiny_checkpoint, tmp_path):
    with pytest.raises(HarisError, match="has no INT8 graphs: add them with `haris export CKPT --out BUNDLE --precision int8 --add`"):
        check_int8_kernels(tiny_bundle, tmp_path / "out", tiny_checkpoint)
    with pytest.raises(HarisError, match="not a `haris bench int8-kernels` output folder"):
        check_int8_kernels(int8_bundle, tmp_path / "out", tiny_checkpoint, against=tmp_path)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / REPORT_FILE).write_text("{}")
    np.savez(tmp_path / "old" / OUTPUTS_FILE, **{"decoder/integer kernels/0/mask_logits": np.zeros(1)})
    with pytest.raises(HarisError, match="that run saved no stage inputs"):
        check_int8_kernels(int8_bundle, tmp_path / "out", tiny_checkpoint, against=tmp_path / "old")
