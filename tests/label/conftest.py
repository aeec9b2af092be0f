"""The labelling collection (tests/support/label_samples.py), written once for the `label` tests."""

from __future__ import annotations

import pytest
from label_samples import write_collection


@pytest.fixture(scope="session")
def collection(tmp_path_factory):
    """(images folder, expressions file)."""
    return write_collection(tmp_path_factory.mktemp("collection"))
