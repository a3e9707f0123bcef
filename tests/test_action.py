"""The GitHub Action and the workflows: their shape, and the check step run for real."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import PASSING_MODEL, PASSING_MODEL_PARAMS

from archcheck.presets import BUILTIN_PRESETS

ROOT = Path(__file__).resolve().parent.parent
ACTION_DIR = ROOT / ".github" / "actions" / "archcheck"
EXAMPLE = ROOT / ".github" / "examples" / "assignment-workflow.yml"
CI = ROOT / ".github" / "workflows" / "ci.yml"
# The console script next to the interpreter running the tests (the project's virtualenv).
BIN = Path(sys.executable).parent

GOOD_MODEL = PASSING_MODEL
GOOD_PARAMS = PASSING_MODEL_PARAMS
BAD_MODEL = PASSING_MODEL.replace("self.head = nn.Conv2d(width, 10, 1)", "self.fc = nn.Linear(width, 10)").replace(
    "return self.head(F.adaptive_avg_pool2d(x, 1)).flatten(1)", "return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))"
)
BAD_PARAMS = 72 + 16 + (8 * 10 + 10)
LINEAR_LINE = next(i for i, line in enumerate(BAD_MODEL.splitlines(), 1) if "nn.Linear" in line)
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
MNIST_RULES = len(BUILTIN_PRESETS["mnist"]["rules"])


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


def action_step(*, id: str | None = None, name: str | None = None) -> dict[str, Any]:
    steps = load(ACTION_DIR / "action.yml")["runs"]["steps"]
    return next(step for step in steps if (id and step.get("id") == id) or (name and step.get("name") == name))


def check_step() -> dict[str, Any]:
    return action_step(id="check")


INSTALL = "Install archcheck (with a CPU build of torch)"
# The action's steps run as on the Linux runners students use; .ci/run runs under Git Bash on Windows CI.
runs_bash = pytest.mark.skipif(sys.platform == "win32", reason="runs the step's bash script with POSIX paths")


# --- shape --------------------------------------------------------------------


def test_action_inputs_and_outputs() -> None:
    action = load(ACTION_DIR / "action.yml")
    inputs = action["inputs"]
    assert inputs["model"]["required"] is True
    defaults = {name: spec.get("default") for name, spec in inputs.items() if name != "model"}
    assert defaults == {
        "preset": "",
        "max-params": "",
        "input-shape": "",
        "args": "",
        "python-version": "3.11",
        "requirements": "",
        "torchvision": "true",
        "torch-version": "",
    }
    assert {name: spec["value"] for name, spec in action["outputs"].items()} == {
        name: f"${{{{ steps.check.outputs.{name} }}}}" for name in ("passed", "params", "status")
    }
    assert action["runs"]["using"] == "composite"


def test_no_run_script_interpolates_expressions() -> None:
    """Expressions pasted into a script are the documented script-injection hazard:
    values must reach scripts through `env:`."""
    scripts = [(where, step["run"]) for where, step in all_steps() if "run" in step]
    assert len(scripts) >= 6
    for where, script in scripts:
        assert "${{" not in script, f"{where}: {script}"


@runs_bash
def test_pip_downloads_are_cached_per_system_python_and_torch(tmp_path: Path) -> None:
    steps = load(ACTION_DIR / "action.yml")["runs"]["steps"]
    locate = action_step(id="pip-cache")
    cache = next(step for step in steps if step.get("uses", "").startswith("actions/cache@"))
    assert steps[0]["uses"].startswith("actions/setup-python@")
    assert steps.index(locate) < steps.index(cache) < steps.index(action_step(name=INSTALL))
    assert cache["with"]["path"] == "${{ steps.pip-cache.outputs.dir }}"
    for part in ("runner.os", "inputs.python-version", "inputs.torch-version", "inputs.torchvision"):
        assert part in cache["with"]["key"]
    located = run_step(locate, tmp_path, tmp_path)
    assert located.returncode == 0, located.stderr
    (line,) = located.outputs.splitlines()
    assert line.startswith("dir=") and Path(line.removeprefix("dir=")).is_absolute()


def pip_calls(tmp_path: Path, **given: str) -> tuple[StepRun, list[list[str]]]:
    """Run the install step with a `python` that only records how it was called."""
    stubs, log = tmp_path / "stubs", tmp_path / "calls.log"
    stubs.mkdir()
    python = stubs / "python"
    python.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> "$CALLS"\n', encoding="utf-8")
    python.chmod(0o755)
    run = run_step(action_step(name=INSTALL), tmp_path, tmp_path, path=stubs, env={"CALLS": str(log)}, **given)
    calls = [line.split(" ") for line in log.read_text().splitlines()] if log.exists() else []
    return run, calls


@runs_bash
@pytest.mark.parametrize(
    ("given", "torch"),
    [
        ({}, ["torch", "torchvision"]),
        ({"torchvision": "false"}, ["torch"]),
        ({"torch_version": "2.5.1"}, ["torch==2.5.1", "torchvision"]),
    ],
)
def test_the_action_installs_cpu_torch_torchvision_and_archcheck(
    tmp_path: Path, given: dict[str, str], torch: list[str]
) -> None:
    run, calls = pip_calls(tmp_path, **given)
    assert run.returncode == 0, run.stdout + run.stderr
    install = ["-m", "pip", "install", "--disable-pip-version-check"]
    assert calls[0] == [*install, *torch, "--index-url", CPU_INDEX]
    assert calls[1][:-1] == install and (Path(calls[1][-1]).resolve() / "pyproject.toml").is_file()
    assert len(calls) == 2


@runs_bash
def test_a_torchvision_input_other_than_true_or_false_stops_the_install(tmp_path: Path) -> None:
    run, calls = pip_calls(tmp_path, torchvision="yes")
    assert run.returncode == 2 and calls == []
    assert run.annotations == ["::error title=archcheck::the torchvision input must be true or false"]


def test_the_submissions_requirements_are_installed_after_archcheck() -> None:
    steps = load(ACTION_DIR / "action.yml")["runs"]["steps"]
    requirements = next(step for step in steps if "ARCHCHECK_REQUIREMENTS" in step.get("env", {}))
    assert requirements["if"] == "inputs.requirements != ''"
    assert f"--extra-index-url {CPU_INDEX}" in requirements["run"]
    assert steps.index(action_step(name=INSTALL)) < steps.index(requirements) < steps.index(check_step())


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


# --- this repository's CI -----------------------------------------------------


def lower_bound(requirement: str) -> str:
    """'torch>=2.2,<3' -> '2.2', from pyproject.toml."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(rf'"{requirement}>=([0-9.]+)', text)
    assert match, f"pyproject.toml declares no lower bound for {requirement}"
    return match.group(1)


