"""The architecture rules: one small function each, from a trace to a verdict.

Each rule is registered with a stable id, a name, an example, and a docstring
that says why the rule exists; the README's rule reference and
``archcheck --list-rules`` are generated from them.  Rules read only the
trace records (``archcheck.records``) -- never torch objects, never output
formats -- so they are plain, fast and easy to test.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from archcheck.records import MIXED, PART, DeclaredModule, Location, Op, Trace
from archcheck.report import Finding
from archcheck.wording import listed, plural


@dataclass(frozen=True)
class Options:
    """Settings a rule may read."""

    max_params: int = 20_000
    strict_fc: bool = False


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
    why: str
    example: str
    check: Callable[[Trace, Options], Verdict]


RULES: dict[str, Rule] = {}


def rule(rule_id: str, name: str, example: str) -> Callable[[Callable[[Trace, Options], Verdict]], Callable]:
    """Register a rule; its docstring is the rationale shown to users."""

    def register(check: Callable[[Trace, Options], Verdict]) -> Callable:
        RULES[rule_id] = Rule(rule_id, name, inspect.cleandoc(check.__doc__ or ""), inspect.cleandoc(example), check)
        return check

    return register


# -- helpers shared by the rules ------------------------------------------------------------------


def _finding(trace: Trace, message: str, module: str | None, location: Location | None = None) -> Finding:
    """A finding at ``location``, else where the module was built, else at the model's definition."""
    if location is None:
        declared = trace.module(module)
        location = declared.location if declared and declared.location else trace.location
    return Finding(message, module, location.file if location else None, location.line if location else None)


def _where(trace: Trace, op: Op) -> str:
    """Who ran an operation, in the user's terms: a layer, or a call in some forward()."""
    declared = trace.module(op.module)
    if declared is not None and declared.library:
        return f"{op.module} ({op.module_type})"
    if op.module and op.module.startswith("<"):
        return f"{op.func} in a {op.module_type} created inside forward()"
    owner = f"{op.module} ({op.module_type})" if op.module else trace.model
    return f"{op.func} in {owner}.forward"


def _op_finding(trace: Trace, op: Op, message: str) -> Finding:
    return _finding(trace, message, op.module, op.location)


def _never_called(trace: Trace, type_word: str) -> list[DeclaredModule]:
    return [m for m in trace.modules if type_word in m.type and m.calls == 0]


def _unused_findings(trace: Trace, modules: list[DeclaredModule]) -> list[Finding]:
    return [
        _finding(trace, f"{m.type} {m.path} is declared in __init__ but never called in forward", m.path)
        for m in modules
    ]


def _size(dims: tuple[int, ...] | list[int]) -> str:
    return "×".join(map(str, dims))


def _covers(kernel: tuple[int, ...], padding: tuple[int, ...], spatial: tuple[int, ...]) -> bool:
    """Whether one window (starting ``padding`` before the input) spans every input position."""
    return bool(spatial) and all(k - p >= n for k, p, n in zip(kernel, padding, spatial))


# -- the rules ------------------------------------------------------------------------------------


@rule(
    "max-params",
    "Parameter budget",
    """
    # passes: 1×1 and 3×3 convolutions keep the count low
    nn.Conv2d(16, 32, 3, bias=False)   # 4,608 parameters
    # fails: one dense layer can blow the budget on its own
    nn.Linear(32 * 7 * 7, 10)          # 15,690 parameters
    """,
)
def max_params(trace: Trace, options: Options) -> Verdict:
    """The model must have fewer parameters than the limit (20,000 in the mnist preset).

    Every parameter tensor counts once, even when it is shared between layers or
    tied; frozen parameters (requires_grad=False) count too, because they are
    still part of the model; buffers such as BatchNorm's running statistics do
    not.  Lazy layers are counted after the forward pass has given them their
    shapes.  Hand-computed totals in READMEs are often wrong: this one is counted.
    """
    params, limit = trace.params, options.max_params
    summary = f"{params.total:,} parameters ({params.trainable:,} trainable, {params.frozen:,} frozen)"
    measured = f"{params.total:,}"
    if params.total < limit:
        return Verdict(True, f"{summary}, under the limit of {limit:,}", measured)
    heaviest = sorted((m for m in trace.modules if m.params), key=lambda m: -m.params)[:3]
    findings = [
        _finding(trace, f"{m.path or trace.model} ({m.type}) holds {m.params:,} parameters", m.path) for m in heaviest
    ]
    over = params.total - limit + 1
    return Verdict(False, f"{summary}: must be fewer than {limit:,} ({over:,} too many)", measured, findings)


