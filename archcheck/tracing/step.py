"""One training step, recorded: the forward pass as a real step runs it, then a backward pass.

The forward pass runs in training mode with gradients enabled -- exactly as
in training, so a model cannot tell it is being checked by
``torch.is_grad_enabled()`` -- under the recorder.  A backward pass from the
output (against random weights, so that no sum cancels out) then tells which
recorded results the output really depends on: one whose gradient is zero
everywhere was computed and thrown away, or multiplied by zero.
"""

from __future__ import annotations

import contextlib
import copy
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter

from archcheck import errors
from archcheck.phrasing import listed, plural
from archcheck.protocol import Request
from archcheck.records import DeclaredModule, Location, Op, Trace
from archcheck.tracing.graph import reaching, recorded_inputs
from archcheck.tracing.parameters import count_parameters
from archcheck.tracing.recorder import Recorder
from archcheck.tracing.sites import construction_site


def copy_to_trace(model: nn.Module) -> nn.Module:
    """A copy to trace, so that the step leaves ``model`` as it was; a lazy module's parameters that are not
    materialised yet (which cannot be copied) stay unmaterialised in the copy."""
    memo: dict[int, Any] = {}
    for tensor in (*model.parameters(), *model.buffers()):
        if isinstance(tensor, UninitializedParameter):
            memo[id(tensor)] = UninitializedParameter(requires_grad=tensor.requires_grad)
        elif isinstance(tensor, UninitializedBuffer):
            memo[id(tensor)] = UninitializedBuffer(requires_grad=tensor.requires_grad)
    return copy.deepcopy(model, memo)


def trace_model(
    model: nn.Module, name: str, location: Location | None, request: Request, device: str, note: str | None = None
) -> Trace:
    """Record one training step of ``model`` on a random batch of ``request.input_shape``."""
    model.train()
    torch.manual_seed(0)
    if device != "meta":
        _nudge_learned_parameters(model)
    shape = (request.batch_size, *request.input_shape)
    inputs = _batch(shape, device).requires_grad_().clone()  # not a leaf: the model may change its input in place
    recorder = Recorder(model, inputs)
    with torch.enable_grad(), _compilation_off(), recorder.recording():
        output = model(inputs)
    primary = _first_tensor(output)
    if primary is None:
        raise errors.BadOutput(returned=_describe_output(output))
    nodes = recorder.nodes
    produced = recorder.producers_of(primary)  # an output made where the recorder could not see is followed here
    notes = _recorder_notes(recorder)
    contributions = _backward(recorder, primary, device, notes)
    batch = request.batch_size
    if all(nodes[node].name == "constant" for node in produced):  # no recorded operation made the output
        raise errors.HiddenOutput()
    ops = _ops(recorder, reaching(nodes, produced), contributions, batch)
    unregistered = sum(size for _, size in recorder.unregistered.values())
    params, owned = count_parameters(model, unregistered)
    return Trace(
        model=name,
        location=location,
        input_shape=shape,
        device=device,
        device_note=note,
        params=params,
        modules=_declared_modules(model, recorder, owned),
        calls=recorder.calls,
        ops=ops,
        output_shape=tuple(primary.shape),
        output_receptive_field=nodes[produced[-1]].receptive_field,
        unregistered=sorted({name for name, _ in recorder.unregistered.values()}),
        macs=sum(node.macs for node in nodes if node.depends_on_input) // batch,
        notes=notes,
        **_evaluation_pass(model, shape, device, notes),
    )


def _batch(shape: tuple[int, ...], device: str) -> torch.Tensor:
    """A random input batch (on meta, only its shape)."""
    return torch.empty(shape, device=device) if device == "meta" else torch.randn(shape, device=device)


