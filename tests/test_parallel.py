"""Parallel safety of the command line: ``-j 2`` must not change any answer.

A handful of small model files (passing, failing different rules, and some
that cannot be checked: a syntax error, a forward that raises, a missing
file) are checked by the real CLI once together with
``-j 2`` and once each on their own.  Verdicts, parameter totals and error
reasons must be identical, the reports must come back in the order the files
were given, and the exit code must be the worst of all.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"

# name -> (source, expected status, rules expected to fail, expected total parameters or None for an error)
MODELS: dict[str, tuple[str, str, set[str], int | None]] = {
    "m_clean.py": (
        """
        class Clean(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)   # 72
                self.bn1 = nn.BatchNorm2d(8)                              # 16
                self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)  # 1152
                self.bn2 = nn.BatchNorm2d(16)                             # 32
                self.drop = nn.Dropout(0.1)
                self.head = nn.Conv2d(16, 10, 1, bias=False)              # 160

            def forward(self, x):
                x = F.max_pool2d(self.drop(F.relu(self.bn1(self.conv1(x)))), 2)
                x = F.max_pool2d(self.drop(F.relu(self.bn2(self.conv2(x)))), 2)
                return self.head(x).mean((2, 3))
        """,
        "passed",
        set(),
        1432,
    ),
    "k_syntax_error.py": (
        """
        class Broken(nn.Module):
            def forward(self, x)
                return x
        """,
        "error",
        set(),
        None,
    ),
    "j_over_budget.py": (
        """
        class Wide(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 32, 3, padding=1, bias=False)   # 288
                self.bn = nn.BatchNorm2d(32)                               # 64
                self.conv2 = nn.Conv2d(32, 96, 3, padding=1, bias=False)  # 27648
                self.head = nn.Conv2d(96, 10, 1)                           # 970
                self.drop = nn.Dropout2d(0.2)

            def forward(self, x):
                x = F.max_pool2d(F.relu(self.bn(self.conv1(x))), 2)
                x = self.drop(F.relu(self.conv2(x)))
                return self.head(F.adaptive_avg_pool2d(x, 1)).flatten(1)
        """,
        "failed",
        {"max-params"},
        288 + 64 + 27648 + 970,
    ),
    "i_forward_raises.py": (
        """
        class Raises(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 4, 3)

            def forward(self, x):
                x = self.conv(x)
                raise RuntimeError("forward is not implemented yet")
        """,
        "error",
        set(),
        None,
    ),
    "h_linear_head.py": (
        """
        class LinearHead(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 8, 3, padding=1)   # 80
                self.bn = nn.BatchNorm2d(8)                  # 16
                self.drop = nn.Dropout(0.3)
                self.fc = nn.Linear(8, 10)                   # 90

            def forward(self, x):
                x = self.drop(F.relu(self.bn(self.conv(x))))
                return self.fc(nn.AdaptiveAvgPool2d(1)(x).flatten(1))
        """,
        "failed",
        {"no-linear"},
        80 + 16 + 90,
    ),
    "f_unused_bn_max_pool.py": (
        """
        class MaxPooled(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 10, 3, padding=1)   # 100
                self.bn = nn.BatchNorm2d(10)                  # 20, never called
                self.drop = nn.Dropout(0.0)                   # runs, drops nothing

            def forward(self, x):
                x = self.drop(F.relu(self.conv(x)))
                return x.amax((2, 3))                         # a global max, not an average
        """,
        "failed",
        {"batchnorm", "dropout", "gap"},
        120,
    ),
    "e_tied_frozen.py": (
        """
        class Tied(nn.Module):
            def __init__(self):
                super().__init__()
                self.stem = nn.Conv2d(1, 16, 3, padding=1, bias=False)      # 144
                self.a = nn.Conv2d(16, 16, 3, padding=1, bias=False)        # 2304
                self.b = nn.Conv2d(16, 16, 3, padding=1)                    # bias 16 (weight tied to a)
                self.b.weight = self.a.weight
                self.again = self.a                                          # registered twice
                self.bn = nn.BatchNorm2d(16)                                 # 32
                self.head = nn.Conv2d(16, 10, 1)                             # 170
                self.drop = nn.Dropout(0.1)
                self.stem.requires_grad_(False)

            def forward(self, x):
                x = F.max_pool2d(F.relu(self.bn(self.stem(x))), 2)
                x = F.max_pool2d(F.relu(self.again(self.b(self.a(x)))), 2)
                return self.head(self.drop(F.avg_pool2d(x, 7))).flatten(1)
        """,
        "passed",
        set(),
        144 + 2304 + 16 + 32 + 170,
    ),
}
MISSING = "d_missing.py"  # never written: rejected in the parent, before any child starts


def run_cli(paths: list[str], cwd: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    process = subprocess.run(
        [sys.executable, "-m", "archcheck", *paths, "--format", "json", "--no-config", *extra],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    try:
        document = json.loads(process.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"archcheck {' '.join(paths)} printed no JSON (exit {process.returncode}):\n"
            f"{process.stdout}\n{process.stderr}"
        )
    return process.returncode, document, process.stderr


def essentials(report: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on how many models run at once."""
    return {
        "file": report["file"],
        "model": report["model"],
        "status": report["status"],
        "exit_code": report["exit_code"],
        "params": report["params"],
        "error": report["error"] and {"phase": report["error"]["phase"], "reason": report["error"]["reason"]},
        "rules": [(r["id"], r["passed"], r["message"], r["measured"]) for r in report["rules"]],
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One ``-j 2`` run over every file and one run per file, done once for the module."""
    directory = tmp_path_factory.mktemp("models")
    for name, (source, *_) in MODELS.items():
        (directory / name).write_text(HEADER + textwrap.dedent(source).lstrip(), encoding="utf-8")
    # Not alphabetical, so that sorting or completion order cannot pass for "the order given";
    # the missing file sits between runnable ones.
    order = [
        "m_clean.py",
        "k_syntax_error.py",
        "j_over_budget.py",
        "i_forward_raises.py",
        MISSING,
        "h_linear_head.py",
        "f_unused_bn_max_pool.py",
        "e_tied_frozen.py",
    ]
    together = run_cli(order, directory, "-j", "2")
    # The single runs are independent CLI processes; two at a time keeps the wall time down.
    with ThreadPoolExecutor(max_workers=2) as pool:
        alone = dict(zip(order, pool.map(lambda name: run_cli([name], directory), order)))
    return {"directory": directory, "order": order, "together": together, "alone": alone}


def test_parallel_run_matches_single_runs(runs: dict[str, Any]) -> None:
    _, document, _ = runs["together"]
    assert document["schema_version"] == 1
    reports = document["reports"]
    assert [r["file"] for r in reports] == runs["order"], "reports must come back in the order given"
    for name, report in zip(runs["order"], reports):
        single_code, single, _ = runs["alone"][name]
        assert "reports" not in single, "a single file is reported as a bare report"
        assert single_code == single["exit_code"], name
        assert essentials(report) == essentials(single), f"{name}: -j 2 and a run of its own disagree"
        assert report == single, f"{name}: the full reports differ between -j 2 and a run of its own"


def test_verdicts_are_the_expected_ones(runs: dict[str, Any]) -> None:
    """The files do what they were written to do (so the comparison above compares something)."""
    _, document, _ = runs["together"]
    for name, report in zip(runs["order"], document["reports"]):
        if name == MISSING:
            assert report["status"] == "error" and "no such file" in report["error"]["reason"]
            continue
        _, status, failing, total = MODELS[name]
        assert report["status"] == status, (name, report["error"] or report["rules"])
        if status == "error":
            assert report["error"]["reason"], name
            continue
        assert {r["id"] for r in report["rules"] if not r["passed"]} == failing, (name, report["rules"])
        assert report["params"]["total"] == total, name
    by_name = dict(zip(runs["order"], document["reports"]))
    assert "syntax error" in by_name["k_syntax_error.py"]["error"]["reason"]
    assert "forward is not implemented yet" in by_name["i_forward_raises.py"]["error"]["reason"]
    assert by_name["e_tied_frozen.py"]["params"] == {"total": 2666, "trainable": 2522, "frozen": 144, "unregistered": 0}


def test_exit_code_is_the_worst_of_all(runs: dict[str, Any]) -> None:
    code, document, _ = runs["together"]
    single_codes = [runs["alone"][name][0] for name in runs["order"]]
    assert sorted(set(single_codes)) == [0, 1, 2]
    assert code == max(single_codes) == 2
    statuses = [r["status"] for r in document["reports"]]
    assert (
        document["summary"]
        == {
            "passed": statuses.count("passed"),
            "failed": statuses.count("failed"),
            "errors": statuses.count("error"),
        }
        == {"passed": 2, "failed": 3, "errors": 3}
    )
