"""The eager backend's FP32 on a GPU is exact FP32 while its stages run, and leaves the process's TF32
setting (a training run's, say) as it found it."""

from __future__ import annotations

import pytest
import torch

from haris.runtime.torch_backend import exact_fp32


@pytest.fixture
def tf32_allowed():
    previous = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = previous


def test_tf32_is_off_inside_and_restored_after(tf32_allowed):
    with exact_fp32():
        assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == (False, False)
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == (True, True)
    with pytest.raises(RuntimeError), exact_fp32():
        raise RuntimeError("a stage that fails")
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == (True, True)
