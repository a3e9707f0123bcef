"""Submissions run in a child process that cannot see secrets, litter the grader's directory,
corrupt archcheck's output, or keep archcheck waiting."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from archcheck.runner import scrubbed_environment
from helpers import PASSING_MODEL, run_cli


def test_secrets_are_removed_from_the_environment() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/student",
        "GITHUB_TOKEN": "ghs_x",
        "ACTIONS_RUNTIME_TOKEN": "x",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "DB_PASSWORD": "x",
        "npm_config_token": "x",
        "SSH_KEY": "x",
        "GITHUB_WORKSPACE": "/w",
    }
    env = scrubbed_environment(environ, threads=2)
    assert {"PATH", "HOME", "GITHUB_WORKSPACE"} <= env.keys()
    assert not {"GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL", "AWS_SECRET_ACCESS_KEY",
                "DB_PASSWORD", "npm_config_token", "SSH_KEY"} & env.keys()
    assert env["OMP_NUM_THREADS"] == "2"


def test_the_child_sees_no_secret_and_works_in_a_temporary_directory(tmp_path: Path) -> None:
    probe = tmp_path / "probe.json"
    (tmp_path / "spy.py").write_text(
        "import json, os\n"
        f"json.dump({{'env': sorted(os.environ), 'cwd': os.getcwd()}}, open({str(probe)!r}, 'w'))\n"
        "open('written_by_the_model.txt', 'w').write('x')\n" + PASSING_MODEL
    )
    env = {**os.environ, "GITHUB_TOKEN": "ghs_secret", "ACTIONS_RUNTIME_TOKEN": "t", "MY_API_KEY": "k"}
    result = run_cli("spy.py", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    seen = json.loads(probe.read_text())
    assert not {"GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "MY_API_KEY"} & set(seen["env"])
    assert Path(seen["cwd"]).resolve() != tmp_path.resolve()
    assert not (tmp_path / "written_by_the_model.txt").exists()
    assert not Path(seen["cwd"]).exists(), "the temporary directory is removed afterwards"


def test_prints_do_not_corrupt_json_and_show_with_verbose(tmp_path: Path) -> None:
    noisy = PASSING_MODEL.replace("return self.head", "print('{\"status\": \"passed\"} from forward')\n        return self.head")
    (tmp_path / "noisy.py").write_text("import sys\nprint('hello from import')\nprint('to stderr', file=sys.stderr)\n" + noisy)
    result = run_cli("noisy.py", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert report["status"] == "passed" and result.returncode == 0
    quiet = run_cli("noisy.py", cwd=tmp_path)
    assert "hello from import" not in quiet.stdout + quiet.stderr
    verbose = run_cli("noisy.py", "--verbose", cwd=tmp_path)
    assert "hello from import" in verbose.stdout
    assert "to stderr" in verbose.stdout
    assert "from forward" in verbose.stdout


def test_threads_and_processes_left_behind_do_not_keep_archcheck_waiting(tmp_path: Path) -> None:
    (tmp_path / "lingers.py").write_text(
        "import subprocess, sys, threading, time\n"
        "threading.Thread(target=time.sleep, args=(600,)).start()\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n" + PASSING_MODEL
    )
    started = time.monotonic()
    result = run_cli("lingers.py", "--format", "json", cwd=tmp_path, timeout=60)
    assert json.loads(result.stdout)["status"] == "passed"
    assert time.monotonic() - started < 45


def test_a_model_that_trains_at_import_is_stopped_with_the_phase_named(tmp_path: Path) -> None:
    (tmp_path / "trains.py").write_text(
        PASSING_MODEL + "\nimport torch\nmodel = Net()\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "while True:\n    opt.zero_grad(); model(torch.randn(8, 1, 28, 28)).sum().backward(); opt.step()\n"
    )
    result = run_cli("trains.py", "--timeout", "5", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert result.returncode == 2
    assert report["error"]["phase"] == "import"
    assert report["error"]["reason"].startswith("timed out after 5s during import of the model file")


@pytest.mark.parametrize("flag", ["--format json", "--format text"])
def test_exit_codes_for_pass_and_fail(tmp_path: Path, flag: str) -> None:
    (tmp_path / "good.py").write_text(PASSING_MODEL)
    (tmp_path / "fc.py").write_text(PASSING_MODEL.replace("self.head(F.adaptive_avg_pool2d(x, 1)).flatten(1)",
                                                 "self.fc(x.flatten(1))").replace("self.head = nn.Conv2d(width, 10, 1)",
                                                                                  "self.fc = nn.Linear(8 * 28 * 28, 10)"))
    assert run_cli("good.py", *flag.split(), cwd=tmp_path).returncode == 0
    assert run_cli("fc.py", *flag.split(), cwd=tmp_path).returncode == 1
    assert run_cli("good.py", "fc.py", "missing.py", *flag.split(), "-j", "2", cwd=tmp_path).returncode == 2