def test_ci_tests_every_desktop_system_with_the_oldest_and_newest_torch() -> None:
    workflow = load(CI)
    assert {"push", "pull_request"} <= set(triggers(workflow)) and "pull_request_target" not in triggers(workflow)
    assert workflow["permissions"] == {"contents": "read"}
    job = workflow["jobs"]["test"]
    assert job["timeout-minutes"] <= 15
    matrix = job["strategy"]["matrix"]
    assert set(matrix["os"]) == {"ubuntu-latest", "macos-latest", "windows-latest"}
    assert set(matrix["python"]) == {"3.10", "3.13"} and set(matrix["torch"]) == {"oldest", "newest"}
    assert matrix["exclude"] == [{"python": "3.13", "torch": "oldest"}]
    packages = {entry["torch"]: entry["packages"].split() for entry in matrix["include"]}
    assert packages["newest"] == ["torch", "torchvision"]
    oldest = dict(package.split("==") for package in packages["oldest"] if "==" in package)
    for name in ("torch", "torchvision"):  # the oldest CI runs is the lower bound users are promised
        assert oldest[name].startswith(lower_bound(name) + "."), (name, oldest[name], lower_bound(name))
    setup = next(step for step in job["steps"] if step.get("uses", "").startswith("actions/setup-python@"))
    assert setup["with"]["python-version"] == "${{ matrix.python }}" and setup["with"]["cache"] == "pip"
    (run,) = [step for step in job["steps"] if "run" in step]
    assert run["run"] == "bash .ci/run"
    assert run["env"] == {"ARCHCHECK_TORCH_INDEX": CPU_INDEX, "ARCHCHECK_TORCH": "${{ matrix.packages }}"}


