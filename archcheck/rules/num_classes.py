"""The model's output must hold one score per class for each sample (10 for MNIST and CIFAR-10).

The output is the tensor forward returns, or the first one when it returns
several (the logits).  Its first dimension is the batch; everything after it
is what one sample gets: (batch, 10) passes, and so does (batch, 10, 1, 1).
A model that emits 32 values per image cannot be trained against 10 labels
with the usual cross-entropy loss.
"""

from __future__ import annotations

import math

from archcheck.records import Trace
from archcheck.rules._shared import Options, Verdict, define, finding, size


def check(trace: Trace, options: Options) -> Verdict:
    wanted, shape = options.num_classes, trace.output_shape
    batch = trace.input_shape[0]
    if shape is None or not shape or shape[0] != batch:
        shown = size(shape) if shape else "a scalar"
        message = f"the output is {shown}: its first dimension should be the batch ({batch}), then {wanted} scores"
        return Verdict(False, message, "?", [finding(trace, message, "")])
    entries = math.prod(shape[1:])
    measured = f"{entries:,}"
    if entries == wanted:
        return Verdict(True, f"{wanted} outputs per sample (output {size(shape)})", measured)
    message = f"{entries:,} outputs per sample (output {size(shape)}), expected {wanted}: one score per class"
    return Verdict(False, message, measured, [finding(trace, message, "")])


RULE = define(
    __doc__,
    "num-classes",
    "One output per class",
    """
    return self.classifier(x).flatten(1)   # passes: (batch, 10)
    return x.flatten(1)                     # fails: (batch, 32) when the last conv has 32 channels
    """,
    check,
)