@rule(
    "batchnorm",
    "BatchNorm executes",
    """
    def forward(self, x):
        return self.bn1(self.conv1(x))   # passes: the BatchNorm runs
    # fails: self.bn1 = nn.BatchNorm2d(16) declared in __init__ but never called
    """,
)
def batchnorm(trace: Trace, options: Options) -> Verdict:
    """A batch-normalisation operation must run in the forward pass.

    It may come from nn.BatchNorm1d/2d/3d, SyncBatchNorm, the lazy variants or a
    direct F.batch_norm call.  A BatchNorm layer that is declared in __init__ but
    never called in forward does nothing, so it does not count: the check looks
    at what executes, not at what is declared.  InstanceNorm, LayerNorm and
    GroupNorm are different normalisations and do not count.
    """
    ops = trace.ops_of("batch_norm")
    if ops:
        names = sorted({_where(trace, op) for op in ops})
        return Verdict(True, f"{plural(len(ops), 'batch-norm operation')} executed: {listed(names)}", f"{len(ops)} executed")
    unused = _never_called(trace, "BatchNorm")
    findings = _unused_findings(trace, unused) or [
        _finding(trace, "add a BatchNorm layer after a convolution and call it in forward", "")
    ]
    note = f"; {plural(len(unused), 'BatchNorm layer')} declared but never called" if unused else ""
    return Verdict(False, f"no batch-norm operation executed in forward{note}", "0 executed", findings)


@rule(
    "dropout",
    "Dropout executes",
    """
    self.drop = nn.Dropout(0.1)     # passes when forward calls self.drop(x)
    self.drop = nn.Dropout(0)       # fails: drops nothing
    F.dropout(x, 0.1, training=False)  # fails: does nothing
    """,
)
def dropout(trace: Trace, options: Options) -> Verdict:
    """A dropout with p > 0 must run in the training-mode forward pass.

    nn.Dropout, Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout and the
    F.dropout* functions all count -- when they actually drop something.
    Dropout(0), a functional dropout called with training=False, and a Dropout
    layer declared but never called are no regularisation at all, so they do
    not count.
    """
    ops = trace.ops_of("dropout")
    active = [op for op in ops if op.attrs["p"] > 0 and op.attrs["training"]]
    if active:
        rates = sorted({f"p={op.attrs['p']:g}" for op in active})
        names = sorted({_where(trace, op) for op in active})
        return Verdict(True, f"{plural(len(active), 'dropout')} executed ({', '.join(rates)}): {listed(names)}",
                       f"{len(active)} executed")
    findings = [
        _op_finding(trace, op, f"{_where(trace, op)} runs with p=0, which drops nothing")
        if op.attrs["p"] <= 0
        else _op_finding(trace, op, f"{_where(trace, op)} runs with training=False, which does nothing")
        for op in ops
    ]
    unused = _never_called(trace, "Dropout")
    findings += _unused_findings(trace, unused)
    if not findings:
        findings = [_finding(trace, "add nn.Dropout(p) with p > 0 and call it in forward", "")]
    inert = f"; {plural(len(ops), 'dropout')} ran but dropped nothing" if ops else ""
    unused_note = f"; {plural(len(unused), 'Dropout layer')} declared but never called" if unused else ""
    return Verdict(False, f"no dropout with p > 0 executed in training mode{inert}{unused_note}", "0 executed", findings)


