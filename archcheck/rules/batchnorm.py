"""A batch-normalisation operation must run in the forward pass.

It may come from nn.BatchNorm1d/2d/3d, SyncBatchNorm, the lazy variants or a
direct F.batch_norm call.  A BatchNorm layer that is declared in __init__ but
never called in forward does nothing, so it does not count: the check looks
at what executes, not at what is declared.  InstanceNorm, LayerNorm and
GroupNorm are different normalisations and do not count.
"""

from __future__ import annotations

from archcheck.phrasing import listed, plural
from archcheck.records import Trace
from archcheck.rules._shared import (
    Options,
    Verdict,
    define,
    finding,
    never_called,
    unused_findings,
    where,
)


def check(trace: Trace, options: Options) -> Verdict:
    ops = trace.ops_of("batch_norm")
    if ops:
        names = sorted({where(trace, op) for op in ops})
        return Verdict(True, f"{plural(len(ops), 'batch-norm operation')} executed: {listed(names)}", f"{len(ops)} executed")
    unused = never_called(trace, "BatchNorm")
    findings = unused_findings(trace, unused) or [
        finding(trace, "add a BatchNorm layer after a convolution and call it in forward", "")
    ]
    note = f"; {plural(len(unused), 'BatchNorm layer')} declared but never called" if unused else ""
    return Verdict(False, f"no batch-norm operation executed in forward{note}", "0 executed", findings)


RULE = define(__doc__, "batchnorm", "BatchNorm executes", """
    def forward(self, x):
        return self.bn1(self.conv1(x))   # passes: the BatchNorm runs
    # fails: self.bn1 = nn.BatchNorm2d(16) declared in __init__ but never called
    """, check)
