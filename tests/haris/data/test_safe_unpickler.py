"""Refs pickles: Python 2's byte strings decode, and a pickle that would run code is refused."""

from __future__ import annotations

import os
import pickle

import pytest

from haris.data.refer_dataset import ReferDataset
from haris.data.safe_unpickler import load_pickle_safely, utf8_repaired
from haris.errors import DataError

# What Python 2 writes for pickle.dump([{'sent': 'caf\xc3\xa9'}], f, 2): its str is a byte string
# (SHORT_BINSTRING), here holding UTF-8.
PYTHON2_PICKLE = b"\x80\x02]q\x00}q\x01U\x04sentq\x02U\x05caf\xc3\xa9q\x03sa."


class Hostile:
    """Unpickling this would create `marker`: what a malicious refs file could do."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_python2_byte_strings_become_str_and_utf8_is_repaired(tmp_path):
    path = tmp_path / "refs(unc).p"
    path.write_bytes(PYTHON2_PICKLE)
    loaded = load_pickle_safely(path)
    assert loaded == [{"sent": "caf\xc3\xa9"}]  # one character per byte, as Python 2 stored it
    assert utf8_repaired(loaded[0]["sent"]) == "café"
    assert utf8_repaired("café") == "café"  # text that is not UTF-8 read as latin-1 stays as it is


def test_python3_bytes_at_protocol_2_become_str(tmp_path):
    path = tmp_path / "refs(unc).p"
    path.write_bytes(pickle.dumps([{b"sent": b"red circle", "empty": b"", "latin": b"\xe9"}], protocol=2))
    assert load_pickle_safely(path) == [{"sent": "red circle", "empty": "", "latin": "é"}]


def test_sentences_of_byte_strings_read_as_utf8_text(edited_refer_folder):
    def to_bytes(content):
        content["refs"][2]["sentences"] = [{b"sent": "café table".encode(), b"sent_id": 4}]

    dataset = ReferDataset(edited_refer_folder(to_bytes), "testA")
    assert dataset.records[0].sentences == ("café table",)


def test_hostile_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "refs(unc).p").write_bytes(pickle.dumps([Hostile(str(marker))], protocol=2))
    with pytest.raises(DataError, match=r"refs\(unc\)\.p is not a readable pickle.*(posix|os)\.system"):
        ReferDataset(tmp_path, "train")
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps(print, protocol=2),  # a harmless-looking builtin is still a global
        b"\x80\x02c_codecs\nencode\nq\x00X\x03\x00\x00\x00abcq\x01X\x04\x00\x00\x00zlibq\x02\x86q\x03Rq\x04.",
    ],
)
def test_every_other_global_is_refused(tmp_path, payload):
    path = tmp_path / "refs(unc).p"
    path.write_bytes(payload)
    with pytest.raises(DataError, match=r"refs\(unc\)\.p is not a readable pickle"):
        load_pickle_safely(path)


def test_truncated_pickle_is_a_data_error(tmp_path):
    path = tmp_path / "refs(unc).p"
    path.write_bytes(pickle.dumps([{"ref_id": 1, "sentences": []}], protocol=2)[:-5])
    with pytest.raises(DataError, match=r"refs\(unc\)\.p is not a readable pickle"):
        load_pickle_safely(path)


def test_pickle_of_something_other_than_refs_is_a_data_error(tmp_path):
    (tmp_path / "refs(unc).p").write_bytes(pickle.dumps({"not": "a list"}, protocol=2))
    with pytest.raises(DataError, match=r"refs\(unc\)\.p must hold a list of ref dicts"):
        ReferDataset(tmp_path, "train")