def _global_average(op: Op) -> str | None:
    """How ``op`` averages a whole >1×1 map down to 1×1, or None if it does not."""
    attrs = op.attrs
    if op.kind == "pool" and attrs["mode"] == "avg":
        spatial, out = attrs["in_spatial"], attrs["out_spatial"]
        whole = attrs["adaptive"] or _covers(attrs["kernel"], attrs["padding"], spatial)
        if whole and all(n == 1 for n in out) and math.prod(spatial) > 1:
            return f"{_size(spatial)} → {_size(out)}"
    if op.kind == "reduce" and attrs["mode"] in ("mean", "sum"):
        spatial = tuple(attrs["spatial_dims"])
        sizes = [attrs["in_shape"][d] for d in spatial]
        reduced = {d for d in attrs["dims"] if attrs["in_shape"][d] > 1}
        if spatial and reduced == set(spatial):
            return f"{_size(sizes)} → 1×1"
    return None


def _gap_near_miss(op: Op) -> str | None:
    """Why a pooling or reduction that looks like a GAP is not one, or None if it does not look like one."""
    attrs = op.attrs
    if op.kind == "pool":
        spatial, out = attrs["in_spatial"], attrs["out_spatial"]
        to_one = all(n == 1 for n in out)
        if attrs["mode"] != "avg" and to_one:
            return f"is a global {attrs['mode']} pool ({_size(spatial)} → {_size(out)}), not an average"
        if attrs["mode"] == "avg" and to_one and math.prod(spatial) <= 1:
            return f"averages a map that is already {_size(spatial)}, so it pools nothing"
        if attrs["mode"] == "avg" and to_one:
            return f"averages a {_size(attrs['kernel'])} window of the {_size(spatial)} map, not all of it"
        if attrs["mode"] == "avg":
            return f"averages {_size(spatial)} → {_size(out)}: a partial pool, not global"
        return None
    if op.kind == "reduce":
        shape, spatial = attrs["in_shape"], set(attrs["spatial_dims"])
        reduced = {d for d in attrs["dims"] if shape[d] > 1}
        if not reduced:
            return "averages a map that is already 1×1, so it pools nothing" if attrs["mode"] != "max" else None
        roles_reduced = {attrs["layout"][d] for d in reduced}
        if not reduced & spatial and not roles_reduced & {MIXED, PART}:
            return None
        if roles_reduced == {PART}:
            return f"averages a crop of the map ({_size([shape[d] for d in sorted(reduced)])}), not all of it"
        if attrs["mode"] == "max" and reduced == spatial:
            return f"takes the maximum over the {_size([shape[d] for d in sorted(spatial)])} map, not the average"
        roles = ", ".join(attrs["layout"][d] for d in sorted(reduced))
        return f"reduces dims {sorted(reduced)} ({roles}) of a {_size(shape)} tensor; a GAP averages exactly the spatial positions of each channel"
    return None


@rule(
    "gap",
    "Global average pooling executes",
    """
    nn.AdaptiveAvgPool2d(1)            # passes
    x.mean((2, 3))                     # passes
    F.avg_pool2d(x, x.shape[2:])       # passes
    nn.AdaptiveMaxPool2d(1)            # fails: a max, not an average
    nn.AvgPool2d(2)                    # fails: a partial pool
    """,
)
def gap(trace: Trace, options: Options) -> Verdict:
    """A global average pool must run: an average over all spatial positions that leaves 1×1.

    GAP replaces the large dense classifier head: it is what lets a small CNN
    classify without fully connected layers.  Any way of writing it counts
    (AdaptiveAvgPool2d(1), an AvgPool whose window covers the whole map,
    x.mean((2, 3)), x.flatten(2).mean(-1)...).  A global max pool, an average
    that leaves more than 1×1 or misses part of the map, and an "average" of a
    map that is already 1×1 do not count.
    """
    pooling = [op for op in trace.ops if op.kind in ("pool", "reduce")]
    found = [(op, how) for op in pooling if (how := _global_average(op))]
    if found:
        op, how = found[0]
        names = sorted({_where(trace, o) for o, _ in found})
        return Verdict(True, f"global average pool executed: {listed(names, most=3)} ({how})", how)
    findings = [
        _op_finding(trace, op, f"{_where(trace, op)} {why}") for op in pooling if (why := _gap_near_miss(op))
    ]
    unused = _never_called(trace, "AvgPool")
    findings += _unused_findings(trace, unused)
    if not findings:
        findings = [_finding(trace, "add nn.AdaptiveAvgPool2d(1) (or x.mean((2, 3))) before the classifier", "")]
    return Verdict(False, "no global average pool executed: " + findings[0].message, "none", findings)


