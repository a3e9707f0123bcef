"""The child process that runs the user's code, and the fork server that starts such children.

A child limits its own memory before importing anything heavy, reports each
phase and the final trace (or the reason there is none) on a channel of its
own, and leaves with ``os._exit`` -- after killing whatever the model's code
started -- so that threads, atexit handlers or stray processes cannot keep it
alive or change its answer.  A watchdog thread ends the check when archcheck
itself is gone (and, where the system cannot limit memory, when the limit is
passed).  Per-OS details are in ``archcheck.processes``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import asdict
from typing import Any, NoReturn

from archcheck import errors, processes
from archcheck.protocol import PHASES, Request, message, receive_frame, send_frame

_WATCH_INTERVAL = 0.1  # seconds between the watchdog's looks at its parent and its memory
_REAP_INTERVAL = 0.1  # seconds between the fork server's looks for children that have exited


def main(spec_json: str) -> NoReturn:
    """A spawned child: check one model, answering on what was its standard output.

    The model's own prints go to the standard error stream, which archcheck
    keeps for ``--verbose`` and never parses.
    """
    check(json.loads(spec_json), processes.answer_channel_from_stdout())


def serve(socket_fd: str) -> NoReturn:
    """The fork server: import torch once, then fork a child per request received on the socket.

    A launch request carries its spec and two file descriptors (the answer
    pipe and the output pipe); the server answers with the child's pid, and
    with its exit code once it has reaped it.  ``{"kill": pid}`` stops a child
    that is still running, with everything it started.
    """
    import torch  # noqa: F401 - imported once, here, for every child

    import archcheck.tracing.inspection  # noqa: F401

    server = socket.socket(fileno=int(socket_fd))
    workdir = os.getcwd()
    running: set[int] = set()
    while True:
        ready, _, _ = select.select([server], [], [], _REAP_INTERVAL)
        _reap(server, running)
        if not ready:
            continue
        frame = receive_frame(server, max_fds=2)
        if frame is None:  # archcheck has finished (or died): the children's watchdogs end them
            shutil.rmtree(workdir, ignore_errors=True)
            os._exit(0)
        content, fds = frame
        if "kill" in content:
            _stop(content["kill"], running)
            continue
        pid = os.fork()
        if pid == 0:
            server.close()
            os.setsid()
            answer, output = fds
            os.set_inheritable(answer, False)
            os.dup2(output, 1)
            os.dup2(output, 2)
            os.close(output)
            check({**content["spec"], "parent": os.getppid()}, answer)
        running.add(pid)
        for fd in fds:
            os.close(fd)
        send_frame(server, {"pid": pid})


def _reap(server: socket.socket, running: set[int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        running.discard(pid)
        send_frame(server, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _stop(pid: int, running: set[int]) -> None:
    if pid in running:  # not reaped yet, so the pid is still this child's
        processes.stop_tree(pid)
    else:
        processes.kill_group(pid)


class _Answer:
    """The worker's side of the answer channel, shared by the main thread and the watchdog."""

    def __init__(self, channel: int) -> None:
        self.channel = channel
        self.phase = "start"
        self.lock = threading.Lock()

    def send(self, **content: Any) -> None:
        data = message(**content)
        with self.lock:
            while data:
                data = data[os.write(self.channel, data) :]

    def enter(self, phase: str) -> None:
        self.phase = phase
        self.send(phase=phase)

    def error(self, error: errors.CannotCheck) -> None:
        self.send(error=asdict(error.as_check_error(self.phase)))


def check(spec: dict[str, Any], channel: int) -> NoReturn:
    """Check the model of ``spec["request"]``, answering on ``channel``, then exit."""
    answer = _Answer(channel)
    request = Request.from_json(spec["request"])
    try:
        _enter(spec)
        _limit(spec, request, answer)
        answer.enter("start")
        try:
            import torch

            from archcheck.tracing.inspection import inspect_file
        except (ImportError, OSError, MemoryError) as error:
            if not errors.is_out_of_memory(error):
                raise
            raise errors.OutOfMemory(
                traceback.format_exc(), limit=request.memory_label, phase_name=PHASES["start"]
            ) from None
        torch.set_num_threads(spec["threads"])
        trace = inspect_file(request, phase=answer.enter)
        answer.send(trace=trace.to_dict())
    except errors.CannotCheck as error:
        answer.error(error)
    except BaseException as error:  # archcheck's own failure: still answer in one line
        answer.error(errors.InternalError(error, traceback.format_exc()))
    finally:
        _leave()


def _enter(spec: dict[str, Any]) -> None:
    """Work in the check's private folder, and keep temporary files there too."""
    os.chdir(spec["workdir"])
    for name in ("TMPDIR", "TEMP", "TMP"):
        os.environ[name] = spec["tmpdir"]
    tempfile.tempdir = None


def _limit(spec: dict[str, Any], request: Request, answer: _Answer) -> None:
    if spec["memory"] == "rlimit":
        processes.limit_address_space(spec["max_memory"])
    processes.prepare_worker()
    if not processes.WINDOWS:  # there, the job object does the watchdog's work
        limit = spec["max_memory"] if spec["memory"] == "watch" else None
        threading.Thread(target=_watch, args=(spec, request, answer, limit), daemon=True).start()


def _watch(spec: dict[str, Any], request: Request, answer: _Answer, memory_limit: int | None) -> None:
    """End the check when archcheck is gone, or when the memory limit is passed (where nothing else enforces it)."""
    while True:
        time.sleep(_WATCH_INTERVAL)
        if os.getppid() != spec["parent"]:
            processes.kill_descendants(os.getpid())
            shutil.rmtree(spec["root"], ignore_errors=True)
            os._exit(1)
        if memory_limit is not None and processes.resident_memory() > memory_limit:
            phase_name = PHASES.get(answer.phase, answer.phase)
            answer.error(errors.OutOfMemory(limit=request.memory_label, phase_name=phase_name))
            _leave()


def _leave() -> NoReturn:
    """Flush what the model printed, end every process it started, and exit at once."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if not processes.WINDOWS:
        processes.kill_descendants(os.getpid())
    os._exit(0)
