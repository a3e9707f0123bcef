"""The GitHub Action and the workflows: their shape, and the check step run for real."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION_DIR = ROOT / ".github" / "actions" / "archcheck"
EXAMPLE = ROOT / ".github" / "examples" / "assignment-workflow.yml"
CI = ROOT / ".github" / "workflows" / "ci.yml"
# The console script next to the interpreter running the tests (the project's virtualenv).
BIN = Path(sys.executable).parent

GOOD_MODEL = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1),
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Conv2d(16, 10, 1),
            nn.AdaptiveAvgPool2d(1),
        )

    def forward(self, x):
        return self.features(x).flatten(1)
"""
GOOD_PARAMS = (1 * 8 * 9 + 8) + 2 * 8 + (8 * 16 * 9 + 16) + 2 * 16 + (16 * 10 + 10)

BAD_MODEL = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.AdaptiveAvgPool2d(1),
        )
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))
"""
BAD_PARAMS = (1 * 8 * 9 + 8) + 2 * 8 + (8 * 10 + 10)
LINEAR_LINE = next(i for i, line in enumerate(BAD_MODEL.splitlines(), 1) if "nn.Linear" in line)


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """The `on:` block (YAML 1.1 reads the bare key `on` as true)."""
    return workflow.get("on", workflow.get(True))


def all_steps() -> list[tuple[str, dict[str, Any]]]:
    steps = [("action.yml", step) for step in load(ACTION_DIR / "action.yml")["runs"]["steps"]]
    for path in (EXAMPLE, CI):
        steps += [(path.name, step) for job in load(path)["jobs"].values() for step in job["steps"]]
    return steps


def check_step() -> dict[str, Any]:
    return next(step for step in load(ACTION_DIR / "action.yml")["runs"]["steps"] if step.get("id") == "check")


# --- shape --------------------------------------------------------------------


def test_action_inputs_and_outputs() -> None:
    action = load(ACTION_DIR / "action.yml")
    inputs = action["inputs"]
    assert inputs["model"]["required"] is True
    defaults = {name: spec.get("default") for name, spec in inputs.items() if name != "model"}
    assert defaults == {
        "preset": "mnist",
        "max-params": "",
        "input-shape": "",
        "args": "",
        "python-version": "3.11",
        "requirements": "",
    }
    assert action["outputs"]["passed"]["value"] == "${{ steps.check.outputs.passed }}"
    assert action["outputs"]["params"]["value"] == "${{ steps.check.outputs.params }}"
    assert action["runs"]["using"] == "composite"


def test_no_run_script_interpolates_expressions() -> None:
    """Expressions pasted into a script are the documented script-injection hazard:
    values must reach scripts through `env:`."""
    scripts = [(where, step["run"]) for where, step in all_steps() if "run" in step]
    assert len(scripts) >= 4
    for where, script in scripts:
        assert "${{" not in script, f"{where}: {script}"


def test_action_installs_cpu_torch_and_archcheck_from_its_checkout() -> None:
    steps = load(ACTION_DIR / "action.yml")["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert steps[0]["with"]["python-version"] == "${{ inputs.python-version }}"
    install = next(step for step in steps if "torch" in step.get("run", ""))
    assert (
        "pip install --disable-pip-version-check torch --index-url https://download.pytorch.org/whl/cpu"
        in install["run"]
    )
    source = install["env"]["ARCHCHECK_SOURCE"].replace("${{ github.action_path }}", str(ACTION_DIR))
    assert (Path(source).resolve() / "pyproject.toml").is_file()
    requirements = next(step for step in steps if "ARCHCHECK_REQUIREMENTS" in step.get("env", {}))
    assert requirements["if"] == "inputs.requirements != ''"
    assert steps.index(install) < steps.index(requirements) < steps.index(check_step())


def test_example_workflow_is_safe_for_student_code() -> None:
    workflow = load(EXAMPLE)
    on = triggers(workflow)
    assert set(on) == {"push", "pull_request"}
    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["archcheck"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    check = next(step for step in steps if "archcheck/.github/actions/archcheck@" in step.get("uses", ""))
    assert check["uses"] == "OWNER/archcheck/.github/actions/archcheck@main"
    assert "replace owner" in EXAMPLE.read_text(encoding="utf-8").lower()
    assert check["with"]["model"]


def test_ci_runs_the_project_script() -> None:
    workflow = load(CI)
    assert {"push", "pull_request"} <= set(triggers(workflow)) and "pull_request_target" not in triggers(workflow)
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    setup = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/setup-python@"))
    assert str(setup["with"]["python-version"]) == "3.11"
    assert [step["run"] for step in job["steps"] if "run" in step] == ["bash .ci/run"]


# --- the check step, run ------------------------------------------------------


@dataclass
class StepRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: str
    summary: str

    @property
    def annotations(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("::")]


def evaluate(value: str, inputs: dict[str, str]) -> str:
    """Stand in for the runner's expression evaluation, for the expressions the step may use."""

    def substitute(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression.startswith("inputs."):
            return inputs[expression.removeprefix("inputs.")]
        if expression == "github.action_path":
            return str(ACTION_DIR)
        raise AssertionError(f"the test does not know the expression {expression!r}")

    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", substitute, str(value))


def run_check(workspace: Path, tmp_path: Path, **given: str) -> StepRun:
    """Run the check step as the runner would: `shell: bash` is `bash --noprofile --norc -eo pipefail`."""
    step = check_step()
    assert step["shell"] == "bash"
    specs = load(ACTION_DIR / "action.yml")["inputs"]
    inputs = {name: str(spec.get("default", "")) for name, spec in specs.items()}
    inputs.update({name.replace("_", "-"): value for name, value in given.items()})
    script = tmp_path / "check.sh"
    script.write_text(step["run"], encoding="utf-8")
    outputs, summary = tmp_path / "github_output", tmp_path / "step_summary.md"
    outputs.touch()
    summary.touch()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("GITHUB_", "ARCHCHECK_"))}
    env.update({name: evaluate(value, inputs) for name, value in step["env"].items()})
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        GITHUB_ACTIONS="true",
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_OUTPUT=str(outputs),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return StepRun(
        result.returncode,
        result.stdout,
        result.stderr,
        outputs.read_text(encoding="utf-8"),
        summary.read_text(encoding="utf-8"),
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A student's repository with a passing and a failing model."""
    assert (BIN / "archcheck").exists(), f"archcheck is not installed next to {sys.executable}"
    root = tmp_path / "repo"
    root.mkdir()
    (root / "good.py").write_text(GOOD_MODEL, encoding="utf-8")
    (root / "bad.py").write_text(BAD_MODEL, encoding="utf-8")
    return root


def test_check_step_passes_a_good_model(workspace: Path, tmp_path: Path) -> None:
    run = run_check(workspace, tmp_path, model="good.py", input_shape="1,28,28")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.annotations == ["::notice file=good.py,title=archcheck passed::PASSED: all 5 rules pass"]
    assert run.outputs == f"passed=true\nparams={GOOD_PARAMS}\nstatus=passed\n"
    assert run.summary.startswith("### ✅ archcheck PASSED: all 5 rules pass\n")


def test_check_step_fails_a_model_with_a_linear_layer(workspace: Path, tmp_path: Path) -> None:
    run = run_check(workspace, tmp_path, model="bad.py::Net")
    assert run.returncode == 1, run.stdout + run.stderr
    assert [line.partition("::")[2].partition("::")[0] for line in run.annotations] == [
        f"error file=bad.py,line={LINEAR_LINE},title=archcheck no-linear"
    ]
    assert "fc (Linear)" in run.annotations[0]
    assert "archcheck bad.py (Net): FAILED: " in run.stdout
    assert run.outputs == f"passed=false\nparams={BAD_PARAMS}\nstatus=failed\n"
    assert run.summary.startswith("### ❌ archcheck FAILED: ")
    assert "| ❌ fail |" in run.summary and "no-linear" in run.summary


def test_check_step_checks_several_models_with_options(workspace: Path, tmp_path: Path) -> None:
    run = run_check(workspace, tmp_path, model="*.py", max_params="1000", args="--ignore dropout")
    assert run.returncode == 1, run.stdout + run.stderr
    titles = {re.sub(r",line=\d+", "", line.partition("::")[2].partition("::")[0]) for line in run.annotations}
    assert titles == {"error file=good.py,title=archcheck max-params", "error file=bad.py,title=archcheck no-linear"}
    assert "archcheck good.py (Net): FAILED: 1 of 4 rules fails: max-params" in run.stdout
    assert "title=archcheck dropout" not in run.stdout and "dropout" not in run.summary
    assert run.outputs == f"passed=false\nparams={GOOD_PARAMS}\nstatus=failed\n"
    assert run.summary.startswith("### ❌ archcheck: 2 models: 0 passed, 2 failed, 0 errors\n")


def test_check_step_does_not_execute_its_inputs(workspace: Path, tmp_path: Path) -> None:
    run = run_check(workspace, tmp_path, model='good.py"; touch pwned; echo "$(touch pwned2)', args="; touch pwned3")
    assert run.returncode != 0
    assert not list(workspace.glob("pwned*"))
