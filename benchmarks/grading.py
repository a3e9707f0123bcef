"""Class-wide grading: N submissions checked by one ``archcheck -j 2 DIR`` against N one-by-one runs of the CLI.

The submissions are small CNNs of varied widths (some pass, some fail a rule,
a few cannot be checked), written to a temporary directory.  Both ways must
give the same verdicts; the ratio of wall times is printed.

    python benchmarks/grading.py [--count 100] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import tempfile
import time
from pathlib import Path

from _measure import archcheck_command

TEMPLATE = """
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, {width}, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d({width})
        self.conv2 = nn.Conv2d({width}, {width2}, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d({width2})
        self.drop = nn.Dropout({p})
        self.head = {head}

    def forward(self, x):
        x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
        x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)
        {pool}
        return {out}
"""


def submission(index: int) -> str:
    """The index-th submission: widths vary; every 7th uses a Linear head, every 11th has no dropout,
    every 13th max-pools instead of averaging, every 25th has a syntax error."""
    width, width2 = 4 + index % 12, 8 + (index * 7) % 40
    linear = index % 7 == 0
    source = TEMPLATE.format(
        width=width,
        width2=width2,
        p=0.0 if index % 11 == 0 else 0.1,
        head=f"nn.Linear({width2}, 10)" if linear else f"nn.Conv2d({width2}, 10, 1)",
        pool="x = F.adaptive_max_pool2d(x, 1)" if index % 13 == 0 else "x = F.adaptive_avg_pool2d(x, 1)",
        out="self.head(x.flatten(1))" if linear else "self.head(x).flatten(1)",
    )
    return source.replace("def forward(self, x):", "def forward(self, x)") if index % 25 == 24 else source


def verdicts(csv_text: str) -> dict[str, tuple[str, str]]:
    return {Path(row["file"]).name: (row["status"], row["params"]) for row in csv.DictReader(io.StringIO(csv_text))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    archcheck = archcheck_command()
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        files = []
        for index in range(args.count):
            path = folder / f"student_{index:03d}.py"
            path.write_text(submission(index))
            files.append(path)

        start = time.perf_counter()
        together = subprocess.run(
            [*archcheck, str(folder), "-j", str(args.jobs), "--format", "csv"], capture_output=True, text=True
        )
        parallel_seconds = time.perf_counter() - start

        start = time.perf_counter()
        alone = {}
        for path in files:
            result = subprocess.run([*archcheck, str(path), "--format", "csv"], capture_output=True, text=True)
            alone.update(verdicts(result.stdout))
        serial_seconds = time.perf_counter() - start

    graded = verdicts(together.stdout)
    if graded != alone:
        raise SystemExit(f"the verdicts differ:\n{graded}\n{alone}")
    statuses = [status for status, _ in graded.values()]
    print(
        f"{args.count} submissions: {statuses.count('passed')} passed, {statuses.count('failed')} failed, "
        f"{statuses.count('error')} could not be checked (same verdicts both ways)"
    )
    print(
        f"archcheck DIR -j {args.jobs}:        {parallel_seconds:7.1f} s  ({parallel_seconds / args.count:.2f} s each)"
    )
    print(f"one-by-one archcheck FILE:  {serial_seconds:7.1f} s  ({serial_seconds / args.count:.2f} s each)")
    print(f"speed-up: {serial_seconds / parallel_seconds:.1f}x")


if __name__ == "__main__":
    main()
