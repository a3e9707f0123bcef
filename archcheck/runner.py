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
import subprocess
import sys
import tempfile
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
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from archcheck.worker import main; main(sys.argv[2])"
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
    memory_label: str = "4 GiB"


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


class Child:
    """One running check; ``start`` returns at once, ``wait`` collects the outcome."""

    def __init__(self, request: Request, limits: Limits) -> None:
        self.request = request
        self.limits = limits
        self.workdir = tempfile.mkdtemp(prefix="archcheck-")
        read_fd, write_fd = os.pipe()
        spec = {
            "request": request.to_json(),
            "fd": write_fd,
            "max_memory": limits.max_memory,
            "memory_label": limits.memory_label,
            "threads": limits.threads,
        }
        package_parent = str(Path(archcheck.__file__).resolve().parent.parent)
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOT, package_parent, json.dumps(spec)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(write_fd,),
            cwd=self.workdir,
            env=scrubbed_environment(dict(os.environ), limits.threads),
            start_new_session=True,
        )
        os.close(write_fd)
        self.channel = read_fd

    def wait(self) -> Outcome:
        try:
            return self._collect()
        finally:
            self._kill()
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _collect(self) -> Outcome:
        assert self.process.stdout is not None
        stdout = self.process.stdout.fileno()
        output = bytearray()
        pending = bytearray()
        phase = "start"
        answer: dict | None = None
        deadline = self.started + self.limits.timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.channel, selectors.EVENT_READ)
            selector.register(stdout, selectors.EVENT_READ)
            while answer is None and self.channel in _registered(selector):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._kill()
                    error = errors.TimedOut(seconds=self.limits.timeout, phase_name=PHASES[phase], hint=_TIMEOUT_HINTS[phase])
                    return Outcome(None, CheckError(phase, error.reason), _text(output))
                for key, _ in selector.select(remaining):
                    chunk = os.read(key.fd, 1 << 16)
                    if not chunk:
                        selector.unregister(key.fd)
                    elif key.fd == stdout:
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
            os.close(self.channel)
            self._drain(selector, stdout, output)
        if answer is None:
            return Outcome(None, self._died(phase), _text(output))
        if "error" in answer:
            return Outcome(None, CheckError(**answer["error"]), _text(output))
        return Outcome(Trace.from_dict(answer["trace"]), None, _text(output))

    def _drain(self, selector: selectors.BaseSelector, stdout: int, output: bytearray) -> None:
        """Read what the child printed last, without waiting on processes it may have left behind."""
        if stdout not in _registered(selector):
            return
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            pass
        while selector.select(0.05):
            chunk = os.read(stdout, 1 << 16)
            if not chunk:
                break
            output += chunk
        del output[:-OUTPUT_LIMIT]

    def _died(self, phase: str) -> CheckError:
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            how = f"killed by {name}" + (", probably for using too much memory" if name == "SIGKILL" else "")
        elif code is not None:
            how = f"exit code {code}: does the model code call os._exit()?"
        else:
            how = "it closed archcheck's result pipe"
        return CheckError(phase, errors.WorkerDied(phase_name=PHASES[phase], how=how).reason)

    def _kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


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
    """Check each request in its own child process, ``jobs`` at a time, keeping the order."""
    if jobs <= 1 or len(work) <= 1:
        return [Child(request, limits).wait() for request, limits in work]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda item: Child(*item).wait(), work))
