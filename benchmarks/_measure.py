"""Timing and peak memory of a command, shared by the benchmark scripts."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Runs a command and reports its wall time and the peak RSS of the largest process it started.
_PROBE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
seconds = time.perf_counter() - start
print(json.dumps({"code": code, "seconds": seconds, "peak_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


@dataclass
class Run:
    code: int
    seconds: float
    peak_mib: float


def measure(command: list[str]) -> Run:
    """One run of ``command`` in a fresh probe process, so that peak memory is this run's own."""
    output = subprocess.run([sys.executable, "-c", _PROBE, *command], capture_output=True, text=True, check=True).stdout
    data = json.loads(output)
    return Run(data["code"], data["seconds"], data["peak_kib"] / 1024)


def archcheck_command() -> list[str]:
    """The installed ``archcheck`` script of this interpreter's environment."""
    script = Path(sys.executable).parent / "archcheck"
    if not script.exists():
        sys.exit(f"archcheck is not installed next to {sys.executable}: pip install -e .")
    return [str(script)]


def median_seconds(runs: list[Run]) -> float:
    return statistics.median(run.seconds for run in runs)
