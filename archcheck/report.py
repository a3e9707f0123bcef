"""The report: the one object every output format renders.

A report is either a verdict on a model (``status`` "passed" or "failed") or
the reason it could not be checked (``status`` "error").  Its ``to_dict`` is
the documented JSON schema (``--format json``); bump ``SCHEMA_VERSION`` when
it changes incompatibly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from archcheck.records import ParamCount, Shape, Trace

SCHEMA_VERSION = 1

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_ERROR = 2


@dataclass
class Finding:
    """One piece of evidence for a verdict, pointing at the code responsible."""

    message: str
    module: str | None = None
    file: str | None = None
    line: int | None = None


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


@dataclass
class CheckError:
    """Why a model could not be checked."""

    phase: str  # "config", "load", "import", "build", "trace", "timeout", "memory", "internal"
    reason: str  # one line, shown to the user
    detail: str | None = None  # traceback, shown with --verbose


@dataclass
class Report:
    file: str
    model: str | None = None
    rules: list[RuleResult] = field(default_factory=list)
    params: ParamCount | None = None
    device: str | None = None
    device_note: str | None = None
    input_shape: Shape | None = None
    layers: list[Layer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # limits of this check worth knowing
    error: CheckError | None = None
    output: str = ""  # what the model's code printed, shown with --verbose

    @property
    def status(self) -> str:
        if self.error is not None:
            return "error"
        return "passed" if self.passed else "failed"

    @property
    def path(self) -> str:
        """The model file alone: ``file`` is the target's label, which may end in ``::Name``."""
        return self.file.partition("::")[0]

    @property
    def passed(self) -> bool:
        return self.error is None and all(rule.passed for rule in self.rules)

    @property
    def exit_code(self) -> int:
        return {"passed": EXIT_PASSED, "failed": EXIT_FAILED, "error": EXIT_ERROR}[self.status]

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
            **data,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(
            file=data["file"],
            model=data["model"],
            rules=[
                RuleResult(**{**r, "findings": [Finding(**f) for f in r["findings"]]}) for r in data["rules"]
            ],
            params=ParamCount(**data["params"]) if data["params"] else None,
            device=data["device"],
            device_note=data["device_note"],
            input_shape=tuple(data["input_shape"]) if data["input_shape"] else None,
            layers=[
                Layer(**{**row, "output_shape": tuple(row["output_shape"]) if row["output_shape"] else None})
                for row in data["layers"]
            ],
            notes=data["notes"],
            error=CheckError(**data["error"]) if data["error"] else None,
        )


def worst_exit_code(reports: list[Report]) -> int:
    """The exit code for several reports: an error beats a failure beats a pass."""
    return max((report.exit_code for report in reports), default=EXIT_PASSED)


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
        rows.append(Layer(call.path, call.type, call.depth, output, params.get(call.path, 0) if first else 0, True))
    for module in trace.modules:
        if module.calls == 0:
            depth = module.path.count(".") + 1 if module.path else 0
            rows.append(Layer(module.path, module.type, depth, None, module.params, False))
    return rows
