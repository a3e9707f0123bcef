"""Run the user's code in a child process, with a deadline and a memory limit (no torch here).

The child gets a scrubbed environment (no tokens or secrets), a temporary
working directory, its own process group (so everything it starts can be
killed), and a private pipe for its answer; whatever it prints is kept for
``--verbose`` and never parsed.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import archcheck
from archcheck import errors
from archcheck.protocol import PHASES, Request
from archcheck.records import Trace
from archcheck.report import CheckError

OUTPUT_LIMIT = 64 * 1024  # keep the last 64 KiB of what the model printed
_SECRET = re.compile(r"TOKEN|SECRET|PASSWORD|KEY", re.IGNORECASE)
_PACKAGE_PARENT = str(Path(archcheck.__file__).resolve().parent.parent)
# The child imports archcheck from where this process did, whatever its working directory.
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from archcheck.tracing import worker; getattr(worker, sys.argv[2])(sys.argv[3])"
_SERVER_START_TIMEOUT = 120.0
_TIMEOUT_HINTS = {
    "start": " (the machine may be overloaded)",
    "import": " (does the file train or download data at import time? keep that under `if __name__ == \"__main__\":`)",
    "build": " (does the constructor load data or train?)",
    "trace": " (does forward loop forever, or is the model too large for a CPU forward pass?)",
}


@dataclass(frozen=True)
class Limits:
    timeout: float = 60.0
    max_memory: int = 4 << 30
    threads: int = 1


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
    """The environment without credentials, with torch's thread pools capped."""
    env = {k: v for k, v in environ.items() if not k.startswith("ACTIONS_") and not _SECRET.search(k)}
    env.update(
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONIOENCODING="utf-8",
    )
    return env


class Spawner:
    """Starts each check as a fresh Python process, which imports torch itself."""

    def __init__(self, threads: int) -> None:
        self.env = scrubbed_environment(dict(os.environ), threads)
        self.processes: dict[int, subprocess.Popen] = {}

    def launch(self, spec: dict, result_fd: int, output_fd: int) -> int:
        process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, _PACKAGE_PARENT, "main", json.dumps({**spec, "fd": result_fd})],
            stdin=subprocess.DEVNULL,
            stdout=output_fd,
            stderr=output_fd,
            pass_fds=(result_fd,),
            cwd=spec["workdir"],
            env=self.env,
            start_new_session=True,
        )
        self.processes[process.pid] = process
        return process.pid

    def exit_code(self, pid: int, timeout: float) -> int | None:
        try:
            return self.processes[pid].wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def release(self, pid: int) -> None:
        self.processes.pop(pid).wait()

    def close(self) -> None:
        pass


