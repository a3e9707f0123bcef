"""Start-up: ``archcheck reference_model/model.py`` end to end, against ``python -c "import torch"``.

Importing torch is the floor: archcheck's child process must import it to trace
the model.  The goal is a ratio of at most 1.3.  Both commands run alternately,
so that machine load affects them alike; the medians are compared.

    python benchmarks/startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _measure import archcheck_command, measure, median_seconds

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--model", default=str(REPO / "reference_model" / "model.py"))
    args = parser.parse_args()
    archcheck = archcheck_command()
    floor_command = [sys.executable, "-c", "import torch"]
    check_command = [*archcheck, args.model]
    floor, check = [], []
    measure(floor_command)  # warm the file cache for both
    measure(check_command)
    for _ in range(args.runs):
        floor.append(measure(floor_command))
        check.append(measure(check_command))
    if any(run.code != 0 for run in check):
        sys.exit(f"archcheck {args.model} did not pass (exit codes {[run.code for run in check]})")
    floor_s, check_s = median_seconds(floor), median_seconds(check)
    print(f"python -c 'import torch'       median {floor_s:.3f} s  ({args.runs} runs)")
    print(
        f"archcheck {Path(args.model).relative_to(REPO) if Path(args.model).is_relative_to(REPO) else args.model}"
        f"  median {check_s:.3f} s"
    )
    print(f"ratio {check_s / floor_s:.2f}  (goal: at most 1.30)")


if __name__ == "__main__":
    main()