def _ops(recorder: Recorder, reach: set[int], contributions: dict[int, bool], batch: int) -> list[Op]:
    """The recorded operations as records, each knowing whether it reaches the output and adds to it;
    each layer call is given the MACs of its operations."""
    feeding = recorded_inputs(recorder.nodes)
    ops = []
    for node in recorder.nodes:
        recorded = node.recorded
        if recorded is None:
            continue
        call = recorder.calls[node.call] if node.call is not None else None
        ops.append(
            Op(
                id=node.id,
                kind=recorded.kind,
                func=recorded.func,
                module=call.path if call else None,
                module_type=call.type if call else None,
                location=recorded.location,
                call_site=call.location if call else None,
                operands=recorded.operands,
                output_shape=node.shape,
                attrs=recorded.attrs,
                inputs=feeding.get(node.id, []),
                reaches_output=node.id in reach,
                contributes=contributions.get(node.id),
                receptive_field=node.receptive_field,
                jump=node.jump,
                macs=node.macs // batch,
            )
        )
    for node in recorder.nodes:
        if node.call is not None and node.macs:
            recorder.calls[node.call].macs += node.macs // batch
    return ops


def _evaluation_pass(model: nn.Module, shape: tuple[int, ...], device: str, notes: list[str]) -> dict[str, Any]:
    """Record the forward pass that accuracy is measured with: eval mode, no gradients.

    A layer that runs only there (``if not self.training: return self.fc(x)``, a head
    used only under ``no_grad``) is part of the model as it is evaluated.  Rules that
    forbid a kind of layer judge this pass too.  If it fails, the note says so and only
    the training step is judged.
    """
    inputs = _batch(shape, device)
    recorder = Recorder(model, inputs)
    model.eval()
    try:
        with torch.no_grad(), _compilation_off(), recorder.recording():
            output = model(inputs)
        primary = _first_tensor(output)
        if primary is None:
            raise TypeError(f"forward returned {_describe_output(output)}")
    except Exception as error:
        notes.append(
            f"the eval-mode forward pass failed ({type(error).__name__}: {first_line(error)}):"
            " only the training step was judged"
        )
        return {}
    finally:
        model.train()
    reach = reaching(recorder.nodes, recorder.producers_of(primary))
    return {"eval_ops": _ops(recorder, reach, {}, shape[0]), "eval_calls": recorder.calls}