class ForkServer:
    """One process imports torch once, then forks a fresh child for each check.

    Each child is as isolated as a spawned one (its own process, session,
    directory, limits and pipes, forked from a process that never ran user
    code) but starts in milliseconds instead of seconds: class-wide grading
    pays for importing torch once.
    """

    def __init__(self, threads: int) -> None:
        self.socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.workdir = tempfile.mkdtemp(prefix="archcheck-")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, _PACKAGE_PARENT, "serve", str(theirs.fileno())],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(theirs.fileno(),),
            cwd=self.workdir,
            env=scrubbed_environment(dict(os.environ), threads),
            start_new_session=True,
        )
        theirs.close()
        self.lock = threading.Lock()
        self.exits: dict[int, int] = {}

    def launch(self, spec: dict, result_fd: int, output_fd: int) -> int:
        with self.lock:
            socket.send_fds(self.socket, [json.dumps(spec).encode()], [result_fd, output_fd])
            while True:  # the first answer waits for the server to import torch
                message = self._receive(_SERVER_START_TIMEOUT)
                if message is None:
                    raise ForkServerGone("the fork server did not answer")
                if "pid" in message:
                    return message["pid"]

    def exit_code(self, pid: int, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while pid not in self.exits:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._receive(remaining) is None:
                    return None
        return self.exits[pid]

    def release(self, pid: int) -> None:
        self.exits.pop(pid, None)  # the server reaps its children

    def _receive(self, timeout: float) -> dict | None:
        self.socket.settimeout(timeout)
        try:
            data = self.socket.recv(1 << 12)
        except TimeoutError:
            return None
        if not data:
            raise ForkServerGone("the fork server stopped")
        message = json.loads(data)
        if "exit" in message:
            self.exits[message["exit"]] = message["code"]
        return message

    def close(self) -> None:
        self.socket.close()
        _kill_group(self.process.pid)
        self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


class ForkServerGone(RuntimeError):
    pass


Launcher = Spawner | ForkServer


class Child:
    """One check running in a child process: its answer pipe, its output pipe, its deadline."""

    def __init__(self, request: Request, limits: Limits, launcher: Launcher) -> None:
        self.limits = limits
        self.launcher = launcher
        self.workdir = tempfile.mkdtemp(prefix="archcheck-")
        self.channel, result_fd = os.pipe()
        self.output, output_fd = os.pipe()
        spec = {
            "request": request.to_json(),
            "workdir": self.workdir,
            "max_memory": limits.max_memory,
            "threads": limits.threads,
        }
        try:
            self.pid = launcher.launch(spec, result_fd, output_fd)
        except BaseException:
            self._close()
            raise
        finally:
            os.close(result_fd)
            os.close(output_fd)
        self.started = time.monotonic()

    def wait(self) -> Outcome:
        try:
            return self._collect()
        finally:
            _kill_group(self.pid)
            self.launcher.release(self.pid)
            self._close()

    def _close(self) -> None:
        for fd in (self.channel, self.output):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _collect(self) -> Outcome:
        output = bytearray()
        pending = bytearray()
        phase = "start"
        answer: dict | None = None
        deadline = self.started + self.limits.timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.channel, selectors.EVENT_READ)
            selector.register(self.output, selectors.EVENT_READ)
            while answer is None and self.channel in _registered(selector):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    _kill_group(self.pid)
                    error = errors.TimedOut(seconds=self.limits.timeout, phase_name=PHASES[phase], hint=_TIMEOUT_HINTS[phase])
                    return Outcome(None, CheckError(phase, error.reason), _text(output))
                for key, _ in selector.select(remaining):
                    chunk = os.read(key.fd, 1 << 16)
                    if not chunk:
                        selector.unregister(key.fd)
                    elif key.fd == self.output:
                        output += chunk
                        del output[:-OUTPUT_LIMIT]
                    else:
                        pending += chunk
                        *lines, rest = pending.split(b"\n")
                        pending[:] = rest
                        for line in lines:
                            content = _decode(line, phase)
                            phase = content.get("phase", phase)
                            if "trace" in content or "error" in content:
                                answer = content
            self._drain(selector, output)
        if answer is None:
            return Outcome(None, self._died(phase), _text(output))
        if "error" in answer:
            return Outcome(None, CheckError(**answer["error"]), _text(output))
        return Outcome(Trace.from_dict(answer["trace"]), None, _text(output))

    def _drain(self, selector: selectors.BaseSelector, output: bytearray) -> None:
        """Read what the child printed last, without waiting on processes it may have left behind."""
        if self.channel in _registered(selector):
            selector.unregister(self.channel)
        if self.output not in _registered(selector):
            return
        self.launcher.exit_code(self.pid, timeout=2)
        while selector.select(0.05):
            chunk = os.read(self.output, 1 << 16)
            if not chunk:
                break
            output += chunk
        del output[:-OUTPUT_LIMIT]

    def _died(self, phase: str) -> CheckError:
        code = self.launcher.exit_code(self.pid, timeout=5)
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            how = f"killed by {name}" + (", probably for using too much memory" if name == "SIGKILL" else "")
        elif code is not None:
            how = f"exit code {code}: does the model code call os._exit()?"
        else:
            how = "it closed archcheck's result pipe"
        return CheckError(phase, errors.WorkerDied(phase_name=PHASES[phase], how=how).reason)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _decode(line: bytes, phase: str) -> dict:
    try:
        return json.loads(line)
    except ValueError:
        return {"error": {"phase": phase, "reason": "the checking process sent an unreadable answer", "detail": None}}


def _registered(selector: selectors.BaseSelector) -> set[int]:
    return {key.fd for key in selector.get_map().values()}


def _text(output: bytearray) -> str:
    return output.decode("utf-8", errors="replace")


def run_isolated(work: list[tuple[Request, Limits]], jobs: int = 1) -> list[Outcome]:
    """Check each request in its own child process, ``jobs`` at a time, keeping the order.

    One check is spawned directly; several share a fork server, so that torch is imported once.
    """
    threads = min((limits.threads for _, limits in work), default=1)
    launcher: Launcher = ForkServer(threads) if len(work) > 1 else Spawner(threads)
    try:
        if jobs <= 1 or len(work) <= 1:
            return [_run(launcher, request, limits) for request, limits in work]
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(lambda item: _run(launcher, *item), work))
    finally:
        launcher.close()


def _run(launcher: Launcher, request: Request, limits: Limits) -> Outcome:
    try:
        child = Child(request, limits, launcher)
    except ForkServerGone as error:
        return Outcome(None, CheckError("start", f"internal error in archcheck: {error}"))
    return child.wait()
