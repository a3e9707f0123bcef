"""Dropout must take part in the output: random masking of activations in the training step.

nn.Dropout, Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout, the
F.dropout* functions and a hand-written mask (x * (torch.rand_like(x) > p))
all count -- when they drop something from a tensor computed from the input
and the result is part of the output.  Dropout(0), dropout in eval mode or
with training=False, a dropout of a constant (torch.ones(1)), one whose result
is thrown away, and a Dropout layer declared but never called are no
regularisation at all, so they do not count.
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
    unused_finding,
    unused_findings,
    unused_reason,
    used,
    where,
)


def check(trace: Trace, options: Options) -> Verdict:
    ops = [op for op in trace.ops_of("dropout") if not op.attrs.get("constant") and not op.attrs.get("inert")]
    constants = [op for op in trace.ops_of("dropout") if op.attrs.get("constant")]
    inert = [op for op in trace.ops_of("dropout") if op.attrs.get("inert")]
    counted = [op for op in ops if used(op)]
    if counted:
        rates = sorted({f"p={1 - op.attrs['keep']:g}" for op in counted if op.attrs.get("keep") is not None})
        names = sorted({where(trace, op) for op in counted})
        shown = f" ({', '.join(rates)})" if rates else ""
        return Verdict(
            True,
            f"{plural(len(counted), 'dropout')} in the output's computation{shown}: {listed(names)}",
            f"{len(counted)} used",
        )
    findings = [unused_finding(trace, op, f"{where(trace, op)} {unused_reason(op)}") for op in ops]
    findings += [
        op_finding(trace, op, f"{where(trace, op)} drops values of a constant, not of anything computed from the input")
        for op in constants
    ]
    findings += [
        op_finding(trace, op, f"{where(trace, op)} runs with {op.attrs['inert']}, which drops nothing") for op in inert
    ]
    explained = {op.module for op in ops + inert}
    silent = {call.path: call for call in trace.calls if "Dropout" in call.type and call.path not in explained}
    findings += [
        finding(trace, f"{call.path} ({call.type}) ran but dropped nothing (eval mode)", call.path)
        for call in silent.values()
    ]
    findings += unused_findings(trace, never_called(trace, "Dropout"))
    if not findings:
        findings = [finding(trace, "add nn.Dropout(p) with p > 0 and call it in forward", "")]
    return Verdict(False, "no dropout in the output's computation: " + findings[0].message, "0 used", findings)


RULE = define(
    __doc__,
    "dropout",
    "Dropout executes",
    """
    self.drop = nn.Dropout(0.1)        # passes when forward uses self.drop(x)
    self.drop = nn.Dropout(0)          # fails: drops nothing
    F.dropout(x, 0.1, training=False)  # fails: does nothing
    F.dropout(torch.ones(1), 0.5)      # fails: drops nothing computed from the input
    """,
    check,
)
