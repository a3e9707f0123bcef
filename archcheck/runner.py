"""Run the user's code in a child process, with a deadline and a memory limit (no torch here).

The child gets a scrubbed environment (no tokens or secrets), a private
temporary folder removed afterwards (its working directory two levels down, so
``../data`` and ``../../x`` stay inside), everything it starts is ended with
it, and it answers on a channel of its own; whatever it prints is kept for
``--verbose`` and never parsed.  The parent enforces the deadline; what
differs between operating systems is in ``processes.py``.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import archcheck
from archcheck import errors, processes
from archcheck.protocol import PHASES, Request, receive_frame, send_frame
from archcheck.records import Trace
from archcheck.report import CheckError

OUTPUT_LIMIT = 64 * 1024  # keep the last 64 KiB of what the model printed
_READ_SIZE = 1 << 16
_EXIT_WAIT = 2.0  # after answering, the worker has this long to exit by itself before it is killed
_DIED_WAIT = 5.0  # how long to wait for the exit code of a worker that closed its channel without answering
_DRAIN_WAIT = 0.5  # how long to wait for the end of the output once every known writer is dead
_SERVER_START_TIMEOUT = 120.0  # the fork server's first answer waits for it to import torch
_REMOVE_TRIES, _REMOVE_PAUSE = 20, 0.05

# Variables whose names look like credentials: GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY, DB_PASSWORD,
# GH_PAT, GOOGLE_APPLICATION_CREDENTIALS, NPM_AUTH, SSH_AUTH_SOCK, ... (PAT and PASS as whole words only).
_SECRET = re.compile(r"TOKEN|SECRET|PASSW|PASSPHRASE|KEY|CREDENTIAL|AUTH|COOKIE|(^|_)(PAT|PASS)(_|$)", re.IGNORECASE)
_PACKAGE_PARENT = str(Path(archcheck.__file__).resolve().parent.parent)
# The child imports archcheck from where this process did, whatever its working directory.
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from archcheck.tracing import worker; "
    "getattr(worker, sys.argv[2])(sys.argv[3])"
)
_ANSWER, _OUTPUT = "answer", "output"


@dataclass(frozen=True)
class Limits:
    timeout: float
    max_memory: int
    threads: int


@dataclass
class Outcome:
    """What came back from running one model: a trace, or why there is none."""

    trace: Trace | None
    error: CheckError | None
    output: str = ""


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def scrubbed_environment(environ: dict[str, str], threads: int) -> dict[str, str]:
    """The environment without credentials, with torch's thread pools capped and torch.compile off.

    Compiled code runs below the dispatcher, where the tracer cannot see it; with
    TORCHDYNAMO_DISABLE, ``torch.compile`` returns the function itself.
    """
    env = {k: v for k, v in environ.items() if not k.upper().startswith("ACTIONS_") and not _SECRET.search(k)}
    env.update(
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        TORCHDYNAMO_DISABLE="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
    )
    return env


class PrivateFolder:
    """A check's own temporary folder: the working directory two levels down, TMPDIR beside it."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="archcheck-"))
        self.workdir = self.root / "check" / "cwd"
        self.tmpdir = self.root / "tmp"
        self.workdir.mkdir(parents=True)
        self.tmpdir.mkdir()

    def remove(self) -> None:
        """Remove it all; retried briefly, as Windows keeps a file open until its killed process has gone."""
        for _ in range(_REMOVE_TRIES):
            shutil.rmtree(self.root, ignore_errors=True)
            if not self.root.exists():
                return
            time.sleep(_REMOVE_PAUSE)


