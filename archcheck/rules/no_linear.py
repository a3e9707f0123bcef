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

from __future__ import annotations

import math

from archcheck.phrasing import plural
from archcheck.records import Trace
from archcheck.report import Finding
from archcheck.rules._shared import (
    Options,
    Verdict,
    covers,
    define,
    never_called,
    op_finding,
    size,
    where,
)


def check(trace: Trace, options: Options) -> Verdict:
    findings: list[Finding] = []
    allowed = 0
    for op in trace.ops:
        if op.kind == "matmul":
            sources = {operand.source for operand in op.operands}
            if {"input", "parameter"} <= sources:
                parameter = next(o for o in op.operands if o.source == "parameter")
                findings.append(op_finding(
                    trace, op, f"{where(trace, op)} is a fully connected layer ({op.attrs['form']} with parameter "
                    f"{parameter.parameter}, {size(parameter.shape)})",
                ))
        elif op.kind == "conv" and not op.attrs["transposed"]:
            attrs = op.attrs
            extent = tuple(d * (k - 1) + 1 for d, k in zip(attrs["dilation"], attrs["kernel"]))
            depthwise = attrs["groups"] > 1 and attrs["groups"] == attrs["in_channels"]
            if depthwise or not covers(extent, attrs["padding"], attrs["in_spatial"]):
                continue
            if op.operands[0].mixes_positions:
                findings.append(op_finding(
                    trace, op, f"{where(trace, op)} runs on a flattened feature map (every position in its "
                    "channels), which makes it a fully connected layer",
                ))
            elif math.prod(attrs["in_spatial"]) > 1:
                findings.append(op_finding(
                    trace, op, f"{where(trace, op)}: its {size(attrs['kernel'])} kernel covers its whole "
                    f"{size(attrs['in_spatial'])} input, which makes it a fully connected layer",
                ))
            elif options.strict_fc:
                findings.append(op_finding(
                    trace, op, f"{where(trace, op)}: a convolution on a 1×1 map is a fully connected layer (--strict-fc)"
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
    unused = never_called(trace, "Linear")
    if unused:
        notes.append(f"{', '.join(m.path for m in unused)} declared but never called")
    return Verdict(True, "no fully connected layer executed" + "".join(f"; {n}" for n in notes), "0 FC")


RULE = define(__doc__, "no-linear", "No fully connected layer executes", """
    nn.Conv2d(32, 10, 1)    # passes after GAP: a 1×1 convolution on the 1×1 map
    nn.Linear(32, 10)       # fails
    F.linear(x, self.w)     # fails
    x @ self.weight.t()     # fails: a matrix product with a parameter
    """, check)
