"""Jupyter notebooks as model files (issue 8): code cells in order, IPython syntax dropped,
findings at ``file.ipynb:cell N:line``, bad notebooks refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import PASSING_MODEL, PASSING_MODEL_PARAMS, run_cli

from archcheck.notebook import python_lines

MARKDOWN = {"cell_type": "markdown", "metadata": {}, "source": ["# Assignment 5\n", "Model with BN and GAP.\n"]}


def code(source: str) -> dict:
    """A code cell as Jupyter saves it: the source as a list of lines."""
    return {"cell_type": "code", "metadata": {}, "execution_count": 1, "outputs": [], "source": source.splitlines(True)}


def notebook(*cells: dict, **top: object) -> str:
    return json.dumps({"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5, **top}, indent=1)


# A Colab export: setup with shell and magic lines, the model (with a Linear head), then training.
COLAB = notebook(
    MARKDOWN,
    code(
        "!pip install torchsummary\n%matplotlib inline\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
        "from torchsummary import summary\nfiles = !ls\n"
    ),
    code(
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super(Net, self).__init__()\n"
        "        self.conv = nn.Conv2d(1, 8, 3, padding=1)\n"
        "        self.bn = nn.BatchNorm2d(8)\n"
        "        self.fc = nn.Linear(8, 10)\n"
        "        self.drop = nn.Dropout(0.1)\n"
        "\n"
        "    def forward(self, x):\n"
        "        x = self.drop(self.bn(self.conv(x)))\n"
        "        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))\n"
    ),
    code(
        "%%time\nmodel = Net()\nsummary(model, input_size=(1, 28, 28))\nfor epoch in range(10**9):\n    !echo training\n"
    ),
    code("%%bash\nnvidia-smi\n"),
)


def test_a_colab_notebook_is_checked_and_findings_point_at_cell_and_line(tmp_path: Path) -> None:
    (tmp_path / "S5.ipynb").write_text(COLAB)
    text = run_cli("S5.ipynb", "--no-config", cwd=tmp_path)
    assert text.returncode == 1, text.stderr
    assert "S5.ipynb:cell 3:6  fc  fc (Linear)" in text.stdout  # the line that builds the Linear layer
    report = json.loads(run_cli("S5.ipynb", "--format", "json", "--no-config", cwd=tmp_path).stdout)
    assert report["params"]["total"] == 80 + 16 + 90
    assert [rule["id"] for rule in report["rules"] if not rule["passed"]] == ["no-linear"]
    (finding,) = next(rule for rule in report["rules"] if rule["id"] == "no-linear")["findings"]
    assert (Path(finding["file"]).name, finding["cell"], finding["line"]) == ("S5.ipynb", 3, 6)
    assert report["stubbed"] == ["torchsummary"]
    assert any(note.startswith("top-level code was skipped (cell 4)") for note in report["notes"]), report["notes"]


def test_the_github_annotation_is_on_the_notebook_and_names_the_cell(tmp_path: Path) -> None:
    (tmp_path / "S5.ipynb").write_text(COLAB)
    result = run_cli("S5.ipynb", "--format", "github", "--no-config", cwd=tmp_path)
    annotation = next(line for line in result.stdout.splitlines() if line.startswith("::error") and "no-linear" in line)
    assert annotation.startswith("::error file=S5.ipynb,title=archcheck no-linear::cell 3, line 6: ")


def test_a_notebook_in_the_callers_process(tmp_path: Path) -> None:
    from archcheck import check_file

    (tmp_path / "model.ipynb").write_text(notebook(MARKDOWN, code(PASSING_MODEL), code("%timeit Net()(x)\n")))
    report = check_file(str(tmp_path / "model.ipynb"), isolate=False)
    assert report.status == "passed", report.error
    assert report.params is not None and report.params.total == PASSING_MODEL_PARAMS


BAD = {
    "broken.ipynb": ('{"cells": [', "is not a notebook archcheck can read: invalid JSON at line 1"),
    "old.ipynb": (json.dumps({"nbformat": 3, "worksheets": []}), "nbformat 3; archcheck reads nbformat 4"),
    "text_only.ipynb": (notebook(MARKDOWN), "is not a notebook archcheck can read: no Python code in its cells"),
    "r_kernel.ipynb": (
        notebook(code("x <- 1\n"), metadata={"kernelspec": {"name": "ir", "language": "R"}}),
        "its kernel runs r, not Python",
    ),
    "syntax.ipynb": (
        notebook(MARKDOWN, code("import torch\n"), code("class Net(nn.Module)\n    pass\n")),
        "syntax error in syntax.ipynb:cell 3:1",
    ),
}


@pytest.mark.parametrize("name", BAD)
def test_a_bad_notebook_is_one_line_and_exit_2(tmp_path: Path, name: str) -> None:
    content, expected = BAD[name]
    (tmp_path / name).write_text(content)
    result = run_cli(name, cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"archcheck: cannot check {name}: ") and expected in line, line


@pytest.mark.parametrize(
    ("cell", "python"),
    [
        ("!pip install tqdm\nimport torch", "\nimport torch"),
        ("%matplotlib inline\n%load_ext autoreload", "\n"),
        ("files = !ls\nx, y = %sx echo 1 2", "\n"),
        ("for i in range(2):\n    !echo $i\n", "for i in range(2):\n    pass"),
        ("model?\n??model\nx = 1  # really?", "\n\nx = 1  # really?"),
        ("%%bash\necho hi\nls", "\n\n"),
        ("%%time\nx = 1", "\nx = 1"),
        ("%%capture out\nimport torch", "\nimport torch"),
        ("msg = ('%d items'\n       % 3)", "msg = ('%d items'\n       % 3)"),
        ('doc = """\n!not a shell line\n%not a magic\n"""', 'doc = """\n!not a shell line\n%not a magic\n"""'),
        ("total = 1 + \\\n    2\n!ls", "total = 1 + \\\n    2\n"),
    ],
)
def test_ipython_syntax_is_blanked_and_python_kept_line_for_line(cell: str, python: str) -> None:
    assert python_lines(cell.splitlines()) == python.split("\n")
