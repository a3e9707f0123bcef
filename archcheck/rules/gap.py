"""A global average pool must run: an average over all spatial positions that leaves 1×1.

GAP replaces the large dense classifier head: it is what lets a small CNN
classify without fully connected layers.  Any way of writing it counts
(AdaptiveAvgPool2d(1), an AvgPool whose window covers the whole map,
x.mean((2, 3)), x.flatten(2).mean(-1)...).  A global max pool, an average
that leaves more than 1×1 or misses part of the map, and an "average" of a
map that is already 1×1 do not count.
"""

from __future__ import annotations

import math

from archcheck.phrasing import listed
from archcheck.records import MIXED, PART, Op, Trace
from archcheck.rules._shared import (
    Options,
    Verdict,
    covers,
    define,
    finding,
    never_called,
    op_finding,
    size,
    unused_findings,
    where,
)


def _global_average(op: Op) -> str | None:
    """How ``op`` averages a whole >1×1 map down to 1×1, or None if it does not."""
    attrs = op.attrs
    if op.kind == "pool" and attrs["mode"] == "avg":
        spatial, out = attrs["in_spatial"], attrs["out_spatial"]
        whole = attrs["adaptive"] or covers(attrs["kernel"], attrs["padding"], spatial)
        if whole and all(n == 1 for n in out) and math.prod(spatial) > 1:
            return f"{size(spatial)} → {size(out)}"
    if op.kind == "reduce" and attrs["mode"] in ("mean", "sum"):
        spatial = tuple(attrs["spatial_dims"])
        sizes = [attrs["in_shape"][d] for d in spatial]
        reduced = {d for d in attrs["dims"] if attrs["in_shape"][d] > 1}
        if spatial and reduced == set(spatial):
            return f"{size(sizes)} → 1×1"
    return None


def _gap_near_miss(op: Op) -> str | None:
    """Why a pooling or reduction that looks like a GAP is not one, or None if it does not look like one."""
    attrs = op.attrs
    if op.kind == "pool":
        spatial, out = attrs["in_spatial"], attrs["out_spatial"]
        to_one = all(n == 1 for n in out)
        if attrs["mode"] != "avg" and to_one:
            return f"is a global {attrs['mode']} pool ({size(spatial)} → {size(out)}), not an average"
        if attrs["mode"] == "avg" and to_one and math.prod(spatial) <= 1:
            return f"averages a map that is already {size(spatial)}, so it pools nothing"
        if attrs["mode"] == "avg" and to_one:
            return f"averages a {size(attrs['kernel'])} window of the {size(spatial)} map, not all of it"
        if attrs["mode"] == "avg":
            return f"averages {size(spatial)} → {size(out)}: a partial pool, not global"
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
            return f"averages a crop of the map ({size([shape[d] for d in sorted(reduced)])}), not all of it"
        if attrs["mode"] == "max" and reduced == spatial:
            return f"takes the maximum over the {size([shape[d] for d in sorted(spatial)])} map, not the average"
        roles = ", ".join(attrs["layout"][d] for d in sorted(reduced))
        return f"reduces dims {sorted(reduced)} ({roles}) of a {size(shape)} tensor; a GAP averages exactly the spatial positions of each channel"
    return None


def check(trace: Trace, options: Options) -> Verdict:
    pooling = [op for op in trace.ops if op.kind in ("pool", "reduce")]
    found = [(op, how) for op in pooling if (how := _global_average(op))]
    if found:
        op, how = found[0]
        names = sorted({where(trace, o) for o, _ in found})
        return Verdict(True, f"global average pool executed: {listed(names, most=3)} ({how})", how)
    findings = [
        op_finding(trace, op, f"{where(trace, op)} {why}") for op in pooling if (why := _gap_near_miss(op))
    ]
    unused = never_called(trace, "AvgPool")
    findings += unused_findings(trace, unused)
    if not findings:
        findings = [finding(trace, "add nn.AdaptiveAvgPool2d(1) (or x.mean((2, 3))) before the classifier", "")]
    return Verdict(False, "no global average pool executed: " + findings[0].message, "none", findings)


RULE = define(__doc__, "gap", "Global average pooling executes", """
    nn.AdaptiveAvgPool2d(1)            # passes
    x.mean((2, 3))                     # passes
    F.avg_pool2d(x, x.shape[2:])       # passes
    nn.AdaptiveMaxPool2d(1)            # fails: a max, not an average
    nn.AvgPool2d(2)                    # fails: a partial pool
    """, check)
