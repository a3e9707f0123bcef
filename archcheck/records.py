"""What one traced forward pass saw, as plain data.

These records are the only thing rules look at. They are built by
``archcheck.tracing.tracer`` inside the process that ran the model and travel to the
parent process as JSON, so they hold numbers, strings and shapes, never
tensors or modules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

Shape = tuple[int, ...]

# What one dimension of an activation holds (``Op.attrs["layout"]`` of reductions): the batch, channels,
# spatial positions, only some of the positions (a crop), channels and positions flattened together, or size 1.
BATCH, CHANNEL, SPACE, PART, MIXED, ONE = "batch", "channel", "space", "part", "mixed", "one"


@dataclass(frozen=True)
class Location:
    """A line of the user's code."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


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


@dataclass
class Operand:
    """Where a tensor argument of a recorded operation came from."""

    shape: Shape
    source: str  # "input" (derived from the model input), "parameter" (only from parameters) or "constant"
    parameter: str | None = None  # name of a parameter it derives from, when source == "parameter"
    mixes_positions: bool = False  # an input-derived tensor whose channels hold flattened spatial positions


@dataclass
class Op:
    """One functional or tensor operation that matters to a rule.

    ``kind`` is one of: "matmul" (linear, bilinear, matmul, mm, bmm, addmm,
    einsum, tensordot, multi-head attention projections...), "conv", "pool",
    "reduce", "batch_norm", "dropout".  ``attrs`` holds the kind-specific facts,
    documented in ``archcheck.tracing.tracer``.
    """

    kind: str
    func: str  # what was called, e.g. "torch.nn.functional.linear", "Tensor.mean"
    module: str | None  # innermost module whose forward was running, None at top level
    module_type: str | None
    location: Location | None  # the user line responsible
    operands: list[Operand]
    output_shape: Shape | None
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParamCount:
    total: int
    trainable: int
    frozen: int


@dataclass
class Trace:
    """Everything rules may use."""

    model: str  # class or factory name
    file: str | None
    location: Location | None  # where the model class or factory is defined
    input_shape: Shape  # including the batch dimension
    device: str  # "meta" or "cpu": where the forward pass ran
    device_note: str | None  # why the forward pass did not run on meta, when it did not
    params: ParamCount
    modules: list[DeclaredModule]
    calls: list[ModuleCall]
    ops: list[Op]
    notes: list[str] = field(default_factory=list)  # what the trace could not see, for the report

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        def location(value: dict | None) -> Location | None:
            return Location(**value) if value else None

        def shapes(values: list) -> list[Shape]:
            return [tuple(v) for v in values]

        return cls(
            model=data["model"],
            file=data["file"],
            location=location(data["location"]),
            input_shape=tuple(data["input_shape"]),
            device=data["device"],
            device_note=data["device_note"],
            params=ParamCount(**data["params"]),
            modules=[
                DeclaredModule(**{**m, "location": location(m["location"])}) for m in data["modules"]
            ],
            calls=[
                ModuleCall(
                    **{**c, "input_shapes": shapes(c["input_shapes"]), "output_shapes": shapes(c["output_shapes"])}
                )
                for c in data["calls"]
            ],
            ops=[
                Op(
                    **{
                        **o,
                        "location": location(o["location"]),
                        "operands": [Operand(**{**x, "shape": tuple(x["shape"])}) for x in o["operands"]],
                        "output_shape": tuple(o["output_shape"]) if o["output_shape"] is not None else None,
                    }
                )
                for o in data["ops"]
            ],
            notes=data["notes"],
        )

    def ops_of(self, kind: str) -> list[Op]:
        return [op for op in self.ops if op.kind == kind]

    def module(self, path: str | None) -> DeclaredModule | None:
        return next((m for m in self.modules if m.path == path), None)