def test_ci_runs_the_action_itself_and_checks_its_outputs() -> None:
    job = load(CI)["jobs"]["action"]
    assert job["timeout-minutes"] <= 15
    uses = [step for step in job["steps"] if step.get("uses") == "./.github/actions/archcheck"]
    assert len(uses) >= 2
    for step in uses:  # the example models are this repository's own
        assert (ROOT / step["with"]["model"]).is_file()
    ids = {step["id"] for step in uses}
    assert {"passing", "failing"} <= ids
    verdict = job["steps"][-1]
    assert all(f"steps.{id}.outputs.status" in str(verdict["env"]) for id in ids)
    assert all(step.get("continue-on-error") for step in uses if step["id"] != "passing")


@runs_bash
@pytest.mark.parametrize("index", [None, CPU_INDEX])
def test_ci_script_installs_lints_type_checks_and_tests(tmp_path: Path, index: str | None) -> None:
    """`.ci/run` on a clean clone, with every command it runs replaced by one that records the call."""
    clone = tmp_path / "clone"
    (clone / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", clone / ".ci" / "run")
    stubs, log = tmp_path / "stubs", tmp_path / "calls.log"
    stubs.mkdir()
    recorder = '#!/usr/bin/env bash\nprintf "%s %s\\n" "$(basename "$0")" "$*" >> "$CALLS"\n'
    venv = (
        'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin"; echo "PATH=\\"$STUBS:\\$PATH\\"" > "$3/bin/activate"; fi\n'
    )
    for name in ("python3", "python", "ruff", "mypy", "pytest"):
        (stubs / name).write_text(recorder + (venv if name == "python3" else ""), encoding="utf-8")
        (stubs / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}", "CALLS": str(log), "STUBS": str(stubs)}
    env.pop("ARCHCHECK_TORCH_INDEX", None)
    if index:
        env.update(ARCHCHECK_TORCH_INDEX=index, ARCHCHECK_TORCH="torch==2.2.2 torchvision==0.17.2 numpy<2")
    result = subprocess.run(["bash", str(clone / ".ci" / "run")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    torch = [f"python -m pip install torch==2.2.2 torchvision==0.17.2 numpy<2 --index-url {index}"] if index else []
    assert [line.rstrip() for line in log.read_text().splitlines()] == [
        "python3 -m venv .venv",
        *torch,
        "python -m pip install -e .[train,dev]",
        "ruff check .",
        "ruff format --check .",
        "mypy archcheck reference_model",
        "pytest",  # the README's test command, as it is
    ]


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


def run_step(
    step: dict[str, Any],
    workspace: Path,
    tmp_path: Path,
    path: Path = BIN,
    env: dict[str, str] | None = None,
    **given: str,
) -> StepRun:
    """Run one of the action's steps as the runner would: `shell: bash` is `bash --noprofile --norc -eo pipefail`,
    inputs reach it through `env:`, and ``path`` comes first on PATH (the set-up Python)."""
    assert step["shell"] == "bash"
    specs = load(ACTION_DIR / "action.yml")["inputs"]
    inputs = {name: str(spec.get("default", "")) for name, spec in specs.items()}
    inputs.update({name.replace("_", "-"): value for name, value in given.items()})
    script = tmp_path / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    outputs, summary = tmp_path / "github_output", tmp_path / "step_summary.md"
    outputs.write_text("")
    summary.write_text("")
    environ = {name: value for name, value in os.environ.items() if not name.startswith(("GITHUB_", "ARCHCHECK_"))}
    environ.update({name: evaluate(value, inputs) for name, value in step.get("env", {}).items()})
    environ.update(
        env or {},
        PATH=f"{path}{os.pathsep}{environ.get('PATH', '')}",
        GITHUB_ACTIONS="true",
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_OUTPUT=str(outputs),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=workspace,
        env=environ,
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


def run_check(workspace: Path, tmp_path: Path, **given: str) -> StepRun:
    return run_step(check_step(), workspace, tmp_path, **given)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A student's repository with a passing and a failing model."""
    if sys.platform == "win32":
        pytest.skip("runs the action's bash check step with POSIX paths")
    assert (BIN / "archcheck").exists(), f"archcheck is not installed next to {sys.executable}"
    root = tmp_path / "repo"
    root.mkdir()
    (root / "good.py").write_text(GOOD_MODEL, encoding="utf-8")
    (root / "bad.py").write_text(BAD_MODEL, encoding="utf-8")
    return root


def test_check_step_passes_a_good_model(workspace: Path, tmp_path: Path) -> None:
    run = run_check(workspace, tmp_path, model="good.py", input_shape="1,28,28")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.annotations == [f"::notice file=good.py,title=archcheck passed::PASSED: all {MNIST_RULES} rules pass"]
    assert run.outputs == f"passed=true\nparams={GOOD_PARAMS}\nstatus=passed\n"
    assert run.summary.startswith(f"### ✅ archcheck PASSED: all {MNIST_RULES} rules pass\n")


def test_without_a_preset_input_the_repositorys_config_picks_it(workspace: Path, tmp_path: Path) -> None:
    """The action passes --preset only when asked, so [tool.archcheck] preset = ... is honoured."""
    (workspace / "pyproject.toml").write_text('[tool.archcheck]\npreset = "mnist-8k"\n', encoding="utf-8")
    run = run_check(workspace, tmp_path, model="good.py")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "mnist-8k" in run.summary
    asked = run_check(workspace, tmp_path, model="good.py", preset="cifar10")
    assert asked.returncode == 2 and "cifar10" in asked.stdout + asked.stderr  # a grey image for a colour preset


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
    run = run_check(workspace, tmp_path, model="*.py", max_params="100", args="--ignore dropout")
    assert run.returncode == 1, run.stdout + run.stderr
    titles = {re.sub(r",line=\d+", "", line.partition("::")[2].partition("::")[0]) for line in run.annotations}
    assert titles == {
        "error file=good.py,title=archcheck max-params",
        "error file=bad.py,title=archcheck max-params",
        "error file=bad.py,title=archcheck no-linear",
    }
    assert f"archcheck good.py (Net): FAILED: 1 of {MNIST_RULES - 1} rules fails: max-params" in run.stdout
    assert "title=archcheck dropout" not in run.stdout and "dropout" not in run.summary
    assert run.outputs == f"passed=false\nparams={GOOD_PARAMS}\nstatus=failed\n"
    assert run.summary.startswith("### ❌ archcheck: 2 models: 0 passed, 2 failed, 0 errors\n")


def test_check_step_does_not_execute_its_inputs(workspace: Path, tmp_path: Path) -> None:
    run = run_check(workspace, tmp_path, model='good.py"; touch pwned; echo "$(touch pwned2)', args="; touch pwned3")
    assert run.returncode != 0
    assert not list(workspace.glob("pwned*"))


def test_args_cannot_take_the_report_away_from_the_annotations(workspace: Path, tmp_path: Path) -> None:
    run = run_check(workspace, tmp_path, model="bad.py", args="--format json --output=report.json --form csv -v")
    assert run.returncode == 1, run.stdout + run.stderr
    warnings = [line for line in run.annotations if line.startswith("::warning")]
    assert warnings == [
        f"::warning title=archcheck::the action reports as annotations: ignoring {arg} in args"
        for arg in ("--format", "--output=report.json", "--form")
    ]
    assert any(line.startswith(f"::error file=bad.py,line={LINEAR_LINE},") for line in run.annotations)
    assert run.outputs == f"passed=false\nparams={BAD_PARAMS}\nstatus=failed\n"
    assert sorted(path.name for path in workspace.iterdir()) == ["bad.py", "good.py"]


@pytest.mark.parametrize(
    ("given", "named"),
    [({"max_params": "twenty-thousand"}, "--max-params"), ({"args": "--no-such-flag"}, "--no-such-flag")],
)
def test_a_usage_error_sets_status_error_and_fails_the_step(
    workspace: Path, tmp_path: Path, given: dict[str, str], named: str
) -> None:
    run = run_check(workspace, tmp_path, model="good.py", **given)
    assert run.returncode == 2
    assert run.outputs == "passed=false\nparams=\nstatus=error\n"
    (annotation,) = run.annotations
    message = annotation.removeprefix("::error title=archcheck could not run::")
    assert message.startswith("archcheck: error: ") and named in message
    assert message in run.stderr.splitlines()  # archcheck's own line, also in the log
