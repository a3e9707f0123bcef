"""Load a model file, build the model and trace it: everything that runs the user's code.

This runs inside the isolated child process (``archcheck.tracing.worker``), or in the
caller's process for trusted code (``check_file(..., isolate=False)``).  The
model is first built on the ``meta`` device, where tensors have shapes but no
storage, so that a billion-parameter model costs neither memory nor time, and a
large model is traced there too.  A small one, or one that needs real values
(``.item()``, data-dependent control flow, tensors created on the CPU), is
rebuilt and traced on CPU tensors.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from torch import nn

from archcheck import errors
from archcheck.protocol import PHASES, Request
from archcheck.records import Trace
from archcheck.tracing.loader import Candidate, Submission, find_model
from archcheck.tracing.parameters import count_parameters
from archcheck.tracing.sites import recording_construction_sites
from archcheck.tracing.step import first_line, trace_model
from archcheck.tracing.toplevel import Slice

Phase = Callable[[str], None]

# Failures on the meta device that real CPU tensors may not have (``.item()``, tensors made on the CPU...).
_WORTH_RETRYING_ON_CPU = (errors.RaisedDuring, errors.ForwardFailed, errors.NeedsCuda)
# Below this many parameters a real CPU forward pass is cheaper than the meta device.
SMALL_MODEL = 10_000_000


def inspect_file(request: Request, phase: Phase = lambda name: None) -> Trace:
    """Import the file, find and build the model, trace it.  Raises ``errors.CannotCheck``.

    Only the file's definitions run first (``archcheck.tracing.toplevel``); the
    whole file runs when the model turns out to need a name that only its
    skipped top-level code defines, or when ``run_top_level`` asks for it.
    """
    phase("import")
    submission = Submission(Path(request.path), request.stub_imports)
    part = None if request.run_top_level else submission.definitions(request.name)
    whole_because = None
    try:
        trace = _load_and_trace(submission, part, request, phase)
    except errors.CannotCheck as error:
        whole_because = submission.whole_file_needed(part, error)
        if whole_because is None:
            raise submission.explained(error, part) from None
        phase("import")
        try:
            trace = _load_and_trace(submission, None, request, phase)
        except errors.CannotCheck as second:
            raise submission.explained(second, None) from None
    return submission.annotate(trace, part, whole_because)


def _load_and_trace(submission: Submission, part: Slice | None, request: Request, phase: Phase) -> Trace:
    """Run ``part`` of the file (all of it if None), find the model in it and trace it."""
    with _explained("import", f"importing {submission.path.name}", request), recording_construction_sites():
        module = submission.run(part)
    phase("build")
    tree = part.module if part is not None else submission.tree()
    candidate = find_model(module, tree, request.name, shown=request.shown_path or request.path)
    return trace_candidate(candidate, request, phase)


def trace_candidate(candidate: Candidate, request: Request, phase: Phase = lambda name: None) -> Trace:
    """Trace on meta when the model is large (or ``device`` is "meta") and allows it, else on CPU tensors.

    The model is first built on meta, which costs nothing whatever its size.  A
    small model is then rebuilt on the CPU: a real forward pass of a few
    thousand parameters takes milliseconds, while torch's meta kernels cost
    seconds of imports the first time they run (see benchmarks/startup.py).
    """
    where = f"{candidate.name}()"
    if candidate.kind == "instance":
        note = "the model is an instance built when the file was imported"
    elif request.device == "cpu":
        note = "--device cpu was given"
    else:
        try:
            with _explained("build", where, request), recording_construction_sites(), torch.device("meta"):
                model = candidate.build(request.model_kwargs)
            size = count_parameters(model)[0].total
            if request.device == "meta" or size >= SMALL_MODEL:
                phase("trace")
                with _explained("trace", where, request, model), torch.device("meta"):
                    return trace_model(model, candidate.name, candidate.location, request, device="meta")
            note = "a small model: real CPU tensors are faster than meta"
        except _WORTH_RETRYING_ON_CPU as error:
            note = f"the model cannot run on meta: {error.fields['error']}"
        phase("build")
    torch.manual_seed(0)
    with _explained("build", where, request), recording_construction_sites():
        model = candidate.build(request.model_kwargs)
    phase("trace")
    with _explained("trace", where, request, model):
        return trace_model(model, candidate.name, candidate.location, request, device="cpu", note=note)


@contextlib.contextmanager
def _explained(phase_name: str, where: str, request: Request, model: nn.Module | None = None) -> Iterator[None]:
    """Turn whatever the user's code raises into a one-line ``CannotCheck``."""
    try:
        yield
    except errors.CannotCheck:
        raise
    except SystemExit as error:
        raise errors.ExitedDuring(call="sys.exit()", phase_name=PHASES[phase_name], code=error.code) from None
    except KeyboardInterrupt:
        raise errors.Interrupted(phase_name=PHASES[phase_name]) from None
    except BaseException as error:
        detail = traceback.format_exc()
        if _is_out_of_memory(error):
            raise errors.OutOfMemory(detail, limit=request.memory_label, phase_name=PHASES[phase_name]) from None
        if "cuda" in str(error).lower() or "nvidia" in str(error).lower():
            raise errors.NeedsCuda(detail, error=first_line(error).partition(". ")[0]) from None
        if phase_name == "trace" and model is not None:
            raise errors.ForwardFailed(
                detail,
                shape=_shape_label(request.input_shape),
                error=first_line(error),
                hint=_input_hint(model, request),
            ) from None
        raise errors.RaisedDuring(
            detail, where=where, error_type=type(error).__name__, error=first_line(error)
        ) from None


def _is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, MemoryError) or "can't allocate memory" in str(error) or "out of memory" in str(error)


def _input_hint(model: nn.Module, request: Request) -> str:
    """Say what the first layer expects when the input shape does not fit it."""
    shape = request.input_shape
    for path, module in model.named_modules():
        channels = getattr(module, "in_channels", None)
        features = getattr(module, "in_features", None)
        if isinstance(channels, int) and channels != shape[0]:
            suggestion = ",".join(map(str, (channels, *shape[1:])))
            return f" (the first layer {path} ({type(module).__name__}) expects {channels} input channels; try --input-shape {suggestion})"
        if isinstance(features, int) and len(shape) == 1 and features != shape[0]:
            return f" (the first layer {path} ({type(module).__name__}) expects {features} input features; try --input-shape {features})"
        if isinstance(channels, int) or isinstance(features, int):
            break
    return f" (is --input-shape {','.join(map(str, shape))} right for this model?)"


def _shape_label(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape))
