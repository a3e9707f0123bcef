"""Command-line behaviour: configuration, targets, model discovery, devices, the layer table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from archcheck.api import check_file
from archcheck.cli import list_rules
from archcheck.config import parse_shape, parse_size
from helpers import PASSING_MODEL, PASSING_MODEL_PARAMS, run_cli

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
    assert [rule.id for rule in report.rules] == ["max-params", "batchnorm", "dropout", "no-linear"]
    assert not report.rule("max-params").passed and "fewer than 100" in report.rule("max-params").message
    overridden = check_file(str(model), ["--max-params", "1000", "--ignore", "dropout"], isolate=False)
    assert [rule.id for rule in overridden.rules] == ["max-params", "batchnorm", "gap", "no-linear"]
    assert overridden.passed
    assert len(check_file(str(model), ["--no-config"], isolate=False).rules) == 5


def test_config_file_can_be_named(tmp_path: Path) -> None:
    (tmp_path / "course.toml").write_text("[tool.archcheck]\npreset = 'mnist-8k'\nstrict-fc = true\n")
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    report = check_file(str(tmp_path / "model.py"), ["--config", str(tmp_path / "course.toml")], isolate=False)
    assert "under the limit of 8,000" in report.rule("max-params").message
    assert not report.rule("no-linear").passed, "strict-fc forbids the 1×1 head"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("max_param = 5", "unknown key 'max_param'"),
        ("ignore = ['fc']", "unknown rule fc"),
        ("input-shape = '1,x'", "not a list of positive integers"),
        ("preset = 'imagenet'", "unknown preset 'imagenet'"),
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
    (tmp_path / "model.py").write_text(PASSING_MODEL + "\nif __name__ == '__main__':\n    raise SystemExit('training...')\n")
    assert check_file(str(tmp_path / "model.py"), isolate=False).status == "passed"


def test_factory_class_and_instance_targets(tmp_path: Path) -> None:
    (tmp_path / "zoo.py").write_text(
        PASSING_MODEL + "\n\ndef build_model(width=16):\n    return Net(width)\n\n\nmodel = Net(4)\n"
        "\n\nclass Wide(Net):\n    def __init__(self):\n        super().__init__(32)\n"
    )
    assert check_file(f"{tmp_path}/zoo.py::build_model", isolate=False).params.total == 16 * 9 + 32 + 170
    assert check_file(f"{tmp_path}/zoo.py::model", isolate=False).params.total == 36 + 8 + 50
    assert check_file(f"{tmp_path}/zoo.py::Net", ["--model-kwargs", '{"width": 2}'], isolate=False).params.total == 18 + 4 + 30
    several = check_file(f"{tmp_path}/zoo.py", isolate=False)
    assert several.error is not None and "Net, Wide" in several.error.reason


def test_directories_and_globs_of_submissions(tmp_path: Path) -> None:
    classroom = tmp_path / "submissions"
    (classroom / "alice").mkdir(parents=True)
    (classroom / "alice" / "model.py").write_text(PASSING_MODEL)
    (classroom / "bob").mkdir()
    (classroom / "bob" / "net.py").write_text(PASSING_MODEL)
    (classroom / "carol.py").write_text(PASSING_MODEL.replace("nn.Dropout(0.1)", "nn.Dropout(0.0)"))
    result = run_cli("submissions", "--format", "json", "-j", "2", cwd=tmp_path)
    reports = {Path(r["file"]).as_posix(): r for r in json.loads(result.stdout)["reports"]}
    assert reports["submissions/alice/model.py"]["status"] == "passed"
    assert "no such file" in reports["submissions/bob/model.py"]["error"]["reason"]
    assert reports["submissions/carol.py"]["status"] == "failed"
    assert result.returncode == 2
    with_entry = run_cli("submissions/*/*.py", "--format", "csv", cwd=tmp_path)
    assert with_entry.stdout.count("passed") == 2 and with_entry.returncode == 0


# -- tracing devices ------------------------------------------------------------------------------


def test_small_models_run_on_cpu_large_ones_on_meta(tmp_path: Path) -> None:
    (tmp_path / "small.py").write_text(PASSING_MODEL)
    (tmp_path / "large.py").write_text(PASSING_MODEL.replace("def __init__(self, width=8)", "def __init__(self, width=2048)")
                                       .replace("nn.Conv2d(1, width, 3", "nn.Conv2d(2048, width, 3")
                                       + "\n")
    small = check_file(str(tmp_path / "small.py"), isolate=False)
    assert small.device == "cpu" and "small model" in small.device_note
    large = check_file(str(tmp_path / "large.py"), ["--input-shape", "2048,8,8"], isolate=False)
    assert large.device == "meta" and large.device_note is None
    assert large.params.total == 2048 * 2048 * 9 + 2 * 2048 + 2048 * 10 + 10
    forced = check_file(str(tmp_path / "small.py"), ["--device", "meta"], isolate=False)
    assert forced.device == "meta" and verdicts(forced) == verdicts(small)


def test_a_model_that_needs_real_values_falls_back_to_cpu(tmp_path: Path) -> None:
    (tmp_path / "item.py").write_text(PASSING_MODEL.replace("x = self.drop(", "scale = float(x.abs().max().item())\n        x = self.drop("))
    report = check_file(str(tmp_path / "item.py"), ["--device", "meta"], isolate=False)
    assert report.device == "cpu"
    assert report.device_note.startswith("the model cannot run on meta:")
    assert report.passed


# -- the report -----------------------------------------------------------------------------------


def test_layer_table_adds_up_and_shows_unused_layers(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(PASSING_MODEL.replace("self.head = nn.Conv2d(width, 10, 1)",
                                                    "self.head = nn.Conv2d(width, 10, 1)\n        self.spare = nn.BatchNorm2d(3)"))
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
    assert match.group(1).strip() == list_rules(markdown=True).strip(), (
        "README rule reference is stale: regenerate it with `archcheck --list-rules --format markdown`"
    )


def test_output_writes_the_report_to_a_file(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    result = run_cli("model.py", "--format", "junit", "--output", "report.xml", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == ""
    assert '<testcase classname="archcheck.model" name="gap"' in (tmp_path / "report.xml").read_text()