def first_line(error: BaseException) -> str:
    """An error's message in one line (its type when it has none)."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _nudge_learned_parameters(model: nn.Module) -> None:
    """Move every trainable parameter a little off its initial value.

    A gate initialised to zero (``x + self.alpha * block(x)`` with ``alpha = 0``) makes
    the block's gradient zero at the first step, yet training moves it: the block
    takes part in the output.  A literal ``0 * block(x)`` stays zero whatever the
    parameters are.  Nudged, only the second reads as "does not change the output".
    """
    with torch.no_grad():
        for parameter in model.parameters():
            initialised = not isinstance(parameter, nn.parameter.UninitializedParameter)
            if initialised and parameter.requires_grad and parameter.is_floating_point():
                parameter.add_(torch.randn_like(parameter) * 1e-3)


def _backward(recorder: Recorder, output: torch.Tensor, device: str, notes: list[str]) -> dict[int, bool]:
    """Which recorded results the output's gradient reaches, and whether it is nonzero there.

    On the meta device gradients have no values to tell anything by, and torch's meta kernels for the
    backward pass would cost seconds of imports: there, the dataflow decides alone.
    """
    if device == "meta":
        return {}
    if not output.requires_grad:
        notes.append(
            "the output does not depend on anything autograd can follow (computed under torch.no_grad() or detached):"
            " the model could not be trained, and archcheck judged it by dataflow alone"
        )
        return {}
    seen: dict[int, bool] = {}
    handles = []
    for node_id, tensor in recorder.kept.items():
        if tensor.requires_grad:

            def hook(gradient: torch.Tensor, node_id: int = node_id) -> None:
                if device != "meta":
                    seen[node_id] = seen.get(node_id, False) or bool(gradient.ne(0).any())

            try:
                handles.append(tensor.register_hook(hook))
            except RuntimeError:  # a tensor autograd will not hook (a view changed in place): no gradient evidence
                pass
    generator = torch.Generator(device="cpu").manual_seed(0)
    cotangent = (
        torch.empty_like(output)
        if device == "meta"
        else torch.randn(output.shape, generator=generator, dtype=output.dtype).to(output.device)
    )
    try:  # a scalar loss: passing the cotangent to backward() would import sympy (seconds)
        (output * cotangent).sum().backward()
    except Exception as error:  # the user's backward hooks or custom functions: judged by dataflow alone
        notes.append(f"the backward pass failed ({type(error).__name__}: {error}); judged by dataflow alone")
    finally:
        for handle in handles:
            handle.remove()
    for node_id, tensor in recorder.kept.items():
        if seen.get(node_id) is False and recorder.nodes[node_id].random and not bool(tensor.ne(0).any()):
            # a dropout that dropped everything this step (one channel, Dropout2d) passes zeros on, whose
            # gradient through a ReLU is zero: that says nothing of whether it is used
            del seen[node_id]
    return seen


def _recorder_notes(recorder: Recorder) -> list[str]:
    notes = [
        f"could not read the arguments of {name}, so it was not checked" for name in dict.fromkeys(recorder.unreadable)
    ]
    if recorder.hidden:
        notes.append(
            f"{listed(list(dict.fromkeys(recorder.hidden)), most=3)} computed where the dispatcher could not see"
            " (a thread started before the check, or a disabled recorder): followed through autograd and the module's kind"
        )
    if recorder.imported:
        notes.append(
            f"{listed(list(dict.fromkeys(recorder.imported)), most=3)} was made from activations taken out of"
            " torch (Tensor.numpy(), .tolist()): what was computed outside torch is invisible to every rule,"
            " and autograd cannot train through it"
        )
    if recorder.unregistered:
        names = sorted({name for name, _ in recorder.unregistered.values()})
        size = sum(count for _, count in recorder.unregistered.values())
        notes.append(
            f"{plural(size, 'parameter')} in {listed(names, most=3)} are used by forward but not registered"
            " (kept in a plain list or attribute, or created in forward): they count toward the budget, but"
            " model.parameters() does not list them, so an optimizer would never train them"
        )
    return notes


def _declared_modules(model: nn.Module, recorder: Recorder, owned: dict[int, int]) -> list[DeclaredModule]:
    return [
        DeclaredModule(
            path=path,
            type=type(module).__name__,
            params=owned.get(id(module), 0),
            calls=recorder.call_counts.get(id(module), 0),
            location=construction_site(module),
            library=type(module).__module__.startswith("torch."),
        )
        for path, module in model.named_modules()
    ]


@contextlib.contextmanager
def _compilation_off() -> Iterator[None]:
    """Run torch.compile'd code eagerly, so the recorder sees it (compiled kernels run below the dispatcher).

    Only when the model's code has already imported torch._dynamo: importing it costs seconds.  In the
    checking process the environment also sets TORCHDYNAMO_DISABLE.
    """
    dynamo = sys.modules.get("torch._dynamo")
    if dynamo is None:
        yield
        return
    before = dynamo.config.disable
    dynamo.config.disable = True
    try:
        yield
    finally:
        dynamo.config.disable = before


def _first_tensor(output: Any) -> torch.Tensor | None:
    """The model's output: a tensor, or the first tensor of a tuple, list or dict of outputs (the logits)."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, Mapping):
        output = list(output.values())
    if isinstance(output, tuple | list) and output and all(_first_tensor(item) is not None for item in output):
        return _first_tensor(output[0])
    return None


def _describe_output(output: Any) -> str:
    if isinstance(output, tuple | list | dict):
        items = output.values() if isinstance(output, dict) else output
        inner = ", ".join(sorted({type(item).__name__ for item in items}, key=str.lower)) or "nothing"
        return f"a {type(output).__name__} of {inner}"
    return "None" if output is None else f"a {type(output).__name__}"
