"""HARIS: Human-Like Attention for referring image segmentation.

The public names, imported lazily (a deployment that only runs bundles never loads torch):

- `Predictor`: segment what expressions refer to, from a bundle (`Predictor.from_bundle`, on
  onnxruntime, OpenVINO or TensorRT) or a checkpoint (`Predictor.from_checkpoint`, eager torch);
  `Prediction` is what it returns per expression.
- `load_model_config`, `build_model`, `load_checkpoint`, `save_checkpoint`: the model and its
  checkpoint directories (torch).
- `DatasetSource`: a dataset split (refer format or PhraseCut), as training and evaluation read it.
"""

from importlib import import_module
from pathlib import Path
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "Predictor": "haris.runtime.predictor",
    "Prediction": "haris.runtime.prediction",
    "load_model_config": "haris.config",
    "build_model": "haris.modeling",
    "load_checkpoint": "haris.checkpoint",
    "save_checkpoint": "haris.checkpoint",
    "DatasetSource": "haris.data.dataset_source",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'haris' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


# In a source checkout the sibling folders export/, runtime/, benchmarks/, cpp_ops/ and configs/ are
# the subpackages haris.export, ... (pyproject's package-dir mapping does the same when installed).
# Adding the checkout root to __path__ makes `python -m haris...` work from the checkout too.
_checkout_root = Path(__file__).resolve().parent.parent
if (_checkout_root / "pyproject.toml").is_file() and (_checkout_root / "export").is_dir():
    __path__.append(str(_checkout_root))
