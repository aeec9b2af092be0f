"""One logger: the `haris` command's -q / -v, its two formats, and progress that writes no carriage-return
frames into a log file (a bar only on a terminal)."""

from __future__ import annotations

import io
import logging
import re

import pytest

from haris.cli import main
from haris.log_output import configure_logging
from haris.progress import Progress

TIMESTAMPED_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) haris[.\w]*: .+$")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def synth(tmp_path, *options: str) -> None:
    """`haris data synth` on 8 images, with `options` after the command."""
    assert main(["data", "synth", "--out", str(tmp_path / "data"), "--count", "8", "--workers", "1", *options]) == 0


def test_quiet_logs_nothing_below_a_warning_and_the_answer_stays_on_stdout(tmp_path, capsys):
    synth(tmp_path, "-q")
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith(f"wrote {tmp_path / 'data'}: ")


def test_the_default_logs_info_and_verbose_adds_debug(tmp_path, capsys):
    synth(tmp_path)
    err = capsys.readouterr().err
    assert "synthetic images: 8/8 img (100%)" in err and "DEBUG" not in err
    main(["-v", "data", "synth", "--out", str(tmp_path / "again"), "--count", "8", "--workers", "1"])  # -v before the command too
    err = capsys.readouterr().err
    assert "DEBUG haris.data.synthetic.synthetic_writer: synthetic images: 8 to draw in 1 process(es)" in err


def test_a_log_file_gets_timestamped_lines_and_no_carriage_return(tmp_path, capsys):
    synth(tmp_path, "-v")
    err = capsys.readouterr().err  # pytest's capture is not a terminal, as a redirected log is not
    assert "\r" not in err
    lines = err.splitlines()
    assert lines and all(TIMESTAMPED_LINE.match(line) for line in lines), lines
    progress = [line for line in lines if "synthetic images: " in line and "/8 img" in line]
    assert 1 <= len(progress) <= 8  # a line per tenth (here per image), not a frame per update


def test_progress_in_a_log_writes_a_line_per_tenth_with_the_noted_figures(caplog):
    caplog.set_level(logging.INFO, logger="haris")
    bar = Progress(range(100), "epoch 1/3", unit="batch")
    for step in bar:
        bar.note(loss=f"{1 / (step + 1):.2f}")
    lines = [record.getMessage() for record in caplog.records if record.name == "haris.progress"]
    assert len(lines) == 10
    assert lines[0].startswith("epoch 1/3: 10/100 batch (10%), ") and lines[0].endswith("loss 0.10")
    assert lines[-1].startswith("epoch 1/3: 100/100 batch (100%), ")


def test_progress_on_a_terminal_draws_a_bar_and_logs_nothing(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="haris")
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert list(Progress(range(50), "export", unit="graph")) == list(range(50))
    assert "\r" in terminal.getvalue() and "export: 100%" in terminal.getvalue()
    assert not [record for record in caplog.records if record.name == "haris.progress"]


@pytest.mark.parametrize("level", [logging.WARNING, None])
def test_progress_shows_nothing_when_quiet_or_disabled(monkeypatch, caplog, level):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    caplog.set_level(level or logging.INFO, logger="haris")
    assert list(Progress(range(5), "predict", enabled=level is not None)) == list(range(5))
    assert terminal.getvalue() == "" and not caplog.records


def test_a_terminal_gets_the_message_and_the_level_only_above_info_once(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    configure_logging(logging.INFO)
    elsewhere = io.StringIO()
    root_handler = logging.StreamHandler(elsewhere)  # as a library's logging.basicConfig() adds
    logging.getLogger().addHandler(root_handler)
    try:
        logger = logging.getLogger("haris.somewhere")
        logger.info("exported 4 graphs")
        logger.warning("no GPU: engines skipped")
        logger.debug("not shown")
    finally:
        logging.getLogger().removeHandler(root_handler)
    assert terminal.getvalue() == "exported 4 graphs\nwarning: no GPU: engines skipped\n"
    assert elsewhere.getvalue() == ""  # each line once


def test_ranks_other_than_0_log_warnings_only(monkeypatch, capsys):
    monkeypatch.setenv("RANK", "1")
    configure_logging(logging.DEBUG)
    logging.getLogger("haris.train").info("epoch 1")
    logging.getLogger("haris.train").warning("slow disk")
    assert capsys.readouterr().err.count("\n") == 1


def test_a_loop_stopped_early_logs_how_far_it_got(caplog):
    caplog.set_level(logging.INFO, logger="haris")
    for step in Progress(range(100), "epoch 2/3", unit="batch"):
        if step == 2:  # a time limit after the third batch
            break
    assert caplog.messages[-1].startswith("epoch 2/3: 3/100 batch (3%), ")
