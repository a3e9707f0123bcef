"""Submissions run in a child process that cannot see secrets, litter the grader's disk,
corrupt archcheck's output, keep archcheck waiting, or outlive the check."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import PASSING_MODEL, run_cli

from archcheck import processes
from archcheck.config import resolve
from archcheck.processes import Platform
from archcheck.protocol import receive_frame, send_frame
from archcheck.runner import Limits, run_isolated, scrubbed_environment

DEFAULTS = resolve(None)  # the default settings: what a check without flags or config runs with

posix_only = pytest.mark.skipif(processes.WINDOWS, reason="the process-tree tests use POSIX signals")
linux_only = pytest.mark.skipif(not processes.LINUX, reason="reads /proc to see which processes live")
SPINS = "while True:\n    pass\n"


def model_running(code: str) -> str:
    """A passing model whose constructor first runs ``code``: construction always runs,
    whatever archcheck does with a file's top-level code."""
    return PASSING_MODEL.replace("super().__init__()\n", "super().__init__()\n" + textwrap.indent(code, " " * 8), 1)


def test_secrets_are_removed_from_the_environment() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/student",
        "PWD": "/home/student",
        "PYTHONPATH": "/src",
        "GITHUB_WORKSPACE": "/w",
        "GITHUB_TOKEN": "ghs_x",
        "ACTIONS_RUNTIME_TOKEN": "x",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "DB_PASSWORD": "x",
        "npm_config_token": "x",
        "SSH_KEY": "x",
        "GH_PAT": "ghp_x",
        "PAT": "ghp_x",
        "GOOGLE_APPLICATION_CREDENTIALS": "/k.json",
        "NPM_AUTH": "x",
        "SMTP_PASS": "x",
        "GPG_PASSPHRASE": "x",
        "SESSION_COOKIE": "x",
    }
    env = scrubbed_environment(environ, threads=2)
    assert {"PATH", "HOME", "PWD", "PYTHONPATH", "GITHUB_WORKSPACE"} <= env.keys()
    assert (
        not {name for name in environ if name not in ("PATH", "HOME", "PWD", "PYTHONPATH", "GITHUB_WORKSPACE")}
        & env.keys()
    )
    assert env["OMP_NUM_THREADS"] == "2"


