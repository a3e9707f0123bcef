"""A dropout with p > 0 must run in the training-mode forward pass.

nn.Dropout, Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout and the
F.dropout* functions all count -- when they actually drop something.
Dropout(0), a functional dropout called with training=False, and a Dropout
layer declared but never called are no regularisation at all, so they do
not count.
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
    op_finding,
    unused_findings,
    where,
)


def check(trace: Trace, options: Options) -> Verdict:
    ops = trace.ops_of("dropout")
    active = [op for op in ops if op.attrs["p"] > 0 and op.attrs["training"]]
    if active:
        rates = sorted({f"p={op.attrs['p']:g}" for op in active})
        names = sorted({where(trace, op) for op in active})
        return Verdict(True, f"{plural(len(active), 'dropout')} executed ({', '.join(rates)}): {listed(names)}",
                       f"{len(active)} executed")
    findings = [
        op_finding(trace, op, f"{where(trace, op)} runs with p=0, which drops nothing")
        if op.attrs["p"] <= 0
        else op_finding(trace, op, f"{where(trace, op)} runs with training=False, which does nothing")
        for op in ops
    ]
    unused = never_called(trace, "Dropout")
    findings += unused_findings(trace, unused)
    if not findings:
        findings = [finding(trace, "add nn.Dropout(p) with p > 0 and call it in forward", "")]
    inert = f"; {plural(len(ops), 'dropout')} ran but dropped nothing" if ops else ""
    unused_note = f"; {plural(len(unused), 'Dropout layer')} declared but never called" if unused else ""
    return Verdict(False, f"no dropout with p > 0 executed in training mode{inert}{unused_note}", "0 executed", findings)


RULE = define(__doc__, "dropout", "Dropout executes", """
    self.drop = nn.Dropout(0.1)     # passes when forward calls self.drop(x)
    self.drop = nn.Dropout(0)       # fails: drops nothing
    F.dropout(x, 0.1, training=False)  # fails: does nothing
    """, check)
