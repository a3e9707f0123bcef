"""A depthwise-separable convolution must take part in the output: a depthwise convolution, then a 1×1 one.

The depthwise part filters each channel on its own (groups equal to the input
channels, more than one, and a kernel larger than 1×1); the pointwise part
that follows it on its output path mixes the channels position by position (a
1×1 convolution, or the same product spelled otherwise).  Normalisation,
activations and dropout may sit between the two; another convolution may
not.  nn.Conv2d(c, c, 3, groups=c) and F.conv2d(x, w, groups=c) both count.
"""

from __future__ import annotations

from archcheck.phrasing import listed
from archcheck.records import SPACE, Op, Trace
from archcheck.rules._shared import (
    Options,
    Verdict,
    define,
    depthwise,
    finding,
    op_finding,
    unused_finding,
    unused_reason,
    used,
    where,
)


def _is_depthwise(op: Op) -> bool:
    return depthwise(op) and any(k > 1 for k in op.attrs["kernel"])


def _is_pointwise(op: Op) -> bool:
    if op.kind == "conv":
        return all(k == 1 for k in op.attrs["kernel"]) and not depthwise(op)
    return op.kind == "product" and set(op.attrs["contracted"]) == {"channel"} and SPACE in op.attrs["kept"]


def _feeding_layers(trace: Trace, op: Op) -> set[int]:
    """The convolutions and products whose results reach ``op`` with no other such layer in between."""
    by_id = {o.id: o for o in trace.ops}
    found: set[int] = set()
    stack, seen = list(op.inputs), set()
    while stack:
        current = stack.pop()
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        if by_id[current].kind in ("conv", "product"):
            found.add(current)
        else:
            stack.extend(by_id[current].inputs)
    return found


def check(trace: Trace, options: Options) -> Verdict:
    depthwise_ops = [op for op in trace.ops if _is_depthwise(op)]
    pairs = [
        (d, p)
        for p in trace.ops
        if _is_pointwise(p) and used(p)
        for d in depthwise_ops
        if d.id in _feeding_layers(trace, p) and used(d)
    ]
    if pairs:
        names = [f"{where(trace, d)} → {where(trace, p)}" for d, p in pairs]
        return Verdict(
            True,
            f"depthwise-separable convolution in the output's computation: {listed(names, most=2)}",
            f"{len(pairs)} used",
        )
    findings = [
        unused_finding(trace, d, f"{where(trace, d)} is depthwise but {unused_reason(d)}")
        if not used(d)
        else op_finding(
            trace, d, f"{where(trace, d)} is depthwise, but no 1×1 convolution follows it on its output path"
        )
        for d in depthwise_ops
    ]
    if not findings:
        findings = [
            finding(trace, "add a depthwise convolution (groups = in_channels) followed by a 1×1 convolution", "")
        ]
    return Verdict(
        False,
        "no depthwise-separable convolution in the output's computation: " + findings[0].message,
        "0 used",
        findings,
    )


RULE = define(
    __doc__,
    "depthwise-separable",
    "Depthwise-separable convolution",
    """
    nn.Conv2d(32, 32, 3, padding=1, groups=32), nn.Conv2d(32, 64, 1)   # passes
    nn.Conv2d(32, 64, 3, padding=1)                                     # fails: an ordinary convolution
    nn.Conv2d(32, 32, 3, groups=32) alone                               # fails: no 1×1 mixes the channels
    """,
    check,
)
