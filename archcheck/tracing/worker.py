"""The child process that runs the user's code, and the fork server that starts such children.

A child limits its own memory before importing anything heavy, reports each
phase and the final trace (or the reason there is none) on a private pipe,
and leaves with ``os._exit`` so that threads or atexit handlers started by
the model's code cannot keep it alive or change its answer.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import socket
import sys
import traceback
from dataclasses import asdict
from typing import Any, NoReturn

from archcheck import errors
from archcheck.protocol import PHASES, Request, message


def main(spec_json: str) -> NoReturn:
    """A spawned child: check one model."""
    check(json.loads(spec_json))


def serve(socket_fd: str) -> NoReturn:
    """The fork server: import torch once, then fork a child per request received on the socket.

    A request carries its spec and two file descriptors (the answer pipe and
    the output pipe); the server answers with the child's pid, and with its
    exit code once it has reaped it.
    """
    import torch  # noqa: F401 - imported once, here, for every child

    import archcheck.tracing.inspection  # noqa: F401

    server = socket.socket(fileno=int(socket_fd))
    while True:
        ready, _, _ = select.select([server], [], [], 0.1)
        _reap(server)
        if not ready:
            continue
        data, fds, _, _ = socket.recv_fds(server, 1 << 16, 2)
        if not data:  # archcheck has finished (or died): its children die with this process
            os._exit(0)
        spec = json.loads(data)
        pid = os.fork()
        if pid == 0:
            server.close()
            os.setsid()
            os.dup2(fds[1], 1)
            os.dup2(fds[1], 2)
            os.close(fds[1])
            os.chdir(spec["workdir"])
            check({**spec, "fd": fds[0]})
        for fd in fds:
            os.close(fd)
        server.send(json.dumps({"pid": pid}).encode())


def _reap(server: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        server.send(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}).encode())


def check(spec: dict[str, Any]) -> NoReturn:
    """Check the model of ``spec["request"]``, answering on ``spec["fd"]``, then exit."""
    channel = spec["fd"]
    request = Request.from_json(spec["request"])
    phase = "start"

    def send(**content: Any) -> None:
        data = message(**content)
        while data:
            data = data[os.write(channel, data):]

    def enter(name: str) -> None:
        nonlocal phase
        phase = name
        send(phase=name)

    try:
        _limit_resources(spec["max_memory"])
        enter("start")
        try:
            import torch

            from archcheck.tracing.inspection import inspect_file
        except (ImportError, OSError, MemoryError) as error:
            if "map" not in str(error) and "memory" not in str(error).lower():
                raise
            raise errors.OutOfMemory(traceback.format_exc(), limit=request.memory_label, phase_name=PHASES[phase]) from None
        torch.set_num_threads(spec["threads"])
        trace = inspect_file(request, phase=enter)
        send(trace=trace.to_dict())
    except errors.CannotCheck as error:
        send(error=asdict(error.as_check_error(phase)))
    except BaseException as error:  # archcheck's own failure: still answer in one line
        reason = f"internal error in archcheck: {type(error).__name__}: {error}".splitlines()[0]
        send(error={"phase": phase, "reason": reason, "detail": traceback.format_exc()})
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(0)


def _limit_resources(max_memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _die_with_parent()


def _die_with_parent() -> None:
    """If archcheck itself is killed, its children must not run on (Linux: PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 == PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
