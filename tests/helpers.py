"""What several test files share: a model that passes every rule, the rules it is checked by, and a way to run the real CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from archcheck.config import PRESETS

# The rules the default preset runs, from the preset table: tests never spell the list out.
MNIST_RULES = PRESETS["mnist"].rules

# Passes every mnist rule: conv 72 + BN 16 + 1×1 head 90 = 178 parameters.
PASSING_MODEL = """
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.conv = nn.Conv2d(1, width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(width, 10, 1)

    def forward(self, x):
        x = self.drop(self.bn(F.relu(self.conv(x))))
        return self.head(F.adaptive_avg_pool2d(x, 1)).flatten(1)
"""
PASSING_MODEL_PARAMS = 72 + 16 + 90


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``archcheck ARGS...`` as a user runs it, in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "archcheck", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
