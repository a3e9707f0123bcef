"""What one traced forward pass saw, as plain data.

These records are the only thing rules look at. They are built by
``archcheck.tracing.tracer`` inside the process that ran the model and travel to the
parent process as JSON, so they hold numbers, strings and shapes, never
tensors or modules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Shape = tuple[int, ...]

# What one dimension of an activation holds: the batch, channels, spatial positions, or only part of the
# positions (a crop).  A dimension made by flattening holds several roles ("channel", "space" after
# ``x.flatten(1)``); a size-1 or broadcast dimension holds none.
BATCH, CHANNEL, SPACE, PART = "batch", "channel", "space", "part"
Roles = tuple[str, ...]  # sorted
Layout = tuple[Roles, ...]  # one entry per dimension

# Where an operand of a recorded operation comes from: it depends on the model input, it is computed from
# learned tensors only (an nn.Parameter or any tensor with requires_grad=True), or neither (a buffer, a
# constant, a tensor built in forward from shapes or random numbers).
Source = Literal["input", "weight", "constant"]
INPUT: Source = "input"
WEIGHT: Source = "weight"
CONSTANT: Source = "constant"

# The operations rules look at; ``Op.attrs`` holds the facts of each kind (see ``archcheck.tracing.ops``).
OpKind = Literal["product", "conv", "pool", "reduce", "batch_norm", "dropout"]


@dataclass(frozen=True)
class Location:
    """A line of the user's code; in a notebook, ``line`` counts from the top of cell ``cell``."""

    file: str
    line: int
    cell: int | None = None

    def __str__(self) -> str:
        return f"{self.file}:cell {self.cell}:{self.line}" if self.cell is not None else f"{self.file}:{self.line}"


@dataclass
class DeclaredModule:
    """One module reachable from the model (``model.named_modules()``)."""

    path: str  # qualified name such as "features.3"; "" is the model itself
    type: str  # class name, e.g. "BatchNorm2d"
    params: int  # parameters owned directly by this module, each tensor counted once model-wide
    calls: int  # how many times its forward ran during the traced pass
    location: Location | None  # where it was constructed in the user's code
    library: bool  # defined by torch (nn.Conv2d), not by the user


@dataclass
class ModuleCall:
    """One execution of a module's forward, in execution order."""

    path: str
    type: str
    depth: int  # 0 for the model itself
    input_shapes: list[Shape]
    output_shapes: list[Shape]
    receptive_field: tuple[int, ...] | None = None  # of its output, in input pixels per spatial dimension
    jump: tuple[int, ...] | None = None  # input pixels between neighbouring output positions
    macs: int = 0  # multiply-accumulates per image of the operations it ran itself (not its children)
    location: Location | None = None  # the user's line that called it


@dataclass
class Operand:
    """A tensor argument of a recorded operation, and where it came from."""

    shape: Shape
    source: Source
    weight: str | None = None  # when source == "weight": the learned tensor it is computed from
    layout: Layout | None = None  # when source == "input": what each dimension holds


@dataclass
class Op:
    """One operation of the traced training step that matters to a rule, as a node of the dataflow graph.

    It is recorded at the dispatcher (aten operations), so it is seen however
    the Python code spelled it.  ``inputs`` are the recorded operations whose
    results flow into this one (through any unrecorded ones in between);
    ``reaches_output`` says whether its result flows into the model's output.
    """

    id: int
    kind: OpKind
    func: str  # what the user's code called, e.g. "F.linear", "Tensor.mean", or the aten operation
    module: str | None  # innermost module whose forward was running, None at top level
    module_type: str | None
    location: Location | None  # the user line responsible: the call, or where the layer that ran it was built
    operands: list[Operand]
    output_shape: Shape | None
    attrs: dict[str, Any] = field(default_factory=dict)
    call_site: Location | None = None  # the user's line that called the layer that ran it
    inputs: list[int] = field(default_factory=list)
    reaches_output: bool = True
    contributes: bool | None = None  # False: its gradient is zero, so the output does not change with it
    receptive_field: tuple[int, ...] | None = None  # of its output
    jump: tuple[int, ...] | None = None
    macs: int = 0  # per image


