"""The map that enters the global average pool must see enough of the image: a receptive field of at least N pixels.

The receptive field is computed from the convolutions and pools that really
ran, as students compute it by hand: r_out = r_in + (k - 1) * d * j_in and
j_out = j_in * s for a kernel k, dilation d and stride s (j is the jump: the
input pixels between neighbouring positions), starting from r = j = 1 at the
input.  Where branches meet (a residual sum, a concatenation) the largest
field counts.  Without a global pool, the field of the output is taken.  The
cifar10 preset asks for at least 44 pixels.
"""

from __future__ import annotations

from archcheck.records import Op, Trace
from archcheck.rules._shared import Options, Verdict, define, finding, global_average, op_finding, size, used, where


def _entering_pool(trace: Trace) -> tuple[tuple[int, ...] | None, Op | None, Op | None]:
    """The receptive field of the map the last global pool reads, the pool, and the layer that made that map."""
    pools = [op for op in trace.ops if global_average(op) and used(op)]
    if not pools:
        return trace.output_receptive_field, None, None
    pool = pools[-1]
    makers = _nearest_windows(trace, pool)
    widest = max(makers, key=lambda op: min(op.receptive_field or (0,)), default=None)
    return pool.attrs.get("in_receptive_field"), pool, widest


def _nearest_windows(trace: Trace, op: Op) -> list[Op]:
    """The convolutions and pools nearest above ``op`` (through normalisation, dropout, activations)."""
    by_id = {o.id: o for o in trace.ops}
    found, stack, seen = [], list(op.inputs), set()
    while stack:
        current = stack.pop()
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        if by_id[current].kind in ("conv", "pool"):
            found.append(by_id[current])
        else:
            stack.extend(by_id[current].inputs)
    return found


def check(trace: Trace, options: Options) -> Verdict:
    field, pool, maker = _entering_pool(trace)
    wanted = options.min_receptive_field
    if field is None:
        message = "no receptive field could be computed: the input has no spatial dimensions"
        return Verdict(wanted <= 1, message, "?", [] if wanted <= 1 else [finding(trace, message, "")])
    smallest = min(field)
    shown = size(field) if len(set(field)) > 1 else str(smallest)
    subject = "the map entering the global average pool" if pool else "the output"
    at = f", reached at {where(trace, maker)}" if maker else ""
    measured = f"{shown} px"
    if smallest >= wanted:
        return Verdict(True, f"receptive field of {subject}: {shown} px{at} (at least {wanted} required)", measured)
    message = f"receptive field of {subject} is {shown} px{at}: at least {wanted} required"
    target = maker or pool
    findings = [op_finding(trace, target, message) if target else finding(trace, message, "")]
    return Verdict(False, message, measured, findings)


RULE = define(
    __doc__,
    "receptive-field",
    "Receptive field",
    """
    # 3×3 convolutions add 2 pixels each; a stride-2 one doubles what later layers add
    nn.Conv2d(32, 32, 3, padding=2, dilation=2)   # adds 4 × the current jump
    """,
    check,
)
