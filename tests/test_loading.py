"""Loading what students really hand in (issue 8): missing imports, scripts that train at import,
discovery by structure, directories of submissions.

Every file is written by the test; nothing is downloaded.  The CLI runs as a user runs it, on many
files at once where the flags allow (one fork server imports torch once for all of them).
"""

from __future__ import annotations

import ast
import json
import os
import textwrap
import time
from pathlib import Path

import pytest
from helpers import PASSING_MODEL, PASSING_MODEL_PARAMS, run_cli

TYPICAL_IMPORTS = """
from torchvision import datasets, transforms
from torchvision.ops import Conv2dNormActivation
from torchsummary import summary
from tqdm import tqdm
import matplotlib.pyplot as plt
"""

# Built from torchvision's Conv2dNormActivation: a stubbed torchvision could not build it.
TORCHVISION_MODEL = """
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.block = Conv2dNormActivation(1, 8, 3)
        self.drop = nn.Dropout(0.1)
        self.head = nn.Conv2d(8, 10, 1)

    def forward(self, x):
        x = self.drop(self.block(x))
        return self.head(F.adaptive_avg_pool2d(x, 1)).flatten(1)
"""
TORCHVISION_MODEL_PARAMS = 72 + 16 + 90

# The course template's script part: download MNIST, DataLoaders, summary, a training loop that would
# never end, a plot.  None of it may run.
TRAINING_SCRIPT = """
use_cuda = torch.cuda.is_available()
device = torch.device("cuda" if use_cuda else "cpu")
torch.manual_seed(1)
batch_size = 128
kwargs = {"num_workers": 1, "pin_memory": True} if use_cuda else {}
train_loader = torch.utils.data.DataLoader(
    datasets.MNIST("../data", train=True, download=True,
                   transform=transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])),
    batch_size=batch_size, shuffle=True, **kwargs)


def train(model, device, train_loader, optimizer, epoch):
    model.train()
    for data, target in tqdm(train_loader):
        optimizer.zero_grad()
        loss = F.nll_loss(model(data.to(device)), target.to(device))
        loss.backward()
        optimizer.step()


model = Net().to(device)
summary(model, input_size=(1, 28, 28))
optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
for epoch in range(1, 21):
    train(model, device, train_loader, optimizer, epoch)
while True:
    pass
plt.plot([1, 2, 3])
plt.show()
"""


# Top-level code that leaves a mark where $ARCHCHECK_TEST_MARKER says, if it runs.
LEAVES_A_MARK = PASSING_MODEL + "\nimport os\nopen(os.environ['ARCHCHECK_TEST_MARKER'], 'w').close()\nmodel = Net()\n"

NEEDS_FROM_SCRIPT = """
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F


def pick_width():
    return 6


parser = argparse.ArgumentParser()
parser.add_argument("--dropout", type=float, default=0.1)
args = parser.parse_args()  # archcheck's own arguments are not the script's
WIDTH = pick_width()
CHANNELS = [WIDTH]
for extra in range(1):
    CHANNELS.append(WIDTH)
device = torch.device("cpu")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1 if i == 0 else c, c, 3, padding=1, bias=False) for i, c in enumerate(CHANNELS))
        self.bn = nn.BatchNorm2d(WIDTH)
        self.drop = nn.Dropout(args.dropout)
        self.head = nn.Conv2d(WIDTH, 10, 1)

    def forward(self, x):
        for conv in self.convs:
            x = F.relu(conv(x.to(device)))
        x = self.drop(self.bn(x))
        return self.head(F.adaptive_avg_pool2d(x, 1)).flatten(1)


train_data = torch.load("train.pt")  # not there: must not run
"""

SEQUENTIAL = "nn.Sequential(nn.Conv2d(1, 10, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())"  # 100 parameters
FOREVER = "\nfor epoch in range(10**9):\n    pass\n"

