"""The dataflow graph of one traced forward pass: which operation produced which tensor.

Every aten operation the recorder saw is a ``Node``; so are the model input,
each learned tensor and each constant the operations read.  A node knows the
nodes whose results it read (``inputs``), whether its value depends on the
model input, on learned tensors or on random numbers, and -- for activations
-- what each dimension holds.  The analyses here answer what rules need from
the graph: which operations reach the output, which recorded operations feed
which, the receptive field of every map, and the multiply-accumulates.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from archcheck.records import Location, Operand, OpKind, Shape
from archcheck.tracing.layout import Dims


@dataclass
class Recorded:
    """What a rule-relevant operation is: its kind, facts and operands (see ``archcheck.tracing.ops``)."""

    kind: OpKind
    attrs: dict[str, Any]
    operands: list[Operand]
    location: Location | None = None
    func: str = ""


@dataclass(frozen=True)
class Window:
    """Which positions of an earlier map a tensor holds, when it was sliced out of it.

    ``x[:, :, 1::2]`` holds the map's odd rows: steps 2, offset 1 in that
    dimension.  An elementwise combination of slices of one map (the four
    shifted slices of a hand-written 2×2 pool) holds several offsets at once;
    how far they spread is the window they combine.
    """

    source: int  # the node of the map
    steps: tuple[int, ...]  # per dimension: the spacing of the positions kept
    offsets: frozenset[tuple[int, ...]]  # per slice combined: its first position in each dimension

    def spread(self) -> tuple[int, ...]:
        """Per dimension, how many positions lie between the first and the last slice's first position."""
        return tuple(max(o[d] for o in self.offsets) - min(o[d] for o in self.offsets) for d in range(len(self.steps)))


@dataclass
class Node:
    id: int
    name: str  # aten operation ("mm", "convolution"...) or "input", "weight", "constant", "hidden"
    inputs: tuple[int, ...] = ()  # the nodes whose values it read
    shape: Shape | None = None  # of its (first) output
    depends_on_input: bool = False
    learned: str | None = None  # a learned tensor its value is computed from (for nodes not on the input)
    random: bool = False  # its value depends on random numbers
    dims: Dims | None = None  # for activations: what each dimension holds
    call: int | None = None  # the innermost module call running when it ran
    label: str | None = None  # the Python-level call that ran it ("F.linear", "Tensor.mean")
    recorded: Recorded | None = None
    receptive_field: tuple[int, ...] | None = None
    jump: tuple[int, ...] | None = None
    window: Window | None = None  # for slices of a map and their elementwise combinations
    macs: int = 0  # for the whole batch
    attrs: dict[str, Any] = field(default_factory=dict)  # facts the analyses need (conv windows, reduced dims)


def reaching(nodes: list[Node], outputs: Iterable[int]) -> set[int]:
    """The nodes whose values flow into ``outputs``."""
    seen: set[int] = set()
    stack = list(outputs)
    while stack:
        node_id = stack.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        stack.extend(nodes[node_id].inputs)
    return seen


def recorded_inputs(nodes: list[Node]) -> dict[int, list[int]]:
    """For each recorded node, the nearest recorded nodes its values come from (through unrecorded ones)."""
    nearest: dict[int, frozenset[int]] = {}
    result: dict[int, list[int]] = {}
    for node in nodes:  # nodes are in execution order: inputs come first
        sources: set[int] = set()
        for parent in node.inputs:
            sources |= nearest.get(parent, frozenset())
        if node.recorded is not None:
            result[node.id] = sorted(sources)
            nearest[node.id] = frozenset({node.id})
        else:
            nearest[node.id] = frozenset(sources)
    return result


def window_through(
    receptive_field: tuple[int, ...], jump: tuple[int, ...], extents: tuple[int, ...], strides: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The receptive field and jump after a window of ``extents`` (dilation included) moved by ``strides``.

    The students' table: r_out = r_in + (k - 1) * j_in, j_out = j_in * s.
    """
    return (
        tuple(r + (k - 1) * j for r, k, j in zip(receptive_field, extents, jump)),
        tuple(j * s for j, s in zip(jump, strides)),
    )


def widest(fields: list[tuple[tuple[int, ...], tuple[int, ...]]]) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Where branches meet (a residual sum, a concatenation), the largest receptive field counts."""
    return max(fields, key=lambda pair: (math.prod(pair[0]), pair[0]), default=None)