@rule(
    "no-linear",
    "No fully connected layer executes",
    """
    nn.Conv2d(32, 10, 1)    # passes after GAP: a 1×1 convolution on the 1×1 map
    nn.Linear(32, 10)       # fails
    F.linear(x, self.w)     # fails
    x @ self.weight.t()     # fails: a matrix product with a parameter
    """,
)
def no_linear(trace: Trace, options: Options) -> Verdict:
    """No fully connected layer may run.

    The assignment asks for a fully convolutional network.  Any matrix product
    between the activations and a parameter is a fully connected layer however
    it is spelled: nn.Linear and its subclasses (LazyLinear, the projections of
    nn.MultiheadAttention), nn.Bilinear, F.linear, and hand-written layers such
    as x @ W, torch.mm, torch.addmm or torch.einsum with a parameter operand.  A
    convolution whose kernel covers its whole input (say 7×7 on a 7×7 map) is
    a fully connected layer too.  A 1×1 convolution on the 1×1 map left by GAP
    is allowed, as the classic assignment allows it; --strict-fc forbids it as well.
    A matrix product of two activations (attention scores) is not a layer.
    """
    findings: list[Finding] = []
    allowed = 0
    for op in trace.ops:
        if op.kind == "matmul":
            sources = {operand.source for operand in op.operands}
            if {"input", "parameter"} <= sources:
                parameter = next(o for o in op.operands if o.source == "parameter")
                findings.append(_op_finding(
                    trace, op, f"{_where(trace, op)} is a fully connected layer ({op.attrs['form']} with parameter "
                    f"{parameter.parameter}, {_size(parameter.shape)})",
                ))
        elif op.kind == "conv" and not op.attrs["transposed"]:
            attrs = op.attrs
            extent = tuple(d * (k - 1) + 1 for d, k in zip(attrs["dilation"], attrs["kernel"]))
            depthwise = attrs["groups"] > 1 and attrs["groups"] == attrs["in_channels"]
            if depthwise or not _covers(extent, attrs["padding"], attrs["in_spatial"]):
                continue
            if op.operands[0].mixes_positions:
                findings.append(_op_finding(
                    trace, op, f"{_where(trace, op)} runs on a flattened feature map (every position in its "
                    "channels), which makes it a fully connected layer",
                ))
            elif math.prod(attrs["in_spatial"]) > 1:
                findings.append(_op_finding(
                    trace, op, f"{_where(trace, op)}: its {_size(attrs['kernel'])} kernel covers its whole "
                    f"{_size(attrs['in_spatial'])} input, which makes it a fully connected layer",
                ))
            elif options.strict_fc:
                findings.append(_op_finding(
                    trace, op, f"{_where(trace, op)}: a convolution on a 1×1 map is a fully connected layer (--strict-fc)"
                ))
            else:
                allowed += 1
    if findings:
        return Verdict(False, f"{plural(len(findings), 'fully connected layer')} executed: {findings[0].message}",
                       f"{len(findings)} FC", findings)
    notes = []
    if allowed:
        notes.append(f"{plural(allowed, 'convolution')} on a 1×1 map allowed: the classifier head after global pooling"
                     " (--strict-fc forbids it)")
    unused = _never_called(trace, "Linear")
    if unused:
        notes.append(f"{', '.join(m.path for m in unused)} declared but never called")
    return Verdict(True, "no fully connected layer executed" + "".join(f"; {n}" for n in notes), "0 FC")
