"""What the rules share: the rule record, the verdict, the options, and how a finding points at code."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from archcheck.records import CHANNEL, PART, SPACE, WEIGHT, DeclaredModule, Location, Op, Operand, Trace
from archcheck.report import Finding


@dataclass(frozen=True)
class Options:
    """The settings rules read; each comes from the settings table (``archcheck.config``)."""

    max_params: int
    strict_fc: bool
    num_classes: int
    min_receptive_field: int
    fc_after_gap: bool  # a fully connected classifier is allowed after an executed global average pool


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
    # a rule that forbids a kind of layer judges the eval-mode forward pass too (the model accuracy is measured with)
    forbids: bool = False


def define(
    module_doc: str | None,
    rule_id: str,
    name: str,
    example: str,
    check: Callable[[Trace, Options], Verdict],
    forbids: bool = False,
) -> Rule:
    """A rule whose rationale is its module's docstring."""
    return Rule(rule_id, name, inspect.cleandoc(module_doc or ""), inspect.cleandoc(example), check, forbids)


def finding(trace: Trace, message: str, module: str | None, location: Location | None = None) -> Finding:
    """A finding at ``location``, else where the module was built, else at the model's definition."""
    if location is None:
        declared = trace.module(module)
        location = declared.location if declared and declared.location else trace.location
    if location is None:
        return Finding(message, module)
    return Finding(message, module, location.file, location.line, location.cell)


def where(trace: Trace, op: Op) -> str:
    """Who ran an operation, in the user's terms: a layer, or a call in some forward()."""
    declared = trace.module(op.module)
    if op.module and op.module.startswith("<"):
        return f"{op.func} in a {op.module_type} created inside forward()"
    if op.module and (declared is None or declared.library):
        return f"{op.module} ({op.module_type})"
    owner = f"{op.module} ({op.module_type})" if op.module else trace.model
    return f"{op.func} in {owner}.forward"


def op_finding(trace: Trace, op: Op, message: str) -> Finding:
    return finding(trace, message, op.module, op.location)


def unused_finding(trace: Trace, op: Op, message: str) -> Finding:
    """A finding about a result that is thrown away points at the line that computed it, not where a layer was built."""
    declared = trace.module(op.module)
    in_a_layer = bool(op.module) and (declared is None or declared.library)
    return finding(trace, message, op.module, (op.call_site if in_a_layer else None) or op.location)


def never_called(trace: Trace, type_word: str) -> list[DeclaredModule]:
    return [m for m in trace.modules if type_word in m.type and m.calls == 0]


def unused_findings(trace: Trace, modules: list[DeclaredModule]) -> list[Finding]:
    return [
        finding(trace, f"{m.type} {m.path} is declared in __init__ but never called in forward", m.path)
        for m in modules
    ]


def size(dims: tuple[int, ...] | list[int]) -> str:
    return "×".join(map(str, dims))


# -- the dataflow: what counts is what produces the output ----------------------------------------------


def used(op: Op) -> bool:
    """Its result is part of the output: it flows there, and the output changes with it."""
    return op.reaches_output and op.contributes is not False


def unused_reason(op: Op) -> str:
    if not op.reaches_output:
        return "executed, but its result is not used (it never reaches the model's output)"
    return "executed, but its result does not change the output (its gradient is zero: it is multiplied away)"


def ancestors(trace: Trace, op: Op) -> set[int]:
    """The recorded operations whose results flow into ``op``."""
    by_id = {o.id: o for o in trace.ops}
    seen: set[int] = set()
    stack = list(op.inputs)
    while stack:
        current = stack.pop()
        if current not in seen and current in by_id:
            seen.add(current)
            stack.extend(by_id[current].inputs)
    return seen


def descendants(trace: Trace, op: Op) -> list[Op]:
    """The recorded operations ``op``'s result flows into."""
    found: set[int] = {op.id}
    result = []
    for other in trace.ops:  # in execution order: inputs come first
        if other.id != op.id and found & set(other.inputs):
            found.add(other.id)
            result.append(other)
    return result


# -- what operations are, in the rules' terms -------------------------------------------------------------


def global_average(op: Op) -> str | None:
    """How ``op`` averages (or sums) every position of a >1-position map, per channel; None if it does not."""
    attrs = op.attrs
    if op.kind == "pool" and attrs["mode"] == "avg":
        spatial = attrs["in_spatial"]
        out = tuple(op.output_shape[-len(spatial) :]) if op.output_shape else ()
        positions_only = all(set(roles) <= {SPACE} for roles in attrs["spatial"])
        whole = attrs["adaptive"] or all(k - p >= n for k, p, n in zip(attrs["kernel"], attrs["padding"], spatial))
        if positions_only and whole and all(n == 1 for n in out) and math.prod(spatial) > 1:
            return f"{size(spatial)} → {size(out)}"
    if op.kind == "conv" and attrs["averaging"] and attrs["groups"] == attrs["in_channels"] == attrs["out_channels"]:
        spatial = attrs["in_spatial"]  # a depthwise convolution with a fixed uniform kernel over the whole map
        whole = all(k >= n and p == 0 for k, n, p in zip(attrs["extent"], spatial, attrs["padding"]))
        if whole and set(attrs["channel_roles"]) <= {CHANNEL} and math.prod(spatial) > 1:
            return f"{size(spatial)} → 1×1"
    if op.kind == "reduce" and attrs["mode"] in ("mean", "sum"):
        shape, layout = attrs["in_shape"], attrs["layout"]
        reduced = [d for d in attrs["dims"] if shape[d] > 1]
        held = {role for d in reduced for role in layout[d]}
        all_positions = [d for d in range(len(shape)) if shape[d] > 1 and SPACE in layout[d]]
        cropped = any(PART in layout[d] for d in range(len(shape)) if shape[d] > 1)
        if reduced and held == {SPACE} and set(all_positions) <= set(reduced) and not cropped:
            return f"{size([shape[d] for d in reduced])} → 1×1"
    return None


def learned_operand(op: Op) -> Operand | None:
    """The learned tensor an activation is multiplied with, if it is one."""
    return next((o for o in op.operands[1:] if o.source == WEIGHT), None)


def depthwise(op: Op) -> bool:
    attrs = op.attrs
    return op.kind == "conv" and attrs["groups"] > 1 and attrs["groups"] == attrs["in_channels"]


def mixes_features(op: Op) -> bool:
    """A learned layer that combines features: a convolution or a product with a weight (not a per-channel filter)."""
    return op.kind in ("conv", "product") and learned_operand(op) is not None and not depthwise(op)


def dense(op: Op) -> bool:
    """A fully connected layer: a learned weight times the activations, summed over all features of a position.

    A product with a weight is one whenever it sums over features (an nn.Linear
    applied to each pixel included).  A convolution is one when no spatial
    position is kept apart (its kernel covers the whole input, or the map is
    1×1), when its channels hold flattened positions, or when its kernel slides
    over features laid out as positions (a Conv1d over a flattened map).
    """
    if not mixes_features(op):
        return False
    contracted = set(op.attrs["contracted"])
    if op.kind == "product":
        return bool(contracted & {CHANNEL, SPACE, PART})
    positions = {SPACE, PART}
    features_as_positions = CHANNEL in op.attrs["window_roles"]  # a kernel sliding over flattened features
    return (
        not set(op.attrs["kept"]) & positions
        or bool(set(op.attrs["channel_roles"]) & positions)
        or features_as_positions
    )


def mixes_positions(op: Op) -> bool:
    """It sums over spatial positions as well as features: a dense layer over the (flattened) map."""
    return bool(set(op.attrs["contracted"]) & {SPACE, PART})
