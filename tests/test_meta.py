"""Outputs made on the meta device without torch's Python kernels match torch's own, op by op."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from archcheck.tracing import meta


class Compare(TorchDispatchMode):
    """Runs every aten op both ways and records where shape, dtype or memory format differ."""

    def __init__(self) -> None:
        super().__init__()
        self.differences: list[str] = []
        self.seen: set[str] = set()

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        expected = func(*args, **kwargs)
        if func._schema.is_mutable:
            return expected  # in-place: made is the argument itself, already checked by the out-of-place twin
        made = meta.run(func, args, kwargs)
        self.seen.add(func.overloadpacket.__name__)
        for want, got in zip(tree_leaves(expected), tree_leaves(made), strict=True):
            if isinstance(want, torch.Tensor):
                same = (
                    want.shape == got.shape
                    and want.dtype == got.dtype
                    and want.is_contiguous() == got.is_contiguous()
                    and (
                        want.dim() != 4
                        or want.is_contiguous(memory_format=torch.channels_last)
                        == got.is_contiguous(memory_format=torch.channels_last)
                    )
                )
                if not same:
                    self.differences.append(f"{func}: {want.shape} {want.dtype} vs {got.shape} {got.dtype}")
        return expected


def x4(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(shape, device="meta", dtype=dtype)


CASES: dict[str, Callable[[], Any]] = {
    "conv2d stride, padding, dilation, groups": lambda: F.conv2d(
        x4(2, 8, 17, 15), x4(16, 2, 3, 5), x4(16), stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=4
    ),
    "conv2d channels_last": lambda: F.conv2d(
        x4(2, 8, 9, 9).to(memory_format=torch.channels_last), x4(4, 8, 3, 3).to(memory_format=torch.channels_last)
    ),
    "conv1d and conv3d": lambda: (
        F.conv1d(x4(2, 3, 20), x4(5, 3, 4), stride=3),
        F.conv3d(x4(1, 2, 5, 6, 7), x4(3, 2, 2, 3, 3)),
    ),
    "conv2d 'same'": lambda: F.conv2d(x4(2, 3, 10, 10), x4(4, 3, 3, 3), padding="same"),
    "unary and binary elementwise": lambda: (
        F.relu(x4(2, 3)),
        F.gelu(x4(2, 3)),
        torch.tanh(x4(4)),
        x4(2, 1, 5) + x4(3, 1),
        x4(2, 3) * 2,
        x4(2, 3, dtype=torch.int64) / 2,
        x4(2, 3, dtype=torch.int64) + 1.5,
        x4(3, dtype=torch.float16) * x4(3),
        x4(2, 3) > 0,
        torch.where(x4(2, 3, dtype=torch.bool), x4(2, 3), 0.0),
        F.leaky_relu(x4(2, 8, 4, 4).to(memory_format=torch.channels_last)),
    ),
    "in place": lambda: (x4(2, 3).relu_(), x4(2, 3).add_(1)),
    "reductions": lambda: (
        x4(2, 3, 4, 5).mean((2, 3)),
        x4(2, 3, 4, 5).mean((-1, -2), keepdim=True),
        x4(2, 3).sum(),
        x4(2, 3, dtype=torch.int32).sum(1),
        x4(2, 3).sum(0, dtype=torch.float64),
    ),
    "pools": lambda: (
        F.max_pool2d(x4(2, 3, 11, 11), 3, 2, 1),
        F.max_pool2d(x4(2, 3, 11, 11), 2, ceil_mode=True),
        F.max_pool2d(x4(3, 11, 10), 2),
        F.adaptive_avg_pool2d(x4(2, 3, 7, 7), (2, 3)),
        F.adaptive_avg_pool2d(x4(2, 3, 7, 7), 1),
        F.adaptive_max_pool2d(x4(2, 3, 7, 7), 2),
    ),
    "normalisation and dropout": lambda: (
        F.batch_norm(x4(4, 3, 5, 5), None, None, training=True),
        F.layer_norm(x4(2, 5, 8), (8,)),
        F.group_norm(x4(2, 6, 4, 4), 3),
        F.dropout(x4(2, 8), 0.3),
        F.dropout(x4(2, 8, 4, 4).to(memory_format=torch.channels_last), 0.3),
        torch.zeros_like(x4(2, 3), dtype=torch.int64),
        torch.empty_like(x4(3, 4).t()),
        torch.zeros_like(x4(3, 4), device="cpu"),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_meta_outputs_match_torchs_kernels(case: str) -> None:
    with Compare() as compare:
        CASES[case]()
    assert compare.differences == []


def test_a_large_convnet_on_meta_imports_neither_dynamo_nor_sympy() -> None:
    """The ops of a typical large CNN take none of torch's Python meta kernels (seconds of imports)."""
    code = """
import sys, torch
from torch import nn
from archcheck.tracing.recorder import Recorder
model = nn.Sequential(
    nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.1),
    nn.Conv2d(64, 64, 3, padding=1, groups=64), nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
).to("meta")
x = torch.empty(2, 3, 32, 32, device="meta").requires_grad_().clone()
with torch.enable_grad(), Recorder(model, x).recording():
    out = model(x) * 2 + 1
print(tuple(out.shape), "torch._dynamo" in sys.modules, "sympy" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["(2,", "64)", "False", "False"]


def test_the_recorder_on_meta_matches_torch_for_a_residual_block() -> None:
    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.relu(self.bn(self.conv(x)) + x)

    with Compare() as compare:
        Block().to("meta")(x4(2, 8, 6, 6))
    assert compare.differences == []
    assert {"convolution", "add", "relu"} <= compare.seen
