"""The child process that runs the user's code.

It limits its own memory before importing anything heavy, reports each phase
and the final trace (or the reason there is none) on a private pipe, and
leaves with ``os._exit`` so that threads or atexit handlers started by the
model's code cannot keep it alive or change its answer.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
from dataclasses import asdict
from typing import Any, NoReturn

from archcheck import errors
from archcheck.protocol import PHASES, Request, message


def main(spec_json: str) -> NoReturn:
    spec = json.loads(spec_json)
    channel = spec["fd"]
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

            from archcheck.inspection import inspect_file
        except (ImportError, OSError, MemoryError) as error:
            if "map" not in str(error) and "memory" not in str(error).lower():
                raise
            raise errors.OutOfMemory(traceback.format_exc(), limit=spec["memory_label"], phase_name=PHASES[phase]) from None
        torch.set_num_threads(spec["threads"])
        trace = inspect_file(Request.from_json(spec["request"]), phase=enter)
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
