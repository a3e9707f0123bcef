"""The report: the one object every output format renders.

A report is either a verdict on a model (``status`` "passed" or "failed") or
the reason it could not be checked (``status`` "error").  Its ``to_dict`` is
the documented JSON schema (``--format json``); bump ``SCHEMA_VERSION`` when
it changes incompatibly (new fields are not a break).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from archcheck.records import ParamCount, Shape, Trace

SCHEMA_VERSION = 1

Status = Literal["passed", "failed", "error"]
# The statuses from best to worst: with several models, the worst one wins
# (an error beats a failure beats a pass), for the exit code and for summaries.
STATUSES: tuple[Status, ...] = ("passed", "failed", "error")
EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_CODES: dict[Status, int] = {"passed": EXIT_PASSED, "failed": EXIT_FAILED, "error": EXIT_ERROR}


@dataclass
class Finding:
    """One piece of evidence for a verdict, pointing at the code responsible."""

    message: str
    module: str | None = None
    file: str | None = None
    line: int | None = None
    cell: int | None = None  # in a notebook, the cell (from 1) whose line ``line`` is


@dataclass
class RuleResult:
    id: str
    name: str
    passed: bool
    message: str
    measured: str | None = None  # the figure the verdict rests on, e.g. "23,760" or "2 executed"
    findings: list[Finding] = field(default_factory=list)


@dataclass
class Layer:
    """A row of the layer table: one module call, or a module that never ran."""

    path: str
    type: str
    depth: int
    output_shape: Shape | None
    params: int
    called: bool
    # The way students write the table by hand: the receptive field of one output position
    # in input pixels, the jump (the cumulative stride: input pixels between neighbouring
    # outputs) and the multiply-accumulates per image.  None where it does not apply.
    receptive_field: int | None = None
    jump: int | None = None
    macs: int | None = None


@dataclass
class CheckError:
    """Why a model could not be checked."""

    phase: str  # "config", "load", "start", "import", "build", "trace", "internal"
    reason: str  # one line, shown to the user
    detail: str | None = None  # traceback, shown with --verbose


@dataclass
class Report:
    path: str  # the model file, as the user gave it
    name: str | None = None  # the model picked with FILE::NAME, if one was
    model: str | None = None  # the class (or factory) that was traced
    preset: str | None = None
    config: str | None = None  # the config file that was applied; None: no config
    ignored: list[str] = field(default_factory=list)  # rules of the preset that the settings switched off
    rules: list[RuleResult] = field(default_factory=list)
    params: ParamCount | None = None
    macs: int | None = None  # multiply-accumulates per image, all layers together
    device: str | None = None
    device_note: str | None = None
    input_shape: Shape | None = None
    layers: list[Layer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # limits of this check worth knowing
    stubbed: list[str] = field(default_factory=list)  # missing packages replaced by inert stubs
    error: CheckError | None = None
    output: str = ""  # what the model's code printed, shown with --verbose

    @property
    def label(self) -> str:
        """The target as the user wrote it: ``model.py``, or ``model.py::Net`` when a name was picked."""
        return f"{self.path}::{self.name}" if self.name else self.path

    @property
    def status(self) -> Status:
        if self.error is not None:
            return "error"
        return "passed" if self.passed else "failed"

    @property
    def passed(self) -> bool:
        return self.error is None and all(rule.passed for rule in self.rules)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def failing(self) -> list[RuleResult]:
        return [rule for rule in self.rules if not rule.passed]

    def rule(self, rule_id: str) -> RuleResult:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(f"no result for rule {rule_id!r} (enabled: {', '.join(r.id for r in self.rules)})")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["output"]
        return {
            "schema_version": SCHEMA_VERSION,
            "status": self.status,
            "passed": self.passed,
            "exit_code": self.exit_code,
            "file": self.label,
            **data,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(
            path=data["path"],
            name=data["name"],
            model=data["model"],
            preset=data["preset"],
            config=data["config"],
            ignored=data["ignored"],
            rules=[RuleResult(**{**r, "findings": [Finding(**f) for f in r["findings"]]}) for r in data["rules"]],
            params=ParamCount(**data["params"]) if data["params"] else None,
            macs=data["macs"],
            device=data["device"],
            device_note=data["device_note"],
            input_shape=tuple(data["input_shape"]) if data["input_shape"] else None,
            layers=[
                Layer(**{**row, "output_shape": tuple(row["output_shape"]) if row["output_shape"] else None})
                for row in data["layers"]
            ],
            notes=data["notes"],
            stubbed=data["stubbed"],
            error=CheckError(**data["error"]) if data["error"] else None,
        )

    def _repr_html_(self) -> str:
        """How a notebook shows a report: the verdict and the tables, not a dataclass dump."""
        from archcheck.render.notebook import report_html

        return report_html(self)

    def __rich__(self) -> Any:
        """How rich (``rich.print(report)``, IPython with rich) shows a report: as ``archcheck`` prints it."""
        from archcheck.render.text_format import report_renderable

        return report_renderable(self)


def worst_status(reports: list[Report]) -> Status:
    """The status of several reports together: the worst of them."""
    return max((report.status for report in reports), key=STATUSES.index, default="passed")


def worst_exit_code(reports: list[Report]) -> int:
    """The exit code for several reports: an error beats a failure beats a pass."""
    return EXIT_CODES[worst_status(reports)]


def layer_table(trace: Trace) -> list[Layer]:
    """Module calls in execution order, then the modules that never ran.

    A module's parameters are shown on its first call only, so the column adds
    up to the total even when a layer is called twice.
    """
    params = {m.path: m.params for m in trace.modules}
    shown: set[str] = set()
    rows = []
    for call in trace.calls:
        first = call.path not in shown
        shown.add(call.path)
        output = call.output_shapes[0] if call.output_shapes else None
        rows.append(
            Layer(
                call.path,
                call.type,
                call.depth,
                output,
                params.get(call.path, 0) if first else 0,
                True,
                # one figure per layer, as students tabulate it: the field must cover this in every direction
                receptive_field=min(call.receptive_field) if call.receptive_field else None,
                jump=min(call.jump) if call.jump else None,
                macs=call.macs,
            )
        )
    for module in trace.modules:
        if module.calls == 0:
            depth = module.path.count(".") + 1 if module.path else 0
            rows.append(Layer(module.path, module.type, depth, None, module.params, False))
    return rows
