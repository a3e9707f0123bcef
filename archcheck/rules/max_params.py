"""The model must have fewer parameters than the limit (20,000 in the mnist preset).

Every learned tensor counts once, even when it is shared between layers or
tied; frozen parameters (requires_grad=False) count too, because they are
still part of the model; buffers such as BatchNorm's running statistics do
not.  Learned tensors the forward pass uses that are not registered (layers
kept in a plain Python list, an nn.Linear built inside forward, a tensor with
requires_grad=True kept as an attribute) count as well, and the report says
so: model.parameters() does not list them, so an optimizer would never train
them.  Lazy layers are counted after the forward pass has given them their
shapes.  Hand-computed totals in READMEs are often wrong: this one is counted.
"""

from __future__ import annotations

from archcheck.phrasing import listed
from archcheck.records import Trace
from archcheck.rules._shared import Options, Verdict, define, finding


def check(trace: Trace, options: Options) -> Verdict:
    params, limit = trace.params, options.max_params
    summary = f"{params.total:,} parameters ({params.trainable:,} trainable, {params.frozen:,} frozen"
    if params.unregistered:
        summary += f"; {params.unregistered:,} not registered: {listed(trace.unregistered, most=3)}"
    summary += ")"
    measured = f"{params.total:,}"
    if params.total < limit:
        return Verdict(True, f"{summary}, under the limit of {limit:,}", measured)
    heaviest = sorted((m for m in trace.modules if m.params), key=lambda m: -m.params)[:3]
    findings = [
        finding(trace, f"{m.path or trace.model} ({m.type}) holds {m.params:,} parameters", m.path) for m in heaviest
    ]
    over = params.total - limit + 1
    return Verdict(False, f"{summary}: must be fewer than {limit:,} ({over:,} too many)", measured, findings)


RULE = define(
    __doc__,
    "max-params",
    "Parameter budget",
    """
    # passes: 1×1 and 3×3 convolutions keep the count low
    nn.Conv2d(16, 32, 3, bias=False)   # 4,608 parameters
    # fails: one dense layer can blow the budget on its own
    nn.Linear(32 * 7 * 7, 10)          # 15,690 parameters
    """,
    check,
)
