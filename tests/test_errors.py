"""Every bad input gets exit code 2 and one clear line naming the problem (issue: untrusted submissions).

Most cases run through one real ``archcheck -j 2 --format json`` call (each file
still gets its own isolated child process); a few run alone to check the exit
code and that stderr holds exactly one line.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from helpers import run_cli

CONV = """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return self.bn(self.conv(x))
"""

MODELS = {
    "syntax.py": "import torch.nn as nn\n\nclass Net(nn.Module)\n    pass\n",
    "missing_package.py": "import torchsummary\n" + CONV,
    "no_model.py": "import torch\n\nWIDTH = 3\n\ndef helper():\n    return WIDTH\n",
    "several.py": CONV + "\n\nclass Other(nn.Module):\n    def forward(self, x):\n        return x\n",
    "needs_args.py": CONV.replace("def __init__(self):", "def __init__(self, width, depth=2):"),
    "factory_returns_int.py": "def build_model():\n    return 42\n",
    "wrong_channels.py": CONV.replace("nn.Conv2d(1, 4, 3)", "nn.Conv2d(3, 4, 3)"),
    "wrong_features.py": "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(3072, 10)\n\n    def forward(self, x):\n        return self.fc(x.flatten(1))\n",
    "dict_output.py": CONV.replace(
        "return self.bn(self.conv(x))", "return {'logits': self.bn(self.conv(x)), 'step': 1}"
    ),
    "none_output.py": CONV.replace("return self.bn(self.conv(x))", "self.bn(self.conv(x))"),
    "cuda_only.py": CONV.replace("nn.Conv2d(1, 4, 3)", "nn.Conv2d(1, 4, 3).cuda()"),
    "sys_exit.py": "import sys\n\nprint('training...')\nsys.exit(3)\n",
    "os_exit.py": "import os\n\nos._exit(4)\n",
    "keyboard_interrupt.py": "raise KeyboardInterrupt\n",
    "raises_at_import.py": "import torch\n\ndata = torch.load('weights.pt')\n",
    "raises_in_init.py": CONV.replace(
        "super().__init__()", "super().__init__()\n        raise ValueError('bad config')"
    ),
    "huge_allocation.py": CONV.replace(
        "return self.bn(self.conv(x))",
        "torch.empty(400_000_000_000, dtype=torch.uint8, device='cpu').fill_(1)\n        return self.bn(self.conv(x))",
    ),
    "not_python.txt": "this is not python\n",
}

# file -> (phase, words the one-line reason must contain)
EXPECTED = {
    "syntax.py": ("import", ["syntax error", "syntax.py:3", "expected ':'"]),
    "no_model.py": ("build", ["no nn.Module subclass", "no_model.py", "found: helper"]),
    "several.py": ("build", ["several candidate models", "several.py::Net, several.py::Other"]),
    "needs_args.py": ("build", ["Net() needs arguments: width", "--model-kwargs", '{"width": "..."}']),
    "factory_returns_int.py": ("build", ["build_model() returned an int", "not an nn.Module"]),
    "wrong_channels.py": (
        "trace",
        ["forward failed for input shape 1×28×28", "expects 3 input channels", "--input-shape 3,28,28"],
    ),
    "wrong_features.py": ("trace", ["forward failed for input shape 1×28×28", "mat1 and mat2", "--input-shape"]),
    "dict_output.py": ("trace", ["forward returned a dict of int, Tensor", "a tuple, list or dict of tensors"]),
    "none_output.py": ("trace", ["forward returned None"]),
    "cuda_only.py": ("build", ["only runs on CUDA", "remove hard-coded .cuda()"]),
    "raises_at_import.py": ("build", ["defined in raises_at_import.py (found: nothing);", "--run-top-level"]),
    "raises_in_init.py": ("build", ["Net() raised ValueError: bad config"]),
    "huge_allocation.py": ("trace", ["exceeded the memory limit of 4 GiB", "the forward pass", "--max-memory"]),
    "not_python.txt": ("load", ["not a Python file"]),
    "does_not_exist.py": ("load", ["does_not_exist.py: no such file"]),
    "a_directory": ("load", ["is a directory without a model.py"]),
    "several.py::Missing": ("build", ["has no class, function or module named 'Missing'", "candidates: Net, Other"]),
    'needs_args.py::Net --model-kwargs {"widht": 4}': (
        "build",
        ["rejected the arguments", "unexpected keyword argument 'widht'"],
    ),
    "several.py::1bad": ("load", ["not a valid target", "FILE.py::Name"]),
    "missing_package.py --no-stub-imports": ("import", ["'torchsummary'", "not installed", "--no-stub-imports"]),
    # The file's top-level code runs only with --run-top-level (by default only its definitions run).
    "sys_exit.py --run-top-level": (
        "import",
        ["called sys.exit()", "import of the model file", "exit code 3", '__name__ == "__main__"'],
    ),
    "os_exit.py --run-top-level": (
        "import",
        ["ended without a result", "import of the model file", "exit code 4", "os._exit()"],
    ),
    "keyboard_interrupt.py --run-top-level": ("import", ["KeyboardInterrupt", "import of the model file"]),
    "raises_at_import.py --run-top-level": (
        "import",
        ["importing raises_at_import.py raised FileNotFoundError", "weights.pt"],
    ),
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("bad_inputs")
    for name, source in MODELS.items():
        (directory / name).write_text(textwrap.dedent(source))
    (directory / "a_directory").mkdir()
    return directory


@pytest.fixture(scope="module")
def reports(workdir: Path) -> dict[str, dict]:
    """One CLI run over every case that needs no options of its own."""
    plain = [case for case in EXPECTED if " " not in case]
    result = run_cli(*plain, "--format", "json", "-j", "2", "--no-config", cwd=workdir)
    assert result.returncode == 2, result.stderr
    data = json.loads(result.stdout)
    return {report["file"]: report for report in data["reports"]}


@pytest.mark.parametrize("case", [case for case in EXPECTED if " " not in case])
def test_reason_names_the_problem(reports: dict[str, dict], case: str) -> None:
    phase, words = EXPECTED[case]
    report = reports[case]
    assert report["status"] == "error" and report["exit_code"] == 2
    reason = report["error"]["reason"]
    assert "\n" not in reason
    for word in words:
        assert word in reason, f"{case}: {word!r} not in {reason!r}"
    assert report["error"]["phase"] == phase, reason


@pytest.mark.parametrize("case", [case for case in EXPECTED if " " in case])
def test_reason_with_options(workdir: Path, case: str) -> None:
    phase, words = EXPECTED[case]
    result = run_cli(*case.split(" ", 2), "--format", "json", cwd=workdir)
    report = json.loads(result.stdout)
    assert result.returncode == 2
    for word in words:
        assert word in report["error"]["reason"]
    assert report["error"]["phase"] == phase


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["syntax.py"], "archcheck: cannot check syntax.py: syntax error in "),
        (["does_not_exist.py"], "archcheck: cannot check does_not_exist.py: does_not_exist.py: no such file"),
        (
            ["needs_args.py", "--input-shape", "1,a"],
            "archcheck: error: --input-shape 1,a: expected positive whole numbers like 1,28,28",
        ),
        (["needs_args.py", "--ignore", "fc"], "archcheck: error: --ignore fc: unknown rule fc"),
        (["needs_args.py", "--model-kwargs", "{oops"], "archcheck: error: --model-kwargs {oops: not valid JSON"),
        (
            ["needs_args.py", "--preset", "imagenet"],
            "archcheck: cannot check needs_args.py: --preset imagenet: unknown preset",
        ),
        (["needs_args.py", "--max-memory", "lots"], "archcheck: error: --max-memory lots: expected a size like 4GiB"),
        (["needs_args.py", "--max-params", "0"], "archcheck: error: --max-params 0: expected a whole number above 0"),
        (["needs_args.py", "--timeout", "-1"], "archcheck: error: --timeout -1: expected a number above 0"),
        (["needs_args.py", "--frobnicate"], "archcheck: error: unrecognized arguments: --frobnicate"),
        ([], "archcheck: error: give at least one model file"),
    ],
)
def test_text_error_is_one_line_on_stderr_with_exit_2(workdir: Path, args: list[str], expected: str) -> None:
    result = run_cli(*args, cwd=workdir)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected), lines[0]


def test_verbose_shows_the_traceback(workdir: Path) -> None:
    result = run_cli("raises_in_init.py", "--verbose", cwd=workdir)
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "ValueError: bad config" in result.stderr


def test_timeout_names_the_phase(workdir: Path) -> None:
    (workdir / "trains_at_import.py").write_text("import time\n\nwhile True:\n    time.sleep(0.05)\n")
    result = run_cli("trains_at_import.py", "--timeout", "4", "--run-top-level", cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "archcheck: cannot check trains_at_import.py: timed out after 4s during import of the model file "
        '(does the file train or download data at import time? keep that under `if __name__ == "__main__":`) '
        "(raise the limit with --timeout)"
    ]


def test_timeout_in_forward(workdir: Path) -> None:
    (workdir / "loops_in_forward.py").write_text(
        CONV.replace("return self.bn(self.conv(x))", "while True:\n            x = x + 0\n")
    )
    result = run_cli("loops_in_forward.py", "--timeout", "6", cwd=workdir)
    assert result.returncode == 2
    assert "timed out after 6s during the forward pass" in result.stderr


def test_stub_imports_lets_a_training_script_be_checked(workdir: Path) -> None:
    source = "import torchsummary\nfrom tqdm import tqdm\nimport matplotlib.pyplot as plt\n" + CONV
    (workdir / "with_training_imports.py").write_text(source + "\nplt.figure()\nfor _ in tqdm(range(3)):\n    pass\n")
    strict = run_cli("with_training_imports.py", "--no-stub-imports", "--format", "json", cwd=workdir)
    assert json.loads(strict.stdout)["status"] == "error"
    for flags in ([], ["--stub-imports"]):  # stubs are the default; the flag stays accepted
        report = json.loads(run_cli("with_training_imports.py", *flags, "--format", "json", cwd=workdir).stdout)
        assert report["status"] == "failed", report["error"]
        assert report["params"]["total"] == 1 * 4 * 9 + 4 + 8


def test_memory_limit_too_small_for_torch_is_explained(workdir: Path) -> None:
    result = run_cli("needs_args.py", "--max-memory", "200MiB", cwd=workdir)
    assert result.returncode == 2
    assert "exceeded the memory limit of 200 MiB during start-up (importing torch)" in result.stderr
