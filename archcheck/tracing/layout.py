"""What each dimension of an activation holds, followed through reshapes, permutes and broadcasts.

A dimension is a row-major sequence of *atoms*: (roles, size) pairs whose sizes
multiply to the dimension's size (size-1 atoms included: the one channel of a
grey image is still a channel).  A plain NCHW map has one atom per dimension
(batch, channel, space, space); ``x.flatten(1)`` merges channel and space atoms
into one dimension, and ``.view(b, c, -1)`` splits them back exactly, so that a
mean over the last dimension is recognised as a mean over positions only.  A
broadcast copy holds no information (no roles); a crop of positions holds
``part`` of the map.  Rules only ever see the union of roles per dimension
(``records.Layout``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from archcheck.records import BATCH, CHANNEL, PART, SPACE, Layout, Roles, Shape

Atom = tuple[frozenset[str], int]
Dims = tuple[tuple[Atom, ...], ...]

_NOTHING: frozenset[str] = frozenset()


def default_dims(shape: Shape) -> Dims:
    """The convention of layers: batch, channels, then spatial dimensions."""
    roles = (BATCH, CHANNEL)[: len(shape)] + (SPACE,) * max(0, len(shape) - 2)
    return tuple(_dim(frozenset({role}), size) for role, size in zip(roles, shape))


def _dim(roles: frozenset[str], size: int) -> tuple[Atom, ...]:
    return ((roles, size),)


def roles(dims: Dims) -> Layout:
    """The roles each dimension holds, as plain sorted tuples for the records."""
    return tuple(dim_roles(dim) for dim in dims)


def dim_roles(dim: tuple[Atom, ...]) -> Roles:
    """The roles a dimension holds: those of its atoms larger than 1 (a flattened 16×1×1 map holds channels only),
    or, for a size-1 dimension, of its size-1 atoms (the one channel of a grey image is still a channel)."""
    atoms = [roles for roles, size in dim if size > 1] or [roles for roles, _ in dim]
    return tuple(sorted(set().union(*atoms))) if atoms else ()


def union(dims: Sequence[tuple[Atom, ...]]) -> Roles:
    """The roles held by any of ``dims``."""
    return tuple(sorted({role for dim in dims for role in dim_roles(dim)}))


def reshaped(dims: Dims, before: Shape, after: Shape) -> Dims:
    """The dimensions after a view or reshape: merged dimensions carry all their atoms, split ones their share."""
    if math.prod(before) != math.prod(after):
        return default_dims(after)
    pending = [atom for dim in dims for atom in dim]
    result: list[tuple[Atom, ...]] = []
    for index, size in enumerate(after):
        taken: list[Atom] = []
        need = size
        if size == 1 and pending and pending[0][1] == 1:  # a size-1 dimension kept in place
            taken.append(pending.pop(0))
        while need > 1:
            atom_roles, atom_size = pending[0]
            if need % atom_size == 0:
                taken.append(pending.pop(0))
                need //= atom_size
            elif atom_size % need == 0:  # split an atom: both parts keep its roles
                taken.append((atom_roles, need))
                pending[0] = (atom_roles, atom_size // need)
                need = 1
            else:  # boundaries that do not line up: from here on, every dimension holds a mix
                mixed = frozenset().union(*(r for r, _ in taken), *(r for r, _ in pending))
                return (*result, *(_dim(mixed, rest) for rest in after[index:]))
        result.append(tuple(taken))
    return tuple(result)


def permuted(dims: Dims, order: Sequence[int]) -> Dims:
    return tuple(dims[i] for i in order)


def broadcast_to(dims: Dims, shape: Shape, out: Shape) -> Dims:
    """Align ``dims`` (of ``shape``) right to ``out``: new and expanded dimensions hold copies, nothing else."""
    lead = len(out) - len(shape)
    aligned: list[tuple[Atom, ...]] = [((_NOTHING, size),) for size in out[:lead]]
    for dim, size, target in zip(dims, shape, out[lead:]):
        aligned.append(((_NOTHING, target),) if size == 1 and target > 1 else dim)
    return tuple(aligned)


def sliced(dims: Dims, before: Shape, after: Shape) -> Dims:
    """After indexing that keeps the rank: a dimension that lost positions holds only part of the map."""
    result = []
    for dim, old, new in zip(dims, before, after):
        if new == old:
            result.append(dim)
        else:
            result.append(cropped(((frozenset(dim_roles(dim)), new),)))
    return tuple(result)


def cropped(dim: tuple[Atom, ...]) -> tuple[Atom, ...]:
    """A dimension of a map of which only some positions remain."""
    held = set(dim_roles(dim))
    if SPACE not in held:
        return dim
    return (((frozenset(held - {SPACE}) | {PART}), math.prod(size for _, size in dim)),)


def resized(dims: Dims, index: int, size: int) -> tuple[Atom, ...]:
    """Dimension ``index`` with a new size and the same roles (a pooled or strided map)."""
    return _dim(frozenset(dim_roles(dims[index])) or frozenset({SPACE}), size)


def without(dims: Dims, removed: set[int], keepdim: bool) -> Dims:
    """After a reduction over ``removed``."""
    if keepdim:
        return tuple(() if i in removed else dim for i, dim in enumerate(dims))
    return tuple(dim for i, dim in enumerate(dims) if i not in removed)


def new_features(size: int) -> tuple[Atom, ...]:
    """A dimension a layer creates: its output units are channels."""
    return _dim(frozenset({CHANNEL}), size)
