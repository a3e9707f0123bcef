"""Scale: a model of about one billion parameters, checked by archcheck on the meta device,
against the same model instantiated and run on CPU tensors.

Goal: archcheck under 5 s and under 1 GiB peak memory.  Peak memory is the
largest resident set of any process the command started (archcheck's parent
process stays under 50 MiB; the figure is its child, which traces the model).

    python benchmarks/scale.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _measure import archcheck_command, measure

GIANT = '''
import torch.nn as nn


class Giant(nn.Module):
    """26 blocks of 2048-channel 3x3 convolutions: about a billion parameters."""

    def __init__(self, width: int = 2048, depth: int = 26):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                                  nn.MaxPool2d(2), nn.MaxPool2d(2))
        self.blocks = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                          nn.Dropout(0.1))
            for _ in range(depth)
        ])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(width, 10, 1), nn.Flatten())

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))
'''

BASELINE = """
import importlib.util, sys, torch
spec = importlib.util.spec_from_file_location("giant", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
model = module.Giant().train()
with torch.no_grad():
    model(torch.randn(2, 1, 28, 28))
print(sum(p.numel() for p in model.parameters()))
"""


def main() -> None:
    archcheck = archcheck_command()
    with tempfile.TemporaryDirectory() as directory:
        model = Path(directory) / "giant.py"
        model.write_text(GIANT)
        report = json.loads(
            subprocess.run([*archcheck, str(model), "--format", "json"], capture_output=True, text=True).stdout
        )
        params = report["params"]["total"]
        check = measure([*archcheck, str(model), "--format", "json"])
        baseline = measure([sys.executable, "-c", BASELINE, str(model)])
    print(f"model: {params:,} parameters; archcheck traced it on {report['device']}")
    print(f"{'':28}{'wall':>10}{'peak memory':>14}")
    print(f"{'archcheck (meta device)':28}{check.seconds:>9.2f}s{check.peak_mib:>10.0f} MiB")
    print(f"{'baseline (CPU tensors)':28}{baseline.seconds:>9.2f}s{baseline.peak_mib:>10.0f} MiB")
    print(
        f"ratio archcheck/baseline: time {check.seconds / baseline.seconds:.3f}, memory {check.peak_mib / baseline.peak_mib:.3f}"
    )
    print(
        f"goal: under 5 s ({'met' if check.seconds < 5 else 'NOT met'}) and under 1 GiB "
        f"({'met' if check.peak_mib < 1024 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
