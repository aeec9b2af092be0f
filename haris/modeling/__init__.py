"""The HARIS model (paper section III) and the builder that sizes it from a config."""

from haris.modeling.haris_model import FusedTokens, Haris, ImageFeatures, TextFeatures
from haris.modeling.model_builder import build_model, count_parameters

__all__ = ["FusedTokens", "Haris", "ImageFeatures", "TextFeatures", "build_model", "count_parameters"]