@dataclass
class ParamCount:
    """Parameters that count toward the budget, each tensor once."""

    total: int  # registered + unregistered
    trainable: int
    frozen: int
    unregistered: int = 0  # learned tensors the forward pass uses that model.parameters() does not list


@dataclass
class Trace:
    """Everything rules may use."""

    model: str  # class or factory name
    location: Location | None  # where the model class or factory is defined
    input_shape: Shape  # including the batch dimension
    device: str  # "meta" or "cpu": where the forward pass ran
    device_note: str | None  # why the forward pass did not run on meta, when it did not
    params: ParamCount
    modules: list[DeclaredModule]
    calls: list[ModuleCall]
    ops: list[Op]
    output_shape: Shape | None = None  # the model's output (the first tensor when it returns several)
    output_receptive_field: tuple[int, ...] | None = None  # input pixels one output value sees, per spatial dim
    unregistered: list[str] = field(default_factory=list)  # where the unregistered learned tensors are used
    macs: int | None = None  # multiply-accumulates per image
    notes: list[str] = field(default_factory=list)  # what the trace could not see, for the report
    stubbed: list[str] = field(default_factory=list)  # missing packages the file imports, replaced by inert stubs
    # the forward pass that accuracy is measured with (eval mode, no gradients): its operations and layer calls;
    # None when it was not run or failed (the reason is in ``notes``)
    eval_ops: list[Op] | None = None
    eval_calls: list[ModuleCall] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        """The inverse of ``to_dict`` after a JSON round trip (which turns tuples into lists)."""

        def location(value: dict | None) -> Location | None:
            return Location(**value) if value else None

        def operand(value: dict) -> Operand:
            return Operand(**{**value, "shape": _tuples(value["shape"]), "layout": _tuples(value["layout"])})

        def call(c: dict) -> ModuleCall:
            return ModuleCall(
                **{
                    **c,
                    "input_shapes": [tuple(shape) for shape in c["input_shapes"]],
                    "output_shapes": [tuple(shape) for shape in c["output_shapes"]],
                    "receptive_field": _tuples(c["receptive_field"]),
                    "jump": _tuples(c["jump"]),
                    "location": location(c["location"]),
                }
            )

        def op(o: dict) -> Op:
            return Op(
                **{
                    **o,
                    **{k: _tuples(o[k]) for k in _OP_TUPLES},
                    "location": location(o["location"]),
                    "call_site": location(o["call_site"]),
                    "operands": [operand(x) for x in o["operands"]],
                }
            )

        return cls(
            **{
                **data,
                "location": location(data["location"]),
                "input_shape": _tuples(data["input_shape"]),
                "output_shape": _tuples(data["output_shape"]),
                "output_receptive_field": _tuples(data["output_receptive_field"]),
                "params": ParamCount(**data["params"]),
                "modules": [DeclaredModule(**{**m, "location": location(m["location"])}) for m in data["modules"]],
                "calls": [call(c) for c in data["calls"]],
                "ops": [op(o) for o in data["ops"]],
                "eval_ops": None if data.get("eval_ops") is None else [op(o) for o in data["eval_ops"]],
                "eval_calls": [call(c) for c in data.get("eval_calls", [])],
            }
        )

    def ops_of(self, kind: str) -> list[Op]:
        return [op for op in self.ops if op.kind == kind]

    def module(self, path: str | None) -> DeclaredModule | None:
        return next((m for m in self.modules if m.path == path), None)


_OP_TUPLES = ("output_shape", "attrs", "receptive_field", "jump")


def _tuples(value: Any) -> Any:
    """Lists back into tuples, inside dicts too: shapes, layouts and attributes are all tuples."""
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    if isinstance(value, dict):
        return {key: _tuples(item) for key, item in value.items()}
    return value
