"""Batch normalisation must take part in the output: normalisation by the statistics of the current batch.

It may come from nn.BatchNorm1d/2d/3d, SyncBatchNorm, the lazy variants, a
direct F.batch_norm(..., training=True) call, a TorchScript block, or a
hand-written normalisation by the batch's variance.  What counts is what
produces the output in a training step: a BatchNorm declared in __init__ but
never called, one whose result is thrown away (or multiplied by zero), one
that runs in eval mode or with training=False (fixed running statistics are
an affine map, not batch normalisation) does not count.  InstanceNorm,
LayerNorm and GroupNorm normalise each sample on its own and do not count.
"""

from __future__ import annotations

from archcheck.phrasing import listed, plural
from archcheck.records import BATCH, CHANNEL, Op, Trace
from archcheck.rules._shared import (
    Options,
    Verdict,
    define,
    finding,
    never_called,
    op_finding,
    unused_finding,
    unused_findings,
    unused_reason,
    used,
    where,
)

# A batch that shows a batch norm over parts of the batch (up to 4 parts) for what it is.
GHOST_CHECK_BATCH = 8


def _not_batch_norm(op: Op, traced_batch: int) -> str | None:
    """Why a normalisation is not batch normalisation, or None when it is."""
    attrs = op.attrs
    if op.kind == "reduce":  # a hand-written one: the variance over the batch (and positions) of each channel
        shape, layout = attrs["in_shape"], attrs["layout"]
        reduced = {role for d in attrs["dims"] if shape[d] > 1 for role in layout[d]}
        return None if BATCH in reduced and CHANNEL not in reduced else "not over the batch"
    if not attrs["training"]:
        return "uses fixed running statistics (eval mode or training=False), which is not batch normalisation"
    if attrs["samples"] < 2 and BATCH in attrs["layout"][0] and 1 < traced_batch < GHOST_CHECK_BATCH:
        # a part of a small traced batch: a "ghost" batch norm over chunks of a real batch sees more samples
        return (
            f"normalises one of the traced batch's {traced_batch} samples at a time (an instance norm at this"
            f" batch size); if it splits the batch into parts (ghost batch norm), check with --batch-size"
            f" {GHOST_CHECK_BATCH}"
        )
    if attrs["samples"] < 2 or BATCH not in attrs["layout"][0] or BATCH in attrs["layout"][1]:
        return "normalises each sample on its own (an instance norm), not over the batch"
    return None


def check(trace: Trace, options: Options) -> Verdict:
    candidates = trace.ops_of("batch_norm") + [op for op in trace.ops_of("reduce") if op.attrs["mode"] == "var"]
    traced_batch = trace.input_shape[0]
    real = [op for op in candidates if _not_batch_norm(op, traced_batch) is None]
    counted = [op for op in real if used(op)]
    if counted:
        names = sorted({where(trace, op) for op in counted})
        return Verdict(
            True,
            f"{plural(len(counted), 'batch normalisation')} in the output's computation: {listed(names)}",
            f"{len(counted)} used",
        )
    findings = [unused_finding(trace, op, f"{where(trace, op)} {unused_reason(op)}") for op in real]
    findings += [
        op_finding(trace, op, f"{where(trace, op)} {why}")
        for op in trace.ops_of("batch_norm")
        if (why := _not_batch_norm(op, traced_batch)) is not None
    ]
    unused = never_called(trace, "BatchNorm")
    findings += unused_findings(trace, unused)
    if not findings:
        findings = [finding(trace, "add a BatchNorm layer after a convolution and call it in forward", "")]
    return Verdict(
        False, "no batch normalisation in the output's computation: " + findings[0].message, "0 used", findings
    )


RULE = define(
    __doc__,
    "batchnorm",
    "BatchNorm executes",
    """
    def forward(self, x):
        return self.bn1(self.conv1(x))   # passes: the BatchNorm's result is used
    # fails: self.bn1 = nn.BatchNorm2d(16) declared in __init__ but never called
    # fails: with torch.no_grad(): self.bn1(x)   (its result thrown away)
    # fails: F.batch_norm(x, mean, var, training=False)   (fixed statistics)
    """,
    check,
)
