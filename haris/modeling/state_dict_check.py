"""Comparing a state dict with a module's, and saying clearly what does not fit."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from haris.errors import CheckpointError

SHOWN_MISMATCHES = 4


def find_mismatches(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]) -> list[str]:
    """Human-readable differences: missing keys, unexpected keys, shape mismatches (in that order)."""
    missing = [f"missing '{key}'" for key in expected if key not in found]
    unexpected = [f"unexpected '{key}'" for key in found if key not in expected]
    shapes = [
        f"'{key}' is {tuple(found[key].shape)} in the file, {tuple(tensor.shape)} in the model"
        for key, tensor in expected.items()
        if key in found and tuple(found[key].shape) != tuple(tensor.shape)
    ]
    return missing + unexpected + shapes


def load_fitting_state_dict(module: nn.Module, state_dict: Mapping[str, torch.Tensor], what: str, fix_hint: str = "") -> None:
    """Load `state_dict` into `module` exactly, or raise a CheckpointError naming the first mismatches."""
    mismatches = find_mismatches(module.state_dict(), state_dict)
    if mismatches:
        shown = "; ".join(mismatches[:SHOWN_MISMATCHES])
        more = f" (and {len(mismatches) - SHOWN_MISMATCHES} more)" if len(mismatches) > SHOWN_MISMATCHES else ""
        raise CheckpointError(f"{what} does not fit the model: {shown}{more}.{' ' + fix_hint if fix_hint else ''}")
    module.load_state_dict(state_dict, strict=True)
