"""What the rules share: the rule record, the verdict, the options, and how a finding points at code."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from archcheck.records import DeclaredModule, Location, Op, Trace
from archcheck.report import Finding


@dataclass(frozen=True)
class Options:
    """The settings rules read; each comes from the settings table (``archcheck.config``)."""

    max_params: int
    strict_fc: bool
    num_classes: int
    min_receptive_field: int
    fc_after_gap: bool


@dataclass
class Verdict:
    passed: bool
    message: str
    measured: str | None = None
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    why: str  # the rationale, shown by --list-rules and in the README
    example: str
    check: Callable[[Trace, Options], Verdict]



def define(module_doc: str | None, rule_id: str, name: str, example: str, check: Callable[[Trace, Options], Verdict]) -> Rule:
    """A rule whose rationale is its module's docstring."""
    return Rule(rule_id, name, inspect.cleandoc(module_doc or ""), inspect.cleandoc(example), check)



def finding(trace: Trace, message: str, module: str | None, location: Location | None = None) -> Finding:
    """A finding at ``location``, else where the module was built, else at the model's definition."""
    if location is None:
        declared = trace.module(module)
        location = declared.location if declared and declared.location else trace.location
    return Finding(message, module, location.file if location else None, location.line if location else None)


def where(trace: Trace, op: Op) -> str:
    """Who ran an operation, in the user's terms: a layer, or a call in some forward()."""
    declared = trace.module(op.module)
    if declared is not None and declared.library:
        return f"{op.module} ({op.module_type})"
    if op.module and op.module.startswith("<"):
        return f"{op.func} in a {op.module_type} created inside forward()"
    owner = f"{op.module} ({op.module_type})" if op.module else trace.model
    return f"{op.func} in {owner}.forward"


def op_finding(trace: Trace, op: Op, message: str) -> Finding:
    return finding(trace, message, op.module, op.location)


def never_called(trace: Trace, type_word: str) -> list[DeclaredModule]:
    return [m for m in trace.modules if type_word in m.type and m.calls == 0]


def unused_findings(trace: Trace, modules: list[DeclaredModule]) -> list[Finding]:
    return [
        finding(trace, f"{m.type} {m.path} is declared in __init__ but never called in forward", m.path)
        for m in modules
    ]


def size(dims: tuple[int, ...] | list[int]) -> str:
    return "×".join(map(str, dims))


def covers(kernel: tuple[int, ...], padding: tuple[int, ...], spatial: tuple[int, ...]) -> bool:
    """Whether one window (starting ``padding`` before the input) spans every input position."""
    return bool(spatial) and all(k - p >= n for k, p, n in zip(kernel, padding, spatial))