STRUCTURE = '''
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    """Defined first: the classes it builds come later in the file."""

    def __init__(self):
        super().__init__()
        self.stage = self._stage()
        self.head = Head()

    def _stage(self):
        return make_stage(Block, 8)  # handed over, built inside make_stage

    def forward(self, x: "Probe") -> "Probe":
        # Probe is only mentioned here, and in this comment: Probe()
        return self.head(self.stage(x))


class Block(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.conv = nn.Conv2d(i, o, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(o)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 10, 1)

    def forward(self, x):
        return self.conv(F.adaptive_avg_pool2d(x, 1)).flatten(1)


def make_stage(block, channels):
    return nn.Sequential(block(1, channels), nn.Dropout(0.1))


class Probe(nn.Module):
    def forward(self, x):
        return x
'''

# A copy-paste bug seen in a real submission: Net_1 calls super(Net, self).__init__().
COPY_PASTE = (
    PASSING_MODEL
    + """

class Net_1(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv = nn.Conv2d(1, 8, 3)

    def forward(self, x):
        return self.conv(x)
"""
)

CASES = {
    "typical.py": TYPICAL_IMPORTS + TORCHVISION_MODEL,
    "torchaudio_model.py": "import torchaudio\n" + PASSING_MODEL,
    "uses_a_stub.py": "from fancy_layers import FancyConv\n"
    + PASSING_MODEL.replace("x = self.drop(", "x = FancyConv(x)\n        x = self.drop("),
    "needs_from_script.py": NEEDS_FROM_SCRIPT,
    "leaves_a_mark.py": LEAVES_A_MARK,
    "instance.py": f"import torch.nn as nn\n\nmodel = {SEQUENTIAL}\n" + FOREVER,
    "factory.py": f"import torch.nn as nn\n\n\ndef build_model():\n    return {SEQUENTIAL}\n" + FOREVER,
    "needs_a_name.py": "def pick_width():\n    return 4\n\n\nWIDTH = pick_width()\n\n"
    + PASSING_MODEL.replace("def __init__(self, width=8)", "def __init__(self)").replace(
        "super().__init__()", "super().__init__()\n        width = eval('WIDTH')  # no static reading sees this"
    ),
    "built_by_script.py": f"import torch.nn as nn\n\n\ndef create():\n    return {SEQUENTIAL}\n\n\n"
    "classifier = create()\nclassifier.eval()\n" + FOREVER,
    "train.py": "import torch\n\nweights = torch.load('weights.pt')\nwhile True:\n    pass\n",
    "copy_paste.py": COPY_PASTE,
    "pasted_from_colab.py": "!pip install torchsummary\n%matplotlib inline\n" + PASSING_MODEL,
    "structure.py": STRUCTURE,
}
WIDTH_4_PARAMS = 4 * 9 + 2 * 4 + 4 * 10 + 10


