"""No fully connected layer may take part in the output.

The assignment asks for a fully convolutional network.  A fully connected
layer is a learned weight (an nn.Parameter, or any tensor with
requires_grad=True) multiplied with the activations and summed over their
features, however it is spelled: nn.Linear (also when its forward is patched,
scripted or run on a thread), F.linear, x @ W, torch.mm/addmm/bmm,
torch.einsum with a contraction, a broadcast multiply-then-sum, a distance or
cosine-similarity classifier against a weight, a recurrent layer (nn.LSTM,
nn.GRU) -- also when it is applied to each position of a map: a channel mix
written as a matrix product is a dense layer per pixel (write it as
nn.Conv2d(c, k, 1)).  A convolution is fully connected when its kernel covers
its whole input, when it runs on a flattened map (positions in its channels,
or features laid out as positions) or on a 1×1 map.  A per-channel scaling
and a product of two activations (attention scores) are not layers.

The classic assignment allows one exception: the final classifier may be a
1×1 convolution on the 1×1 map left by an executed global average pool (the
last learned layer on the output path); --strict-fc forbids it too, and the
fc-after-gap option (the cifar10 preset) allows a fully connected classifier
there in any spelling.  A hidden MLP after the pool is still fully connected.
Both the training step and the eval-mode pass (the one accuracy is measured
with) are judged: a dense head used only in eval mode fails too.
"""

from __future__ import annotations

import math

from archcheck.phrasing import listed, plural
from archcheck.records import CHANNEL, PART, SPACE, Op, Trace
from archcheck.report import Finding
from archcheck.rules._shared import (
    Options,
    Verdict,
    ancestors,
    define,
    dense,
    descendants,
    global_average,
    learned_operand,
    mixes_features,
    mixes_positions,
    never_called,
    op_finding,
    size,
    used,
    where,
)


def _what(op: Op) -> str:
    """Why ``op`` is a fully connected layer, in one clause."""
    attrs = op.attrs
    if op.kind == "conv":
        spatial = attrs["in_spatial"]
        if set(attrs["channel_roles"]) & {SPACE, PART}:
            return "runs on a flattened feature map (every position in its channels), which makes it a fully connected layer"
        if CHANNEL in attrs["window_roles"]:
            return (
                "slides over features laid out as positions (a flattened map), which makes it a fully connected layer"
            )
        if math.prod(spatial) > 1:
            return (
                f"its {size(attrs['kernel'])} kernel covers its whole {size(spatial)} input,"
                " which makes it a fully connected layer"
            )
        return f"a convolution on a {size(spatial)} map is a fully connected layer"
    weight = learned_operand(op)
    detail = f"{attrs['form']} with {weight.weight}, {size(weight.shape)}" if weight else attrs["form"]
    over = " over every position of the map" if mixes_positions(op) else ""
    return f"is a fully connected layer{over} ({detail})"


def _head_refusal(trace: Trace, op: Op, pooled: set[int], options: Options) -> str | None:
    """Why ``op`` is not the allowed classifier after GAP, or None when it is."""
    if mixes_positions(op):
        return ""
    if options.strict_fc:
        return " (--strict-fc: no fully connected classifier, not even a 1×1 convolution after GAP)"
    if not ancestors(trace, op) & pooled:
        return " (no global average pool produced its input: the 1×1-map allowance applies only after GAP)"
    later = [d for d in descendants(trace, op) if d.reaches_output and mixes_features(d)]
    if later:
        return (
            f" (another learned layer follows it, {where(trace, later[0])}: only the final classifier after"
            " GAP is allowed, not a hidden MLP)"
        )
    if options.fc_after_gap:
        return None
    if op.kind != "conv":
        return " (after GAP the classic assignment allows a 1×1 convolution as the classifier, not a dense layer)"
    if math.prod(op.attrs["in_spatial"]) > 1:
        return " (only a 1×1 convolution on the 1×1 pooled map is allowed as the classifier)"
    return None


def check(trace: Trace, options: Options) -> Verdict:
    pooled = {op.id for op in trace.ops if global_average(op) and used(op)}
    findings: list[Finding] = []
    heads: list[Op] = []
    unused: list[Op] = []
    for op in trace.ops:
        if not dense(op):
            continue
        if not op.reaches_output:
            unused.append(op)
            continue
        refusal = _head_refusal(trace, op, pooled, options)
        if refusal is None:
            heads.append(op)
        else:
            findings.append(op_finding(trace, op, f"{where(trace, op)}: {_what(op)}{refusal}"))
    if findings:
        unique: dict[str, Finding] = {}  # one layer run many times (an RNN's time steps, a loop) is one layer
        for found in findings:
            unique.setdefault(found.message, found)
        findings = list(unique.values())
        return Verdict(
            False,
            f"{plural(len(findings), 'fully connected layer')} in the output's computation: {findings[0].message}",
            f"{len(findings)} FC",
            findings,
        )
    notes = []
    if heads:
        spelled = "fully connected classifier" if options.fc_after_gap else "1×1 convolution"
        notes.append(
            f"the {spelled} after global pooling is allowed: {listed([where(trace, h) for h in heads])}"
            + ("" if options.fc_after_gap else " (--strict-fc forbids it)")
        )
    if unused:
        notes.append(f"{listed([where(trace, op) for op in unused])} executed, but its result is not used")
    declared = never_called(trace, "Linear")
    if declared:
        notes.append(f"{', '.join(m.path for m in declared)} declared but never called")
    return Verdict(
        True, "no fully connected layer in the output's computation" + "".join(f"; {n}" for n in notes), "0 FC"
    )


RULE = define(
    __doc__,
    "no-linear",
    "No fully connected layer executes",
    """
    nn.Conv2d(32, 10, 1)    # passes after GAP: a 1×1 convolution on the 1×1 map, the last layer
    nn.Linear(32, 10)       # fails (passes after GAP with fc-after-gap, as in the cifar10 preset)
    F.linear(x, self.w)     # fails
    x @ self.weight.t()     # fails: a matrix product with a learned weight
    (x[:, None] * self.w).sum(-1)   # fails: the same product, spelled by broadcasting
    """,
    check,
    forbids=True,
)
