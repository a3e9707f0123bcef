"""Command-line behaviour: configuration, targets, model discovery, devices, the layer table."""

from __future__ import annotations

import ast
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import MNIST_RULES, PASSING_MODEL, PASSING_MODEL_PARAMS, run_cli

from archcheck.api import check_file
from archcheck.config import PRESETS, parse_shape, parse_size
from archcheck.render.rule_reference import list_presets, list_rules
from archcheck.rules import RULE_IDS

REPO = Path(__file__).resolve().parent.parent


def verdicts(report) -> dict[str, bool]:
    return {rule.id: rule.passed for rule in report.rules}


# -- configuration --------------------------------------------------------------------------------


def test_nearest_pyproject_configures_and_flags_override(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.archcheck]\nmax-params = 100\nignore = ["gap"]\n')
    (tmp_path / "hw").mkdir()
    model = tmp_path / "hw" / "model.py"
    model.write_text(PASSING_MODEL)
    report = check_file(str(model), isolate=False)
    assert [rule.id for rule in report.rules] == [rule for rule in MNIST_RULES if rule != "gap"]
    assert not report.rule("max-params").passed and "fewer than 100" in report.rule("max-params").message
    overridden = check_file(str(model), ["--max-params", "1000", "--ignore", "dropout"], isolate=False)
    assert [rule.id for rule in overridden.rules] == [rule for rule in MNIST_RULES if rule != "dropout"]
    assert overridden.passed
    assert [rule.id for rule in check_file(str(model), ["--no-config"], isolate=False).rules] == list(MNIST_RULES)


def test_config_file_can_be_named(tmp_path: Path) -> None:
    (tmp_path / "course.toml").write_text("[tool.archcheck]\npreset = 'mnist-8k'\nstrict-fc = true\n")
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    report = check_file(str(tmp_path / "model.py"), ["--config", str(tmp_path / "course.toml")], isolate=False)
    assert "under the limit of 8,000" in report.rule("max-params").message
    assert not report.rule("no-linear").passed, "strict-fc forbids the 1×1 head"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("max_param = 5", "unknown setting 'max_param'"),
        ("ignore = ['fc']", "unknown rule fc"),
        ("input-shape = '1,x'", "expected positive whole numbers like 1,28,28"),
        ("preset = 'imagenet'", 'preset = "imagenet" in'),
    ],
)
def test_bad_config_is_one_line_naming_the_file_and_key(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.archcheck]\n{table}\n")
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    report = check_file(str(tmp_path / "model.py"), isolate=False)
    assert report.error is not None and report.error.phase == "config"
    assert str(tmp_path / "pyproject.toml") in report.error.reason
    assert message in report.error.reason


def test_value_parsers() -> None:
    assert parse_shape("3,32,32") == parse_shape("3x32x32") == parse_shape([3, 32, 32]) == (3, 32, 32)
    assert parse_size("4GiB") == 4 << 30 and parse_size("512M") == 512 << 20 and parse_size("1000") == 1000
    for bad in ("0,28,28", "", "a"):
        with pytest.raises(ValueError):
            parse_shape(bad)


# -- targets and discovery ------------------------------------------------------------------------


def test_a_multi_file_submission_imports_its_siblings_and_package(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("")
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "__init__.py").write_text("")
    (tmp_path / "nets" / "blocks.py").write_text(
        "import torch.nn as nn\n\n\nclass ConvBlock(nn.Sequential):\n"
        "    def __init__(self, i, o):\n        super().__init__(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())\n"
    )
    (tmp_path / "nets" / "hyper.py").write_text("DROPOUT = 0.1\n")
    (tmp_path / "nets" / "model.py").write_text(
        "import torch.nn as nn\nfrom hyper import DROPOUT\nfrom nets.blocks import ConvBlock\n\n\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.body = nn.Sequential(ConvBlock(1, 8), nn.Dropout(DROPOUT), nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 10, 1))\n\n"
        "    def forward(self, x):\n        return self.body(x).flatten(1)\n"
    )
    report = check_file(str(tmp_path / "nets" / "model.py"), isolate=False)
    assert report.status == "passed", report.error
    conv = next(layer for layer in report.layers if layer.type == "Conv2d")
    assert conv.path == "body.0.0"


