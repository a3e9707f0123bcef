"""A global average pool must take part in the output: an average over all positions of each channel's map.

GAP replaces the large dense classifier head: it is what lets a small CNN
classify without fully connected layers.  Any way of writing it counts
(AdaptiveAvgPool2d(1), an AvgPool whose window covers the whole map,
x.mean((2, 3)), x.flatten(2).mean(-1), x.view(b, c, -1).mean(-1),
torch.einsum('bchw->bc', x) / (h * w), a global sum, a depthwise convolution
with a fixed uniform kernel as large as the map) -- as long as its result
is part of the output.  A global max pool, an average that leaves more than
1×1 or misses part of the map, an "average" of a map that is already 1×1, and
a pool computed on the side (kept for plotting while the logits come from
elsewhere) do not count.
"""

from __future__ import annotations

import math

from archcheck.phrasing import listed
from archcheck.records import PART, SPACE, Op, Trace
from archcheck.rules._shared import (
    Options,
    Verdict,
    define,
    finding,
    global_average,
    never_called,
    op_finding,
    size,
    unused_finding,
    unused_findings,
    unused_reason,
    used,
    where,
)


def _near_miss(op: Op) -> str | None:
    """Why a pooling or reduction that looks like a GAP is not one, or None if it does not look like one."""
    attrs = op.attrs
    if op.kind == "pool":
        spatial = attrs["in_spatial"]
        out = tuple(op.output_shape[-len(spatial) :]) if op.output_shape else ()
        to_one = all(n == 1 for n in out)
        if attrs["mode"] != "avg":
            return (
                f"is a {'global ' if to_one else ''}{attrs['mode']} pool ({size(spatial)} → {size(out)}), not an average"
                if to_one
                else None
            )
        if to_one and math.prod(spatial) <= 1:
            return f"averages a map that is already {size(spatial)}, so it pools nothing"
        if to_one:
            return f"averages a {size(attrs['kernel'])} window of the {size(spatial)} map, not all of it"
        return f"averages {size(spatial)} → {size(out)}: a partial pool, not global"
    if op.kind != "reduce" or attrs["mode"] not in ("mean", "sum", "max"):
        return None
    shape, layout = attrs["in_shape"], attrs["layout"]
    reduced = [d for d in attrs["dims"] if shape[d] > 1]
    held = {role for d in reduced for role in layout[d]}
    if not reduced:
        return "averages a map that is already 1×1, so it pools nothing" if attrs["mode"] != "max" else None
    if not held & {SPACE, PART}:
        return None
    if held == {PART} or any(PART in layout[d] for d in range(len(shape)) if shape[d] > 1):
        return f"averages a crop of the map ({size([shape[d] for d in reduced])}), not all of it"
    if attrs["mode"] == "max" and held == {SPACE}:
        return f"takes the maximum over the {size([shape[d] for d in reduced])} map, not the average"
    if held - {SPACE}:
        roles = ", ".join("+".join(layout[d]) for d in reduced)
        return (
            f"reduces dims {reduced} ({roles}) of a {size(shape)} tensor; a GAP averages exactly the spatial"
            " positions of each channel"
        )
    return f"averages only some of the positions ({size([shape[d] for d in reduced])} of a {size(shape)} map)"


def check(trace: Trace, options: Options) -> Verdict:
    pooling = [op for op in trace.ops if op.kind in ("pool", "reduce", "conv")]
    found = [(op, how) for op in pooling if (how := global_average(op))]
    counted = [(op, how) for op, how in found if used(op)]
    if counted:
        op, how = counted[-1]
        names = sorted({where(trace, o) for o, _ in counted})
        return Verdict(True, f"global average pool in the output's computation: {listed(names, most=3)} ({how})", how)
    findings = [unused_finding(trace, op, f"{where(trace, op)} ({how}) {unused_reason(op)}") for op, how in found]
    findings += [op_finding(trace, op, f"{where(trace, op)} {why}") for op in pooling if (why := _near_miss(op))]
    findings += unused_findings(trace, never_called(trace, "AvgPool"))
    if not findings:
        findings = [finding(trace, "add nn.AdaptiveAvgPool2d(1) (or x.mean((2, 3))) before the classifier", "")]
    return Verdict(
        False, "no global average pool in the output's computation: " + findings[0].message, "none", findings
    )


RULE = define(
    __doc__,
    "gap",
    "Global average pooling executes",
    """
    nn.AdaptiveAvgPool2d(1)            # passes
    x.mean((2, 3))                     # passes
    F.avg_pool2d(x, x.shape[2:])       # passes
    nn.AdaptiveMaxPool2d(1)            # fails: a max, not an average
    nn.AvgPool2d(2)                    # fails: a partial pool
    """,
    check,
)
