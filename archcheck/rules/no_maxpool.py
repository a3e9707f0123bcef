"""No max pooling may take part in the output: downsample with strided or dilated convolutions instead.

Every spelling counts: nn.MaxPool1d/2d/3d, F.max_pool2d, adaptive and
fractional max pools, a maximum taken over spatial positions
(x.amax((2, 3)), x.max(dim=-1) over a flattened map), and one written by
hand as the elementwise maximum of shifted slices
(torch.maximum(x[..., ::2, ::2], x[..., 1::2, ::2]) ...).  A maximum over
channels is not pooling, and a max pool whose result is thrown away does not
take part in the output.  The eval-mode pass is judged as well as the
training step.
"""

from __future__ import annotations

from archcheck.phrasing import plural
from archcheck.records import PART, SPACE, Op, Trace
from archcheck.report import Finding
from archcheck.rules._shared import Options, Verdict, define, op_finding, size, used, where


def _max_pool(op: Op) -> str | None:
    """How ``op`` takes a maximum over positions, or None."""
    attrs = op.attrs
    if op.kind == "pool" and attrs["mode"] == "max":
        return f"a {size(attrs['kernel'])} max pool"
    if op.kind == "reduce" and attrs["mode"] == "max":
        shape, layout = attrs["in_shape"], attrs["layout"]
        if any({SPACE, PART} & set(layout[d]) for d in attrs["dims"] if shape[d] > 1):
            return "a maximum over spatial positions"
    return None


def check(trace: Trace, options: Options) -> Verdict:
    pools = [(op, how) for op in trace.ops if (how := _max_pool(op))]
    # One pool may take several maxima (over rows, then columns; of four shifted slices, pairwise): a maximum
    # feeding straight into another is part of it, and the pool is reported once, where it ends.
    feeding = {i for op, _ in pools if used(op) for i in op.inputs}
    findings: list[Finding] = [
        op_finding(trace, op, f"{where(trace, op)} is {how}") for op, how in pools if used(op) and op.id not in feeding
    ]
    if findings:
        return Verdict(
            False,
            f"{plural(len(findings), 'max pool')} in the output's computation: {findings[0].message}",
            f"{len(findings)} used",
            findings,
        )
    note = "; a max pool executed, but its result is not used" if pools else ""
    return Verdict(True, f"no max pooling in the output's computation{note}", "0 used")


RULE = define(
    __doc__,
    "no-maxpool",
    "No max pooling",
    """
    nn.Conv2d(32, 32, 3, stride=2, padding=1)   # passes: a strided convolution downsamples
    nn.MaxPool2d(2)                             # fails
    F.max_pool2d(x, 2)                          # fails
    """,
    check,
    forbids=True,
)
