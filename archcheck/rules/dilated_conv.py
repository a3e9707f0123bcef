"""A dilated convolution must take part in the output: a kernel larger than 1 with gaps (dilation > 1).

Dilation widens the receptive field without pooling and without more
parameters.  nn.Conv2d(..., dilation=2), F.conv2d(..., dilation=(2, 2)) and a
dilation along one dimension only all count; a dilation on a 1×1 kernel
changes nothing and does not.
"""

from __future__ import annotations

from archcheck.phrasing import listed
from archcheck.records import Op, Trace
from archcheck.rules._shared import (
    Options,
    Verdict,
    define,
    finding,
    op_finding,
    size,
    unused_finding,
    unused_reason,
    used,
    where,
)


def _dilated(op: Op) -> bool:
    return op.kind == "conv" and any(d > 1 and k > 1 for d, k in zip(op.attrs["dilation"], op.attrs["kernel"]))


def check(trace: Trace, options: Options) -> Verdict:
    dilated = [op for op in trace.ops if _dilated(op)]
    counted = [op for op in dilated if used(op)]
    if counted:
        names = [f"{where(trace, op)} (dilation {size(op.attrs['dilation'])})" for op in counted]
        return Verdict(
            True, f"dilated convolution in the output's computation: {listed(names, most=3)}", f"{len(counted)} used"
        )
    findings = [unused_finding(trace, op, f"{where(trace, op)} is dilated but {unused_reason(op)}") for op in dilated]
    findings += [
        op_finding(
            trace,
            op,
            f"{where(trace, op)} has dilation {size(op.attrs['dilation'])} on a 1×1 kernel, which changes nothing",
        )
        for op in trace.ops_of("conv")
        if any(d > 1 for d in op.attrs["dilation"]) and not _dilated(op)
    ]
    if not findings:
        findings = [finding(trace, "add a convolution with dilation=2 (padding=2 keeps a 3×3 map's size)", "")]
    return Verdict(
        False, "no dilated convolution in the output's computation: " + findings[0].message, "0 used", findings
    )


RULE = define(
    __doc__,
    "dilated-conv",
    "Dilated convolution",
    """
    nn.Conv2d(32, 32, 3, padding=2, dilation=2)   # passes
    nn.Conv2d(32, 32, 1, dilation=2)              # fails: a 1×1 kernel has no gaps to widen
    """,
    check,
)