def write(path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def check_json(*args: str, cwd: Path, env: dict[str, str] | None = None) -> list[dict]:
    """The reports of one ``archcheck ARGS --format json`` run, in order."""
    result = run_cli(*args, "--format", "json", "--no-config", "-j", "2", cwd=cwd, env=env)
    assert result.stdout, result.stderr
    data = json.loads(result.stdout)
    return data["reports"] if "reports" in data else [data]


def by_file(reports: list[dict]) -> dict[str, dict]:
    return {report["file"]: report for report in reports}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("submissions")
    for name, source in CASES.items():
        write(directory / name, source)
    return directory


@pytest.fixture(scope="module")
def default(cases: Path) -> dict[str, dict]:
    """Every case checked with the default settings, in one run."""
    targets = [*CASES, "built_by_script.py::classifier", "copy_paste.py::Net"]
    return by_file(check_json(*targets, "--timeout", "120", cwd=cases, env=_with_marker(cases / "default.ran")))


@pytest.fixture(scope="module")
def strict(cases: Path) -> dict[str, dict]:
    """The cases that differ with stubs off and the whole file run."""
    targets = ["typical.py", "train.py", "leaves_a_mark.py"]
    env = _with_marker(cases / "strict.ran")
    return by_file(check_json(*targets, "--no-stub-imports", "--run-top-level", cwd=cases, env=env))


# -- missing imports -------------------------------------------------------------------------------


def test_typical_student_file_is_checked_with_missing_imports_stubbed(default: dict[str, dict]) -> None:
    report = default["typical.py"]
    assert report["status"] == "passed", report["error"]
    assert report["params"]["total"] == TORCHVISION_MODEL_PARAMS  # torchvision was the real one
    assert "Conv2dNormActivation" in [layer["type"] for layer in report["layers"]]
    assert report["stubbed"] == ["torchsummary", "tqdm"]  # matplotlib is installed: not stubbed
    assert "stubbed missing imports: torchsummary, tqdm" in report["notes"]


def test_no_stub_imports_makes_a_missing_package_an_error(strict: dict[str, dict]) -> None:
    assert strict["typical.py"]["error"]["reason"] == (
        "typical.py imports 'torchsummary', which is not installed"
        " (install it, or leave out --no-stub-imports to replace it with an inert stub)"
    )


def test_a_missing_torch_package_is_never_stubbed(default: dict[str, dict]) -> None:
    reason = default["torchaudio_model.py"]["error"]["reason"]
    assert reason.startswith("torchaudio_model.py imports 'torchaudio', which is not installed: install it")
    assert "stub" not in reason.replace("never a stub", "")


def test_a_model_that_needs_a_stubbed_package_says_so(default: dict[str, dict]) -> None:
    reason = default["uses_a_stub.py"]["error"]["reason"]
    assert "the model uses fancy_layers, which is not installed and was replaced by an inert stub: install it" in reason


def test_an_optional_import_gets_its_own_fallback(tmp_path: Path) -> None:
    """``try: import ... except ImportError`` must see the ImportError, not a stub: in an installed
    library (its imports are never stubbed) and in the submission's own file (it handles the case);
    a library that needs a missing package is named."""
    site = write(
        tmp_path / "site" / "probing_lib.py",
        """
        try:
            import archcheck_test_optional_accelerator
        except ImportError:
            WIDTH = 4  # the library's own fallback
        else:
            WIDTH = 16
        """,
    ).parent
    write(site / "needy_lib.py", "import archcheck_test_missing_dependency\n")
    own_fallback = "try:\n    from archcheck_test_fast_conv import FastConv\nexcept ImportError:\n    FastConv = None\n"
    write(
        tmp_path / "submission" / "model.py",
        "import tqdm\nimport probing_lib\n"
        + own_fallback
        + PASSING_MODEL.replace("def __init__(self, width=8)", "def __init__(self, width=probing_lib.WIDTH)").replace(
            "super().__init__()", "super().__init__()\n        assert FastConv is None, 'the fallback did not run'"
        ),
    )
    write(tmp_path / "submission" / "needy.py", "import needy_lib\n" + PASSING_MODEL)
    reports = by_file(check_json("model.py", "needy.py", cwd=tmp_path / "submission", env=_with_path(site)))
    report = reports["model.py"]
    assert report["status"] == "passed", report["error"]
    assert report["params"]["total"] == WIDTH_4_PARAMS  # width 4: the library's fallback ran
    assert report["stubbed"] == ["tqdm"]
    assert reports["needy.py"]["error"]["reason"] == (
        "needy_lib (imported by needy.py) needs 'archcheck_test_missing_dependency', which is not installed: install it"
    )


def test_a_python_file_pasted_from_a_notebook_is_read_without_its_shell_lines(default: dict[str, dict]) -> None:
    report = default["pasted_from_colab.py"]
    assert report["status"] == "passed", report["error"]
    assert "IPython shell and magic lines were left out (lines 1, 2)" in report["notes"]


# -- definitions first, scripts never --------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "skipped"),
    [
        # the course template: only the script part goes
        (
            "import torch\nimport torch.nn as nn\nclass Net(nn.Module):\n    pass\nmodel = Net().to('cpu')\n"
            "loader = torch.utils.data.DataLoader(range(3))\nsummary(model)\nfor epoch in range(3):\n    train(model, loader)\n",
            ["loader = ...", "summary(model)", "for epoch ..."],
        ),
        # a list of layers filled by a loop is what the model reads: the loop stays
        (
            "import torch.nn as nn\nLAYERS = []\nfor i in range(2):\n    LAYERS.append(nn.Conv2d(1, 1, 3))\n"
            "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.body = nn.Sequential(*LAYERS)\n"
            "print(LAYERS)\n",
            ["print(LAYERS)"],
        ),
        # a fallback in an except block is a constant; a function whose default needs the script goes with it
        (
            "try:\n    from tqdm import tqdm\nexcept ImportError:\n    tqdm = lambda x: x\ndata = load()\n"
            "def train(loader=data):\n    pass\ndef helper(n=2):\n    return n\n",
            ["data = ...", "def train ..."],
        ),
        # the main guard never runs anyway: it is not reported as skipped
        ("import torch\nWIDTH = 8\nif __name__ == '__main__':\n    main()\n", []),
    ],
    ids=["course-template", "loop-the-model-reads", "fallbacks-and-defaults", "main-guard"],
)
def test_definitions_first_keeps_what_the_model_needs(source: str, skipped: list[str]) -> None:
    from archcheck.tracing.toplevel import definitions_first

    part = definitions_first(ast.parse(source), None, lambda module: False)
    assert [_short(statement) for statement in part.skipped] == skipped  # everything else runs