class Spawner:
    """Starts each check as a fresh Python process, which imports torch itself.

    The worker answers on its standard output (the model's prints go to its
    standard error), so nothing but the two standard streams is handed over:
    this works the same on every system.
    """

    def __init__(self, threads: int) -> None:
        self.env = scrubbed_environment(dict(os.environ), threads)
        self.processes: dict[int, subprocess.Popen[bytes]] = {}
        self.jobs: dict[int, processes.JobObject] = {}

    def launch(self, spec: dict[str, Any], answer_fd: int, output_fd: int) -> int:
        process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, _PACKAGE_PARENT, "main", json.dumps({**spec, "parent": os.getpid()})],
            stdin=subprocess.DEVNULL,
            stdout=answer_fd,
            stderr=output_fd,
            cwd=spec["workdir"],
            env=self.env,
            **processes.session_options(),
        )
        self.processes[process.pid] = process
        if spec["memory"] == "job":
            self.jobs[process.pid] = self._job(process, spec["max_memory"])
        return process.pid

    @staticmethod
    def _job(process: subprocess.Popen[bytes], max_memory: int) -> processes.JobObject:
        # The worker runs no user code before it has imported torch, long after this.
        try:
            job = processes.JobObject(max_memory)
            job.assign(process.pid)
        except OSError:
            process.kill()
            raise
        return job

    def exit_code(self, pid: int, timeout: float) -> int | None:
        try:
            return self.processes[pid].wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, pid: int) -> None:
        if pid in self.jobs:
            self.jobs.pop(pid).close()
        elif processes.WINDOWS:
            self.processes[pid].kill()
        else:
            if self.processes[pid].poll() is None:  # not reaped, so the pid is still the worker's
                processes.stop_tree(pid)
            processes.kill_group(pid)

    def release(self, pid: int) -> None:
        self.processes.pop(pid).wait()

    def close(self) -> None:
        pass


