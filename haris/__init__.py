"""HARIS: Human-Like Attention for referring image segmentation.

This module stays import-light on purpose: `haris.runtime` lives under it and must not pull in
torch, so nothing here imports the model.
"""

from pathlib import Path

__version__ = "0.1.0"

# In a source checkout the sibling folders export/, runtime/, benchmarks/, cpp_ops/ and configs/ are
# the subpackages haris.export, ... (pyproject's package-dir mapping does the same when installed).
# Adding the checkout root to __path__ makes `python -m haris...` work from the checkout too.
_checkout_root = Path(__file__).resolve().parent.parent
if (_checkout_root / "pyproject.toml").is_file() and (_checkout_root / "export").is_dir():
    __path__.append(str(_checkout_root))