def test_main_block_does_not_run(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(
        PASSING_MODEL + "\nif __name__ == '__main__':\n    raise SystemExit('training...')\n"
    )
    assert check_file(str(tmp_path / "model.py"), isolate=False).status == "passed"


def test_factory_class_and_instance_targets(tmp_path: Path) -> None:
    (tmp_path / "zoo.py").write_text(
        PASSING_MODEL + "\n\ndef build_model(width=16):\n    return Net(width)\n\n\nmodel = Net(4)\n"
        "\n\nclass Wide(Net):\n    def __init__(self):\n        super().__init__(32)\n"
    )
    assert check_file(f"{tmp_path}/zoo.py::build_model", isolate=False).params.total == 16 * 9 + 32 + 170
    assert check_file(f"{tmp_path}/zoo.py::model", isolate=False).params.total == 36 + 8 + 50
    assert (
        check_file(f"{tmp_path}/zoo.py::Net", ["--model-kwargs", '{"width": 2}'], isolate=False).params.total
        == 18 + 4 + 30
    )
    several = check_file(f"{tmp_path}/zoo.py", isolate=False)
    assert several.error is not None and all(f"zoo.py::{name}" in several.error.reason for name in ("Net", "Wide"))


def test_directories_and_globs_of_submissions(tmp_path: Path) -> None:
    classroom = tmp_path / "submissions"
    (classroom / "alice").mkdir(parents=True)
    (classroom / "alice" / "model.py").write_text(PASSING_MODEL)
    (classroom / "bob").mkdir()
    (classroom / "bob" / "net.py").write_text(PASSING_MODEL)
    (classroom / "bob" / "other.py").write_text(PASSING_MODEL)
    (classroom / "carol.py").write_text(PASSING_MODEL.replace("nn.Dropout(0.1)", "nn.Dropout(0.0)"))
    result = run_cli("submissions", "--format", "json", "-j", "2", cwd=tmp_path)
    reports = {Path(r["file"]).as_posix(): r for r in json.loads(result.stdout)["reports"]}
    assert reports["submissions/alice/model.py"]["status"] == "passed"
    assert "is a directory without a model.py" in reports["submissions/bob"]["error"]["reason"]
    assert reports["submissions/carol.py"]["status"] == "failed"
    assert result.returncode == 2
    with_entry = run_cli("submissions/*/*.py", "--format", "csv", cwd=tmp_path)
    assert with_entry.stdout.count("passed") == 3 and with_entry.returncode == 0


# -- tracing devices ------------------------------------------------------------------------------


def test_small_models_run_on_cpu_large_ones_on_meta(tmp_path: Path) -> None:
    (tmp_path / "small.py").write_text(PASSING_MODEL)
    (tmp_path / "large.py").write_text(
        PASSING_MODEL.replace("def __init__(self, width=8)", "def __init__(self, width=2048)").replace(
            "nn.Conv2d(1, width, 3", "nn.Conv2d(2048, width, 3"
        )
        + "\n"
    )
    small = check_file(str(tmp_path / "small.py"), isolate=False)
    assert small.device == "cpu" and "small model" in small.device_note
    large = check_file(str(tmp_path / "large.py"), ["--input-shape", "2048,8,8"], isolate=False)
    assert large.device == "meta" and large.device_note is None
    assert large.params.total == 2048 * 2048 * 9 + 2 * 2048 + 2048 * 10 + 10
    forced = check_file(str(tmp_path / "small.py"), ["--device", "meta"], isolate=False)
    assert forced.device == "meta" and verdicts(forced) == verdicts(small)


def test_a_model_that_needs_real_values_falls_back_to_cpu(tmp_path: Path) -> None:
    (tmp_path / "item.py").write_text(
        PASSING_MODEL.replace("x = self.drop(", "scale = float(x.abs().max().item())\n        x = self.drop(")
    )
    report = check_file(str(tmp_path / "item.py"), ["--device", "meta"], isolate=False)
    assert report.device == "cpu"
    assert report.device_note.startswith("the model cannot run on meta:")
    assert report.passed


# -- the report -----------------------------------------------------------------------------------


def test_layer_table_adds_up_and_shows_unused_layers(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(
        PASSING_MODEL.replace(
            "self.head = nn.Conv2d(width, 10, 1)",
            "self.head = nn.Conv2d(width, 10, 1)\n        self.spare = nn.BatchNorm2d(3)",
        )
    )
    report = check_file(str(tmp_path / "model.py"), isolate=False)
    assert sum(layer.params for layer in report.layers) == report.params.total == PASSING_MODEL_PARAMS + 6
    spare = next(layer for layer in report.layers if layer.path == "spare")
    assert not spare.called and spare.output_shape is None
    head = next(layer for layer in report.layers if layer.path == "head")
    assert head.output_shape == (2, 10, 1, 1) and head.depth == 1


def test_readme_rule_reference_is_generated_from_the_rules() -> None:
    readme = (REPO / "README.md").read_text()
    match = re.search(r"<!-- rules:start -->\n(.*)<!-- rules:end -->", readme, re.DOTALL)
    assert match, "README.md lacks the generated rule reference"
    assert match.group(1).strip() == list_rules("markdown").strip(), (
        "README rule reference is stale: regenerate it with `archcheck --list-rules --format markdown`"
    )


def test_readme_preset_sections_are_generated_from_the_presets() -> None:
    readme = (REPO / "README.md").read_text()
    match = re.search(r"<!-- presets:start -->\n(.*)<!-- presets:end -->", readme, re.DOTALL)
    assert match, "README.md lacks the generated preset sections"
    assert match.group(1).strip() == list_presets("markdown").strip(), (
        "README presets are stale: regenerate them with `archcheck --list-presets --format markdown`"
    )


def test_output_writes_the_report_to_a_file(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    result = run_cli("model.py", "--format", "junit", "--output", "report.xml", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == ""
    assert '<testcase classname="archcheck.model" name="gap"' in (tmp_path / "report.xml").read_text()


# -- listings ---------------------------------------------------------------------------------------


def test_list_rules_and_presets_in_every_listing_format(tmp_path: Path) -> None:
    rules = run_cli("--list-rules", "--format", "json", cwd=tmp_path)
    assert rules.returncode == 0 and [rule["id"] for rule in json.loads(rules.stdout)] == list(RULE_IDS)
    assert all(rule["why"] and rule["example"] for rule in json.loads(rules.stdout))
    presets = run_cli("--list-presets", "--format", "json", cwd=tmp_path)
    listed = {preset["name"]: preset for preset in json.loads(presets.stdout)}
    assert list(listed) == list(PRESETS)
    assert (
        listed["cifar10"]["settings"]["min-receptive-field"] == 44
        and listed["mnist-8k"]["settings"]["max-params"] == 8000
    )
    text = run_cli("--list-presets", cwd=tmp_path)
    assert text.stdout.startswith("mnist: ") and "  input-shape = 3,32,32\n" in text.stdout
    wrong = run_cli("--list-rules", "--format", "csv", cwd=tmp_path)
    assert wrong.returncode == 2 and wrong.stderr.startswith(
        "archcheck: error: --list-rules comes as text, markdown, json"
    )


# -- a reader that goes away ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "model", "code"),
    [
        ("text", PASSING_MODEL, 0),
        ("github", PASSING_MODEL, 0),
        ("text", PASSING_MODEL.replace("nn.Dropout(0.1)", "nn.Identity()"), 1),
    ],
)
def test_a_closed_pipe_keeps_the_exit_code_and_says_nothing(tmp_path: Path, fmt: str, model: str, code: int) -> None:
    """``archcheck model.py | head -1``: the reader is gone before archcheck writes."""
    (tmp_path / "model.py").write_text(model)
    process = subprocess.Popen(
        [sys.executable, "-m", "archcheck", "model.py", "--format", fmt],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=300) == code and stderr == ""


def test_head_sees_the_first_line_and_the_verdict_stands(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    script = f"set -o pipefail; {shlex.quote(sys.executable)} -m archcheck model.py --format github | head -1"
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("::notice file=model.py")


# -- the command line's own errors ------------------------------------------------------------------


def test_an_input_shape_without_channels_says_what_is_expected(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    result = run_cli("model.py", "--input-shape", "28,28", "--no-config", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "archcheck: cannot check model.py: --input-shape 28,28: the mnist preset takes 3 numbers,"
        " C,H,W like 1,28,28 (without the batch)\n"
    )


def test_cli_api_and_plugin_modules_do_not_import_torch() -> None:
    code = (
        "import sys, archcheck.cli, archcheck.api, archcheck.arguments, archcheck.config, archcheck.pytest_plugin;"
        " import archcheck.render.rule_reference; print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_only_the_entry_point_imports_the_command_line() -> None:
    """The library sits below the command line: api, arguments and the plugin never import archcheck.cli."""
    importers = []
    for path in (REPO / "archcheck").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "archcheck.cli":
                importers.append(path.relative_to(REPO).as_posix())
    assert importers == ["archcheck/__main__.py"]
