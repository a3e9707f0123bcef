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
from typing import Any

import torch
from torch import nn

from archcheck import errors
from archcheck.protocol import PHASES, Request
from archcheck.records import Trace
from archcheck.tracing.loader import Candidate, find_model, import_file
from archcheck.tracing.tracer import (
    Tracer,
    count_parameters,
    recording_construction_sites,
)

Phase = Callable[[str], None]

# Failures on the meta device that real CPU tensors may not have (``.item()``, tensors made on the CPU...).
_WORTH_RETRYING_ON_CPU = (errors.RaisedDuring, errors.ForwardFailed, errors.NeedsCuda)
# Below this many parameters a real CPU forward pass is cheaper than the meta device.
SMALL_MODEL = 10_000_000


def inspect_file(request: Request, phase: Phase = lambda name: None) -> Trace:
    """Import the file, find and build the model, trace it.  Raises ``errors.CannotCheck``."""
    path = Path(request.path)
    phase("import")
    with _explained("import", f"importing {path.name}", request), recording_construction_sites():
        module = import_file(path, request.stub_imports)
    phase("build")
    candidate = find_model(module, path, request.name, shown=request.shown_path or request.path)
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
                    return trace_model(model, candidate, request, device="meta")
            note = "a small model: real CPU tensors are faster than meta"
        except _WORTH_RETRYING_ON_CPU as error:
            note = f"the model cannot run on meta: {error.fields['error']}"
        phase("build")
    torch.manual_seed(0)
    with _explained("build", where, request), recording_construction_sites():
        model = candidate.build(request.model_kwargs)
    phase("trace")
    with _explained("trace", where, request, model):
        return trace_model(model, candidate, request, device="cpu", note=note)


def trace_model(
    model: nn.Module, candidate: Candidate | None, request: Request, device: str, note: str | None = None
) -> Trace:
    """Run one training-mode forward pass of ``model`` and record it."""
    model.train()
    torch.manual_seed(0)
    shape = (request.batch_size, *request.input_shape)
    inputs = torch.empty(shape, device=device) if device == "meta" else torch.randn(shape, device=device)
    tracer = Tracer(model)
    with torch.no_grad(), tracer.recording(inputs):
        output = model(inputs)
    if not _is_tensor_output(output):
        raise errors.BadOutput(returned=_describe_output(output))
    params, owned = count_parameters(model)
    return Trace(
        model=candidate.name if candidate else type(model).__name__,
        file=str(Path(request.path).resolve()) if request.path else None,
        location=candidate.location if candidate else None,
        input_shape=tuple(inputs.shape),
        device=device,
        device_note=note,
        params=params,
        modules=tracer.declared_modules(owned),
        calls=tracer.calls,
        ops=tracer.ops,
        notes=[f"could not read the arguments of {call}, so it was not checked" for call in dict.fromkeys(tracer.unreadable)],
    )


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
            raise errors.NeedsCuda(detail, error=_first_line(error).partition(". ")[0]) from None
        if phase_name == "trace" and model is not None:
            raise errors.ForwardFailed(
                detail, shape=_shape_label(request.input_shape), error=_first_line(error), hint=_input_hint(model, request)
            ) from None
        raise errors.RaisedDuring(detail, where=where, error_type=type(error).__name__, error=_first_line(error)) from None


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


def _is_tensor_output(output: Any) -> bool:
    if isinstance(output, torch.Tensor):
        return True
    return isinstance(output, tuple | list) and len(output) > 0 and all(_is_tensor_output(item) for item in output)


def _describe_output(output: Any) -> str:
    if isinstance(output, tuple | list):
        inner = ", ".join(sorted({type(item).__name__ for item in output})) or "nothing"
        return f"a {type(output).__name__} of {inner}"
    return "None" if output is None else f"a {type(output).__name__}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__