def test_the_child_sees_no_secret_and_works_two_levels_inside_a_private_folder(tmp_path: Path) -> None:
    probe = tmp_path / "probe.json"
    (tmp_path / "spy.py").write_text(
        model_running(
            "import json, os, tempfile\n"
            f"json.dump({{'env': sorted(os.environ), 'cwd': os.getcwd(), 'tmp': tempfile.gettempdir()}}, open({str(probe)!r}, 'w'))\n"
            "open('written_by_the_model.txt', 'w').write('x')\n"
        )
    )
    env = {**os.environ, "GITHUB_TOKEN": "ghs_secret", "ACTIONS_RUNTIME_TOKEN": "t", "MY_API_KEY": "k", "GH_PAT": "p"}
    result = run_cli("spy.py", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    seen = json.loads(probe.read_text())
    assert not {"GITHUB_TOKEN", "ACTIONS_RUNTIME_TOKEN", "MY_API_KEY", "GH_PAT"} & set(seen["env"])
    cwd, private = Path(seen["cwd"]), Path(seen["cwd"]).parent.parent
    assert private.name.startswith("archcheck-") and Path(seen["tmp"]).resolve().parent == private.resolve()
    assert not (tmp_path / "written_by_the_model.txt").exists()
    assert not cwd.exists() and not private.exists(), "the private folder is removed afterwards"


MESSY = """\
import os, tempfile
os.makedirs('../data/MNIST', exist_ok=True)
open('../data/MNIST/train.pt', 'w').write('x')
open('../../x', 'w').write('x')
open('checkpoint.pt', 'w').write('x')
tempfile.mkstemp()
"""


@pytest.mark.parametrize("how", ["one model", "two models on the fork server", "a timeout"])
def test_relative_writes_leave_nothing_in_the_temp_folder(tmp_path: Path, how: str) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    (tmp_path / "a.py").write_text(model_running(MESSY))
    (tmp_path / "b.py").write_text(model_running(MESSY))
    (tmp_path / "spins.py").write_text(model_running(MESSY + SPINS))
    args = {
        "one model": ["a.py"],
        "two models on the fork server": ["a.py", "b.py", "-j", "2"],
        "a timeout": ["spins.py", "--timeout", "2"],
    }[how]
    result = run_cli(*args, "--format", "json", cwd=tmp_path, env={**os.environ, "TMPDIR": str(temp)})
    assert result.returncode == (2 if how == "a timeout" else 0), result.stdout + result.stderr
    assert list(temp.iterdir()) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.py", "b.py", "spins.py", "temp"]


def test_prints_do_not_corrupt_json_and_show_with_verbose(tmp_path: Path) -> None:
    noisy = model_running("import sys\nprint('hello from the constructor')\nprint('to stderr', file=sys.stderr)\n")
    noisy = noisy.replace("return self.head", 'print(\'{"status": "passed"} from forward\')\n        return self.head')
    (tmp_path / "noisy.py").write_text(noisy)
    result = run_cli("noisy.py", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert report["status"] == "passed" and result.returncode == 0
    quiet = run_cli("noisy.py", cwd=tmp_path)
    assert "hello from the constructor" not in quiet.stdout + quiet.stderr
    verbose = run_cli("noisy.py", "--verbose", cwd=tmp_path)
    assert "hello from the constructor" in verbose.stdout
    assert "to stderr" in verbose.stdout
    assert "from forward" in verbose.stdout


def test_threads_and_processes_left_behind_do_not_keep_archcheck_waiting(tmp_path: Path) -> None:
    (tmp_path / "lingers.py").write_text(
        model_running(
            "import subprocess, sys, threading, time\n"
            "threading.Thread(target=time.sleep, args=(600,)).start()\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        )
    )
    started = time.monotonic()
    result = run_cli("lingers.py", "--format", "json", cwd=tmp_path, timeout=60)
    assert json.loads(result.stdout)["status"] == "passed"
    assert time.monotonic() - started < 45


def test_a_timeout_ends_the_check_on_time(tmp_path: Path) -> None:
    """The deadline is the one asked for: ``--timeout 2`` does not wait 20 s (or the default 60 s)."""
    (tmp_path / "spins.py").write_text(model_running(SPINS))
    started = time.monotonic()
    result = run_cli("spins.py", "--timeout", "2", "--format", "json", cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["reason"].startswith("timed out after 2s during ")
    assert 2 <= elapsed < 12, f"--timeout 2 took {elapsed:.1f}s"


def test_a_model_that_trains_in_its_constructor_is_stopped_with_the_phase_named(tmp_path: Path) -> None:
    (tmp_path / "trains.py").write_text(
        model_running(
            "import torch\nlayer = torch.nn.Conv2d(1, 8, 3)\nopt = torch.optim.SGD(layer.parameters(), lr=0.1)\n"
            "while True:\n    opt.zero_grad(); layer(torch.randn(8, 1, 28, 28)).sum().backward(); opt.step()\n"
        )
    )
    result = run_cli("trains.py", "--timeout", "15", "--format", "json", cwd=tmp_path)
    report = json.loads(result.stdout)
    assert result.returncode == 2
    assert report["error"]["phase"] == "build"
    assert report["error"]["reason"].startswith("timed out after 15s during construction of the model")


@pytest.mark.parametrize("flag", ["--format json", "--format text"])
def test_exit_codes_for_pass_and_fail(tmp_path: Path, flag: str) -> None:
    (tmp_path / "good.py").write_text(PASSING_MODEL)
    (tmp_path / "fc.py").write_text(
        PASSING_MODEL.replace("self.head(F.adaptive_avg_pool2d(x, 1)).flatten(1)", "self.fc(x.flatten(1))").replace(
            "self.head = nn.Conv2d(width, 10, 1)", "self.fc = nn.Linear(8 * 28 * 28, 10)"
        )
    )
    assert run_cli("good.py", *flag.split(), cwd=tmp_path).returncode == 0
    assert run_cli("fc.py", *flag.split(), cwd=tmp_path).returncode == 1
    assert run_cli("good.py", "fc.py", "missing.py", *flag.split(), "-j", "2", cwd=tmp_path).returncode == 2


# --- nothing the model starts outlives the check -------------------------------------------------


def escapees(pids: Path) -> str:
    """Code that starts three sleeping processes and waits until each has written its pid:
    a plain child, one in a new session, and one in a new session whose parent exits at once."""
    sleeper = (
        "import os, sys, time; open(sys.argv[1] + '.tmp', 'w').write(str(os.getpid())); "
        "os.rename(sys.argv[1] + '.tmp', sys.argv[1]); time.sleep(600)"
    )
    orphaner = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {sleeper!r}, sys.argv[1]], start_new_session=True)"
    return (
        "import os, subprocess, sys, time\n"
        f"pids = {str(pids)!r}\n"
        f"subprocess.Popen([sys.executable, '-c', {sleeper!r}, os.path.join(pids, 'plain')])\n"
        f"subprocess.Popen([sys.executable, '-c', {sleeper!r}, os.path.join(pids, 'session')], start_new_session=True)\n"
        f"subprocess.Popen([sys.executable, '-c', {orphaner!r}, os.path.join(pids, 'orphan')], start_new_session=True)\n"
        "deadline = time.time() + 60\n"
        "while not {'plain', 'session', 'orphan'} <= set(os.listdir(pids)) and time.time() < deadline:\n"
        "    time.sleep(0.05)\n"
    )


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def survivors(pids: Path, wait: float = 3.0) -> list[str]:
    """The processes that wrote their pid into ``pids`` still alive after ``wait`` seconds at most."""
    started = {path.name: int(path.read_text()) for path in pids.iterdir() if path.suffix != ".tmp"}
    assert {"orphan", "plain", "session"} <= started.keys(), "the model did not start its processes"
    deadline = time.monotonic() + wait
    while (left := [name for name, pid in started.items() if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    for name in left:
        os.kill(started[name], signal.SIGKILL)
    return left


@linux_only
@pytest.mark.parametrize("ending", ["passes", "times out", "two models on the fork server"])
def test_processes_started_by_the_model_do_not_outlive_the_check(tmp_path: Path, ending: str) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    (tmp_path / "spawns.py").write_text(model_running(escapees(pids) + (SPINS if ending == "times out" else "")))
    (tmp_path / "good.py").write_text(PASSING_MODEL)
    args = ["spawns.py", "good.py", "-j", "2"] if ending == "two models on the fork server" else ["spawns.py"]
    result = run_cli(*args, "--timeout", "30", "--format", "json", cwd=tmp_path)
    assert result.returncode == (2 if ending == "times out" else 0), result.stdout + result.stderr
    assert survivors(pids) == []


@linux_only
@pytest.mark.parametrize("jobs", [1, 2])
def test_nothing_survives_archcheck_being_killed(tmp_path: Path, jobs: int) -> None:
    """SIGKILL archcheck mid-check: its worker, the processes the model started and the private folder go too."""
    pids, temp = tmp_path / "pids", tmp_path / "temp"
    pids.mkdir()
    temp.mkdir()
    (tmp_path / "spawns.py").write_text(
        model_running(escapees(pids) + f"open({str(pids / 'worker')!r}, 'w').write(str(os.getpid()))\n" + SPINS)
    )
    (tmp_path / "other.py").write_text(model_running(SPINS))
    targets = ["spawns.py", "other.py", "-j", "2"] if jobs == 2 else ["spawns.py"]
    archcheck = subprocess.Popen(
        [sys.executable, "-m", "archcheck", *targets, "--timeout", "120"],
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(temp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while not (pids / "worker").exists():
            assert archcheck.poll() is None and time.monotonic() < deadline, "the model never ran"
            time.sleep(0.05)
    finally:
        archcheck.kill()
        archcheck.wait()
    time.sleep(0.2)  # the worker's pid written in full
    assert survivors(pids, wait=5) == []
    deadline = time.monotonic() + 5
    while list(temp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(temp.iterdir()) == []


@posix_only
def test_a_model_that_kills_the_fork_server_costs_no_hang_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    (tmp_path / "killer.py").write_text(model_running("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"))
    (tmp_path / "good.py").write_text(PASSING_MODEL)
    limits = Limits(timeout=120, max_memory=4 << 30, threads=1)
    work = [
        (DEFAULTS.request(path=str(tmp_path / name), shown_path=name), limits)
        for name in ("killer.py", "good.py", "good.py")
    ]
    started = time.monotonic()
    outcomes = run_isolated(work)
    assert time.monotonic() - started < 60
    for outcome in outcomes:
        assert outcome.error is not None and "\n" not in outcome.error.reason
    assert outcomes[-1].error.reason.startswith("internal error in archcheck: ")
    deadline = time.monotonic() + 5
    while list(temp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(temp.iterdir()) == []


# --- the path Windows takes, tried here -----------------------------------------------------------


@pytest.fixture
def windows_style(monkeypatch: pytest.MonkeyPatch) -> None:
    """No fork server, memory watched by the worker: the checks are spawned one by one, and each
    answers on its standard output, as on Windows (where the job object then holds the memory limit)."""
    monkeypatch.setattr(processes, "PLATFORM", Platform(fork_server=False, memory="watch"))


def test_spawned_checks_in_parallel_answer_on_stdout(tmp_path: Path, windows_style: None) -> None:
    noisy = model_running("import sys\nprint('{\"trace\": \"not the answer\"}')\nprint('{', file=sys.stderr)\n")
    (tmp_path / "a.py").write_text(noisy)
    (tmp_path / "b.py").write_text(PASSING_MODEL.replace("width=8", "width=4"))
    limits = Limits(timeout=120, max_memory=4 << 30, threads=1)
    work = [(DEFAULTS.request(path=str(tmp_path / name), shown_path=name), limits) for name in ("a.py", "b.py")]
    first, second = run_isolated(work, jobs=2)
    assert first.error is None and second.error is None, (first.error, second.error)
    assert (first.trace.params.total, second.trace.params.total) == (178, 4 * 9 + 8 + 50)
    assert '{"trace": "not the answer"}' in first.output


@posix_only  # on Windows the job object limits memory, and the worker watches nothing
def test_the_watched_memory_limit_stops_a_model(tmp_path: Path, windows_style: None) -> None:
    (tmp_path / "hog.py").write_text(
        PASSING_MODEL.replace(
            "def forward(self, x):",
            "def forward(self, x):\n        import time, torch\n        self.hog = torch.ones(1500 << 20, dtype=torch.uint8)\n        time.sleep(5)",
        )
    )
    limits = Limits(timeout=120, max_memory=900 << 20, threads=1)
    request = replace(DEFAULTS.request(path=str(tmp_path / "hog.py")), memory_label="900 MiB")
    (outcome,) = run_isolated([(request, limits)])
    assert outcome.error is not None
    assert (
        outcome.error.reason
        == "exceeded the memory limit of 900 MiB during the forward pass (raise it with --max-memory)"
    )


# --- the pieces -----------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(socket, "send_fds"), reason="the fork server's socket is POSIX-only")
def test_frames_keep_their_bounds_and_carry_file_descriptors() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    read_end, write_end = os.pipe()
    with ours, theirs:
        sender = threading.Thread(
            target=lambda: (send_frame(ours, {"spec": "x" * 1_000_000}, [write_end]), send_frame(ours, {"kill": 7}))
        )
        sender.start()  # a frame larger than the socket's buffer arrives in pieces
        big, fds = receive_frame(theirs, timeout=5, max_fds=2)
        small, none = receive_frame(theirs, timeout=5, max_fds=2)
        sender.join()
        assert big == {"spec": "x" * 1_000_000} and len(fds) == 1 and (small, none) == ({"kill": 7}, [])
        os.write(fds[0], b"through the received descriptor")
        assert os.read(read_end, 100) == b"through the received descriptor"
        with pytest.raises(TimeoutError):
            receive_frame(theirs, timeout=0.05)
        ours.close()
        assert receive_frame(theirs, timeout=5) is None
    for fd in (read_end, write_end, *fds):
        os.close(fd)


@posix_only
@pytest.mark.parametrize("source", ["/proc", "ps"])
def test_descendants_are_found_with_either_process_table(monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    if source == "/proc" and not processes.LINUX:
        pytest.skip("Linux only")
    if source == "ps":
        monkeypatch.setattr(processes, "_has_children_files", lambda: False)
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 30
        while len(found := processes.descendants(child.pid)) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(found) == 1
        processes.stop_tree(child.pid)
        assert child.wait(timeout=10) == -signal.SIGKILL
        assert not alive(found[0]) if processes.LINUX else True
    finally:
        child.kill()
        child.wait()


def test_the_windows_job_limits_have_the_size_windows_expects() -> None:
    """SetInformationJobObject rejects a JOBOBJECT_EXTENDED_LIMIT_INFORMATION of the wrong size."""
    if sys.maxsize <= 2**32:
        pytest.skip("the sizes below are those of 64-bit Windows")
    import ctypes

    assert ctypes.sizeof(processes._BasicLimits) == 64
    assert ctypes.sizeof(processes._ExtendedLimits) == 144