class ForkServer:
    """One process imports torch once, then forks a fresh child for each check (Linux, macOS).

    Each child is as isolated as a spawned one (its own process, session,
    folder, limits and pipes, forked from a process that never ran user code)
    but starts in milliseconds instead of seconds: class-wide grading pays for
    importing torch once.
    """

    def __init__(self, threads: int) -> None:
        self.socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.workdir = tempfile.mkdtemp(prefix="archcheck-")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, _PACKAGE_PARENT, "serve", str(theirs.fileno())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
            cwd=self.workdir,
            env={**scrubbed_environment(dict(os.environ), threads), **processes.FORK_SERVER_ENVIRONMENT},
            start_new_session=True,
        )
        theirs.close()
        self.lock = threading.Lock()
        self.exits: dict[int, int] = {}

    def launch(self, spec: dict[str, Any], answer_fd: int, output_fd: int) -> int:
        with self.lock:
            send_frame(self.socket, {"spec": spec}, [answer_fd, output_fd])
            while True:
                content = self._receive(_SERVER_START_TIMEOUT)
                if content is None:
                    raise ForkServerGone("the fork server did not answer")
                if "pid" in content:
                    return int(content["pid"])

    def exit_code(self, pid: int, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while pid not in self.exits:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._receive(remaining) is None:
                    return None
        return self.exits[pid]

    def stop(self, pid: int) -> None:
        with self.lock:
            send_frame(self.socket, {"kill": pid})

    def release(self, pid: int) -> None:
        self.exits.pop(pid, None)  # the server reaps its children

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        try:
            frame = receive_frame(self.socket, timeout)
        except TimeoutError:
            return None
        if frame is None:
            raise ForkServerGone("the fork server stopped")
        content = frame[0]
        if "exit" in content:
            self.exits[content["exit"]] = content["code"]
        return content

    def close(self) -> None:
        self.socket.close()
        processes.kill_group(self.process.pid)
        self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


class ForkServerGone(RuntimeError):
    pass


Launcher = Spawner | ForkServer


class Child:
    """One check running in a child process: its private folder, its two pipes, its deadline."""

    def __init__(self, request: Request, limits: Limits, launcher: Launcher) -> None:
        self.limits = limits
        self.launcher = launcher
        self.folder = PrivateFolder()
        answer_fd, answer_end = os.pipe()
        output_fd, output_end = os.pipe()
        spec = {
            "request": request.to_json(),
            "root": str(self.folder.root),
            "workdir": str(self.folder.workdir),
            "tmpdir": str(self.folder.tmpdir),
            "max_memory": limits.max_memory,
            "memory": processes.PLATFORM.memory,
            "threads": limits.threads,
        }
        try:
            self.pid = launcher.launch(spec, answer_end, output_end)
        except BaseException:
            os.close(answer_fd)
            os.close(output_fd)
            self.folder.remove()
            raise
        finally:
            os.close(answer_end)
            os.close(output_end)
        self.started = time.monotonic()
        self.events: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.output = bytearray()
        self.output_ended = False
        for source, fd in ((_ANSWER, answer_fd), (_OUTPUT, output_fd)):
            threading.Thread(target=_read, args=(fd, source, self.events), daemon=True).start()

    def wait(self) -> Outcome:
        try:
            trace, error = self._collect()
        finally:
            try:
                self.launcher.stop(self.pid)
            except (ForkServerGone, OSError):
                pass  # the fork server has gone: the worker's watchdog sees it and ends the check
            self.launcher.release(self.pid)
            self._drain()
            self.folder.remove()
        return Outcome(trace, error, self.output.decode("utf-8", errors="replace"))

    def _collect(self) -> tuple[Trace | None, CheckError | None]:
        """Read the answer channel until the answer, its end, or the deadline."""
        pending = b""
        phase = "start"
        deadline = self.started + self.limits.timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                source, chunk = self.events.get(timeout=remaining)
            except queue.Empty:
                break
            if source == _OUTPUT:
                self._keep(chunk)
                continue
            if not chunk:
                died = errors.worker_died(phase, self.launcher.exit_code(self.pid, _DIED_WAIT))
                return None, died.as_check_error(phase)
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                try:
                    content = json.loads(line)
                except ValueError:
                    return None, errors.UnreadableAnswer(phase_name=PHASES.get(phase, phase)).as_check_error(phase)
                phase = content.get("phase", phase)
                if "error" in content:
                    self.launcher.exit_code(self.pid, _EXIT_WAIT)
                    return None, CheckError(**content["error"])
                if "trace" in content:
                    self.launcher.exit_code(self.pid, _EXIT_WAIT)
                    return Trace.from_dict(content["trace"]), None
        return None, errors.timed_out(phase, self.limits.timeout).as_check_error(phase)

    def _drain(self) -> None:
        """Keep what the model printed last; every process that could still print has been killed."""
        deadline = time.monotonic() + _DRAIN_WAIT
        while not self.output_ended and (remaining := deadline - time.monotonic()) > 0:
            try:
                source, chunk = self.events.get(timeout=remaining)
            except queue.Empty:
                return
            if source == _OUTPUT:
                self._keep(chunk)

    def _keep(self, chunk: bytes) -> None:
        if not chunk:
            self.output_ended = True
        self.output += chunk
        del self.output[:-OUTPUT_LIMIT]


def _read(fd: int, source: str, events: queue.Queue[tuple[str, bytes]]) -> None:
    """Pass on what arrives on ``fd`` (b"" at its end), then close it.  One thread per pipe:
    waiting on several pipes at once is not portable (Windows)."""
    try:
        while chunk := os.read(fd, _READ_SIZE):
            events.put((source, chunk))
    except OSError:
        pass
    finally:
        os.close(fd)
        events.put((source, b""))


def run_isolated(work: list[tuple[Request, Limits]], jobs: int = 1) -> list[Outcome]:
    """Check each request in its own child process, ``jobs`` at a time, keeping the order.

    One check is spawned directly; several share a fork server where the system has one,
    so that torch is imported once.
    """
    threads = min((limits.threads for _, limits in work), default=1)
    launcher: Launcher = ForkServer(threads) if len(work) > 1 and processes.PLATFORM.fork_server else Spawner(threads)
    try:
        if jobs <= 1 or len(work) <= 1:
            return [_run(launcher, request, limits) for request, limits in work]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(lambda item: _run(launcher, *item), work))
    finally:
        launcher.close()


def _run(launcher: Launcher, request: Request, limits: Limits) -> Outcome:
    try:
        return Child(request, limits, launcher).wait()
    except (ForkServerGone, OSError) as error:
        return Outcome(None, errors.InternalError(error).as_check_error("start"))