def _short(statement: ast.stmt) -> str:
    """A statement as the test names it: its first line, or "kind name ..." for blocks and assignments."""
    if isinstance(statement, ast.Assign):
        return f"{ast.unparse(statement.targets[0])} = ..."
    if isinstance(statement, ast.For):
        return f"for {ast.unparse(statement.target)} ..."
    if isinstance(statement, ast.FunctionDef):
        return f"def {statement.name} ..."
    return ast.unparse(statement)


def test_a_file_that_trains_and_downloads_at_import_is_checked_in_seconds(tmp_path: Path) -> None:
    imports = "import torch\nimport torch.optim as optim\n" + TYPICAL_IMPORTS
    write(tmp_path / "definitions.py", imports + TORCHVISION_MODEL)
    write(tmp_path / "script.py", imports + TORCHVISION_MODEL + TRAINING_SCRIPT)
    # Should the script run after all, its download fails at once instead of reaching the network.
    offline = {**os.environ, "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
    start = time.monotonic()
    (baseline,) = check_json("definitions.py", "--timeout", "120", cwd=tmp_path, env=offline)
    baseline_seconds = time.monotonic() - start
    start = time.monotonic()
    (report,) = check_json("script.py", "--timeout", "120", cwd=tmp_path, env=offline)
    seconds = time.monotonic() - start
    assert report["status"] == "passed", report["error"]
    assert report["params"]["total"] == baseline["params"]["total"] == TORCHVISION_MODEL_PARAMS
    assert any(note.startswith("top-level code was skipped (lines ") for note in report["notes"]), report["notes"]
    assert "--run-top-level" in " ".join(report["notes"])
    # Running the script would last until the timeout (it loops forever): it must cost no more than
    # the same model without it.  On an idle machine both take a few seconds.
    assert seconds < baseline_seconds + 5, (seconds, baseline_seconds)


def test_top_level_code_runs_only_with_run_top_level(
    cases: Path, default: dict[str, dict], strict: dict[str, dict]
) -> None:
    assert default["leaves_a_mark.py"]["status"] == "passed"
    assert not (cases / "default.ran").exists()
    assert strict["leaves_a_mark.py"]["status"] == "passed"
    assert (cases / "strict.ran").exists()
    assert not any("skipped" in note for note in strict["leaves_a_mark.py"]["notes"])


def test_what_the_model_needs_from_top_level_code_still_runs(cases: Path, default: dict[str, dict]) -> None:
    report = default["needs_from_script.py"]
    assert report["status"] == "passed", report["error"]
    assert report["params"]["total"] == 6 * 9 + 6 * 6 * 9 + 12 + 6 * 10 + 10
    lines = (cases / "needs_from_script.py").read_text().splitlines()
    load = lines.index('train_data = torch.load("train.pt")  # not there: must not run') + 1
    assert any(f"top-level code was skipped (line {load})" in note for note in report["notes"]), report["notes"]


def test_a_module_level_instance_and_a_factory_are_still_found(default: dict[str, dict]) -> None:
    assert default["instance.py"]["model"] == "model" and default["instance.py"]["params"]["total"] == 100
    assert default["factory.py"]["model"] == "build_model" and default["factory.py"]["params"]["total"] == 100


def test_the_whole_file_runs_when_the_model_needs_what_only_the_script_defines(default: dict[str, dict]) -> None:
    report = default["needs_a_name.py"]
    assert report["status"] == "passed", report["error"]
    assert report["params"]["total"] == WIDTH_4_PARAMS
    assert (
        "the whole file was run, top-level code included: the model needs 'WIDTH', which it defines" in report["notes"]
    )


def test_a_model_built_by_the_script_is_checked_when_named(default: dict[str, dict]) -> None:
    assert default["built_by_script.py"]["error"]["reason"] == (
        "no nn.Module subclass, model instance or model factory defined in built_by_script.py (found: create);"
        " its top-level script code did not run (--run-top-level runs it)"
    )
    named = default["built_by_script.py::classifier"]
    assert named["model"] == "classifier" and named["params"]["total"] == 100


def test_a_script_without_a_model_is_not_run(default: dict[str, dict], strict: dict[str, dict]) -> None:
    reason = default["train.py"]["error"]["reason"]
    assert reason.startswith(
        "no nn.Module subclass, model instance or model factory defined in train.py (found: nothing);"
    )
    assert "importing train.py raised FileNotFoundError" in strict["train.py"]["error"]["reason"]


# -- discovery reads structure, not mentions -------------------------------------------------------


def test_super_of_another_class_does_not_hide_the_model(default: dict[str, dict]) -> None:
    assert default["copy_paste.py"]["error"]["reason"] == (
        "copy_paste.py defines several candidate models; name the one to check: copy_paste.py::Net, copy_paste.py::Net_1"
    )
    assert default["copy_paste.py::Net"]["status"] == "passed"


def test_only_classes_built_as_submodules_are_used(default: dict[str, dict]) -> None:
    assert default["structure.py"]["error"]["reason"] == (
        "structure.py defines several candidate models; name the one to check: structure.py::Net, structure.py::Probe"
    )


# -- directories of submissions --------------------------------------------------------------------


def test_a_directory_of_submissions_takes_notebooks_and_each_students_only_file(tmp_path: Path) -> None:
    classroom = tmp_path / "submissions"
    write(classroom / "alice" / "model.py", PASSING_MODEL)
    write(classroom / "bob" / "S5_solution.py", PASSING_MODEL)
    write(classroom / "carol" / "a.py", PASSING_MODEL)
    write(classroom / "carol" / "b.py", PASSING_MODEL)
    write(classroom / "dave.ipynb", json.dumps(_notebook(PASSING_MODEL)))
    write(classroom / ".ipynb_checkpoints" / "dave-checkpoint.ipynb", "{}")
    reports = check_json("submissions", "submissions/*", cwd=tmp_path)
    files = [Path(report["file"]).as_posix() for report in reports]
    expected = [
        "submissions/alice/model.py",
        "submissions/bob/S5_solution.py",
        "submissions/carol",
        "submissions/dave.ipynb",
    ]
    assert files == expected + expected  # the directory, then the glob: the same submissions
    found = by_file(reports[:4])
    assert found["submissions/bob/S5_solution.py"]["params"]["total"] == PASSING_MODEL_PARAMS
    assert found["submissions/dave.ipynb"]["status"] == "passed", found["submissions/dave.ipynb"]["error"]
    assert "is a directory without a model.py" in found["submissions/carol"]["error"]["reason"]


def _notebook(*cells: str) -> dict:
    return {
        "cells": [
            {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": cell}
            for cell in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _with_path(directory: Path) -> dict[str, str]:
    """The environment with ``directory`` on the Python path, like a package installed there."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(directory), os.environ.get("PYTHONPATH")]))}


def _with_marker(path: Path) -> dict[str, str]:
    return {**os.environ, "ARCHCHECK_TEST_MARKER": str(path)}
