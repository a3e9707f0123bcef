"""What each aten operation is, for the rules: one describer per kind of operation, and the layout of its output.

The recorder sees aten operations (``torch.ops.aten.*``), so however the
Python code was spelled -- ``nn.Linear``, ``x @ W``, ``torch.einsum``, a
TorchScript function, code run with ``DisableTorchFunction`` -- a dense layer
arrives as ``mm``/``addmm``/``bmm``, a convolution as ``convolution``, an
adaptive average pool as ``mean``.  Arguments are bound by the operation's own
schema.  Facts recorded per kind (``Op.attrs``):

* product (an activation times another tensor, contracting some of its dimensions):
  ``form``, ``contracted`` and ``kept`` (roles of the activation's dimensions summed over and kept);
* conv: ``kernel``, ``stride``, ``padding``, ``dilation``, ``extent`` (the dilated kernel), ``groups``,
  ``in_channels``, ``out_channels``, ``in_spatial``, ``transposed``, ``contracted``, ``kept``, ``channel_roles``
  and ``window_roles`` (what its input's channel dimension and the dimensions its kernel slides over hold),
  ``covers`` (one window spans the whole padded input);
* pool: ``mode`` ("avg", "max"), ``adaptive``, ``kernel``, ``stride``, ``padding``, ``dilation``,
  ``in_spatial``, ``out_spatial``, ``spatial`` (roles of the pooled dimensions);
* reduce: ``mode`` ("mean", "sum", "max", "min", "var", "norm", ...), ``dims``, ``keepdim``, ``in_shape``,
  ``layout`` (roles of every dimension of the reduced tensor);
* batch_norm: ``training``, ``samples`` (size of the normalised tensor's first dimension), ``layout``;
* dropout: ``form``, ``keep`` (the probability of keeping a value, when known).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch.utils._pytree import tree_leaves

from archcheck.records import CHANNEL, SPACE, OpKind, Shape
from archcheck.tracing import layout
from archcheck.tracing.layout import Dims


class Facts(Protocol):
    """What the recorder knows of each tensor."""

    def dims(self, tensor: torch.Tensor) -> Dims | None: ...  # None unless it depends on the model input


@dataclass
class Description:
    kind: OpKind
    attrs: dict[str, Any]
    operands: list[Any]  # tensors (or None) in a meaningful order: the activation first
    activation: torch.Tensor


# -- binding arguments by the schema ----------------------------------------------------------------

_DEFAULTS: dict[Any, list[tuple[str, Any]]] = {}


def bind(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments of an aten call by name, with the schema's defaults."""
    schema = _DEFAULTS.get(func)
    if schema is None:
        schema = [
            (argument.name, argument.default_value if argument.has_default_value() else None)
            for argument in func._schema.arguments
        ]
        _DEFAULTS[func] = schema
    bound = {name: default for name, default in schema}
    bound.update(zip((name for name, _ in schema), args))
    bound.update(kwargs)
    return bound


def _ints(value: Any, n: int) -> tuple[int, ...]:
    if value is None or (isinstance(value, list | tuple) and not value):
        return ()
    if isinstance(value, int | float):
        return (int(value),) * n
    values = tuple(int(v) for v in value)
    return values * n if len(values) == 1 and n > 1 else values


def _dims_argument(value: Any, rank: int) -> tuple[int, ...]:
    """A ``dim`` argument as sorted non-negative dimensions; None or [] means all of them."""
    if value is None or (isinstance(value, list | tuple) and not value):
        return tuple(range(rank))
    values = (value,) if isinstance(value, int) else value
    return tuple(sorted({int(d) % rank for d in values})) if rank else ()


def _roles_of(dims: Dims, indices: Sequence[int]) -> tuple[str, ...]:
    return layout.union([dims[i] for i in indices])


# -- products: an activation times another tensor ---------------------------------------------------

# name -> (positions of the two operands, contracted dims of the first, contracted dims of the second),
# dims as functions of the operand's rank.
_PRODUCTS: dict[str, tuple[tuple[int, int], Callable[[int], tuple[int, ...]], Callable[[int], tuple[int, ...]]]] = {
    "mm": ((0, 1), lambda r: (1,), lambda r: (0,)),
    "addmm": ((1, 2), lambda r: (1,), lambda r: (0,)),
    "_addmm_activation": ((1, 2), lambda r: (1,), lambda r: (0,)),
    "bmm": ((0, 1), lambda r: (2,), lambda r: (1,)),
    "baddbmm": ((1, 2), lambda r: (2,), lambda r: (1,)),
    "addbmm": ((1, 2), lambda r: (0, 2), lambda r: (0, 1)),
    "mv": ((0, 1), lambda r: (1,), lambda r: (0,)),
    "addmv": ((1, 2), lambda r: (1,), lambda r: (0,)),
    "dot": ((0, 1), lambda r: (0,), lambda r: (0,)),
    "vdot": ((0, 1), lambda r: (0,), lambda r: (0,)),
    "_cdist_forward": ((0, 1), lambda r: (r - 1,), lambda r: (r - 1,)),
    "_euclidean_dist": ((0, 1), lambda r: (r - 1,), lambda r: (r - 1,)),
    "linear": ((0, 1), lambda r: (r - 1,), lambda r: (1,)),
    "matmul": ((0, 1), lambda r: (r - 1,), lambda r: (max(r - 2, 0),)),
    "_trilinear": ((0, 1), lambda r: (r - 1,), lambda r: (r - 1,)),
}


def describe_product(name: str, func: Any, args: Sequence[Any], kwargs: dict, facts: Facts) -> Description | None:
    """An activation times a tensor that does not depend on the input (a weight or a constant)."""
    (first, second), contract_first, contract_second = _PRODUCTS[name]
    if max(first, second) >= len(args):
        return None
    a, b = args[first], args[second]
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        return None
    a_dims, b_dims = facts.dims(a), facts.dims(b)
    if (a_dims is None) == (b_dims is None):  # two activations (attention scores), or no activation at all
        return None
    if a_dims is not None:
        x, x_dims, other, contracted = a, a_dims, b, contract_first(a.dim())
    else:
        assert b_dims is not None
        x, x_dims, other, contracted = b, b_dims, a, contract_second(b.dim())
    shape = tuple(x.shape)
    kept = [d for d in range(x.dim()) if d not in contracted]
    attrs = {
        "form": name,
        "contracted": _roles_of(x_dims, contracted),
        "kept": _roles_of(x_dims, [d for d in kept if shape[d] > 1]),
    }
    return Description("product", attrs, [x, other], x)


def product_output_dims(name: str, args: Sequence[Any], out: torch.Tensor, facts: Facts) -> Dims | None:
    """The activation's kept dimensions, in place, plus the new features the other operand makes."""
    if name not in _PRODUCTS:  # a recurrent layer: the default convention fits its (batch, time, features) output
        return None
    (first, second), contract_first, contract_second = _PRODUCTS[name]
    a, b = args[first], args[second]
    a_dims = facts.dims(a) if isinstance(a, torch.Tensor) else None
    b_dims = facts.dims(b) if isinstance(b, torch.Tensor) else None
    if (a_dims is None) == (b_dims is None) or out.dim() == 0:
        return None
    if name in ("mm", "addmm", "_addmm_activation") and out.dim() == 2:
        if a_dims is not None:
            return (a_dims[0], layout.new_features(out.shape[1]))
        assert b_dims is not None
        return (layout.new_features(out.shape[0]), b_dims[1])
    if name in ("bmm", "baddbmm") and out.dim() == 3:
        if a_dims is not None:
            return (a_dims[0], a_dims[1], layout.new_features(out.shape[2]))
        assert b_dims is not None
        return (b_dims[0], layout.new_features(out.shape[1]), b_dims[2])
    x_dims = a_dims if a_dims is not None else b_dims
    assert x_dims is not None
    kept = [dim for i, dim in enumerate(x_dims) if i not in contract_first(len(x_dims))]
    while len(kept) < out.dim():
        kept.append(layout.new_features(out.shape[len(kept)]))
    return tuple(kept[: out.dim()])


_RECURRENT = (
    "lstm",
    "gru",
    "rnn_tanh",
    "rnn_relu",
    "mkldnn_rnn_layer",
    "_thnn_fused_lstm_cell",
    "_thnn_fused_gru_cell",
    "lstm_cell",
    "gru_cell",
    "rnn_tanh_cell",
    "rnn_relu_cell",
    "_cudnn_rnn",
    "miopen_rnn",
)


def describe_recurrent(name: str, func: Any, args: Sequence[Any], kwargs: dict, facts: Facts) -> Description | None:
    """A recurrent layer: every step multiplies the activations' features by learned matrices."""
    tensors = [t for t in tree_leaves((list(args), kwargs)) if isinstance(t, torch.Tensor)]
    x = next((t for t in tensors if facts.dims(t) is not None), None)
    if x is None or x.dim() == 0:
        return None
    x_dims = facts.dims(x)
    assert x_dims is not None
    shape = tuple(x.shape)
    attrs = {
        "form": name,
        "contracted": _roles_of(x_dims, [x.dim() - 1]),
        "kept": _roles_of(x_dims, [d for d in range(x.dim() - 1) if shape[d] > 1]),
    }
    return Description("product", attrs, [x, *(t for t in tensors if t is not x)], x)


# -- convolutions ---------------------------------------------------------------------------------------


def describe_conv(name: str, func: Any, args: Sequence[Any], kwargs: dict, facts: Facts) -> Description | None:
    bound = bind(func, args, kwargs)
    x, weight = bound["input"], bound["weight"]
    x_dims = facts.dims(x)
    if x_dims is None or not isinstance(weight, torch.Tensor) or x.dim() != weight.dim():
        return None
    n = weight.dim() - 2
    kernel = tuple(int(k) for k in weight.shape[2:])
    stride, padding = _ints(bound["stride"], n) or (1,) * n, _ints(bound["padding"], n) or (0,) * n
    dilation = _ints(bound["dilation"], n) or (1,) * n
    transposed, groups = bool(bound.get("transposed", False)), int(bound["groups"])
    in_spatial = tuple(int(s) for s in x.shape[2:])
    extent = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))
    covers = all(e >= s + 2 * p for e, s, p in zip(extent, in_spatial, padding)) or all(s == 1 for s in in_spatial)
    window = [2 + i for i, e in enumerate(extent) if e > 1]
    kept_space = [] if covers else [2 + i for i, s in enumerate(in_spatial) if s > 1]
    in_channels = int(x.shape[1])
    out_channels = int(weight.shape[1] * groups) if transposed else int(weight.shape[0])
    attrs = {
        "form": name,
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
        "in_channels": in_channels,
        "out_channels": out_channels,
        "in_spatial": in_spatial,
        "transposed": transposed,
        "covers": covers,
        "contracted": _roles_of(x_dims, [1, *window]),
        "channel_roles": layout.dim_roles(x_dims[1]),
        "window_roles": _roles_of(x_dims, window),
        "kept": layout.union([x_dims[0], *(x_dims[d] for d in kept_space)]),
        "extent": extent,
        "averaging": _averaging_kernel(weight),
    }
    return Description("conv", attrs, [x, weight], x)


def _averaging_kernel(weight: torch.Tensor) -> bool:
    """A fixed kernel whose every entry is the same positive number: the window's average (or sum)."""
    if weight.requires_grad or weight.is_meta or weight.numel() == 0:
        return False
    flat = weight.detach().flatten(1)
    return bool((flat == flat[:, :1]).all() and (flat[:, 0] > 0).all())


# -- pooling ----------------------------------------------------------------------------------------------


def describe_pool(name: str, func: Any, args: Sequence[Any], kwargs: dict, facts: Facts) -> Description | None:
    bound = bind(func, args, kwargs)
    x = bound["self"]
    x_dims = facts.dims(x)
    n = next(int(c) for c in reversed(name) if c.isdigit())  # max_pool2d_with_indices: 2
    if x_dims is None or x.dim() < n:
        return None
    in_spatial = tuple(int(s) for s in x.shape[-n:])
    adaptive = name.lstrip("_").startswith("adaptive")
    if adaptive or name.startswith("fractional"):
        output = _ints(bound["output_size"], n)
        output = tuple(o if o else s for o, s in zip(output, in_spatial))  # None keeps the size
        stride = tuple(max(s // o, 1) for s, o in zip(in_spatial, output))
        kernel = tuple(s - (o - 1) * st for s, o, st in zip(in_spatial, output, stride))
        padding, dilation = (0,) * n, (1,) * n
    else:
        kernel = _ints(bound["kernel_size"], n)
        stride = _ints(bound["stride"], n) or kernel
        padding = _ints(bound["padding"], n) or (0,) * n
        dilation = _ints(bound.get("dilation"), n) or (1,) * n
    spatial = tuple(layout.dim_roles(d) for d in x_dims[-n:])
    mode = "avg" if "avg" in name else "max"
    return _pool(name, mode, adaptive, kernel, stride, padding, dilation, in_spatial, spatial, x)


def _pool(
    form: str,
    mode: str,
    adaptive: bool,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    in_spatial: tuple[int, ...],
    spatial: tuple[Any, ...],
    x: torch.Tensor,
) -> Description:
    """What the rules read of any pooling, however it was spelled."""
    attrs = {
        "form": form,
        "mode": mode,
        "adaptive": adaptive,
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "in_spatial": in_spatial,
        "spatial": spatial,
        "extent": tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel)),
    }
    return Description("pool", attrs, [x], x)


# Elementwise maxima: of shifted slices of one map, a max pool written by hand.
ELEMENTWISE_MAX = {"maximum", "fmax", "max"}  # max: torch.max(a, b)


def describe_window_max(
    name: str,
    x: torch.Tensor,
    facts: Facts,
    map_shape: Shape,
    spatial: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
) -> Description | None:
    """``torch.maximum`` of slices of one map at different offsets: a max pool over the window they span."""
    x_dims = facts.dims(x)
    if x_dims is None or not any(k > 1 for k in kernel):
        return None
    n = len(kernel)
    return _pool(
        name,
        "max",
        False,
        tuple(kernel),
        tuple(stride),
        (0,) * n,
        (1,) * n,
        tuple(int(map_shape[d]) for d in spatial),
        tuple(layout.dim_roles(x_dims[d]) for d in spatial),
        x,
    )


# -- reductions -------------------------------------------------------------------------------------------

_REDUCTIONS = {
    "mean": "mean",
    "nanmean": "mean",
    "sum": "sum",
    "nansum": "sum",
    "amax": "max",
    "amin": "min",
    "max": "max",
    "min": "min",
    "var": "var",
    "std": "var",
    "var_mean": "var",
    "std_mean": "var",
    "linalg_vector_norm": "norm",
    "norm": "norm",
    "logsumexp": "logsumexp",
    "prod": "prod",
}


def describe_reduce(name: str, func: Any, args: Sequence[Any], kwargs: dict, facts: Facts) -> Description | None:
    bound = bind(func, args, kwargs)
    x = bound.get("self")
    if not isinstance(x, torch.Tensor) or x.dim() == 0:
        return None
    x_dims = facts.dims(x)
    if x_dims is None:
        return None
    if name in ("max", "min") and "dim" not in bound:  # max(a, b) is elementwise, max(x) is global
        if any(isinstance(a, torch.Tensor) for a in args[1:]):
            return None
    dims = _dims_argument(bound.get("dim"), x.dim())
    attrs = {
        "form": name,
        "mode": _REDUCTIONS[name],
        "dims": dims,
        "keepdim": bool(bound.get("keepdim") or False),
        "in_shape": tuple(int(s) for s in x.shape),
        "layout": layout.roles(x_dims),
    }
    return Description("reduce", attrs, [x], x)


# -- batch normalisation -----------------------------------------------------------------------------------


def describe_batch_norm(name: str, func: Any, args: Sequence[Any], kwargs: dict, facts: Facts) -> Description | None:
    bound = bind(func, args, kwargs)
    x = bound["input"]
    x_dims = facts.dims(x)
    if x_dims is None or x.dim() < 2:
        return None
    if name in ("_native_batch_norm_legit_no_training", "_batch_norm_no_update"):
        training = False
    elif name == "_batch_norm_with_update":
        training = True
    else:
        training = bool(bound.get("training"))
    attrs = {
        "form": name,
        "training": training,
        "samples": int(x.shape[0]),
        "layout": layout.roles(x_dims),
    }
    return Description("batch_norm", attrs, [x, bound.get("weight")], x)


def describe_native_dropout(
    name: str, func: Any, args: Sequence[Any], kwargs: dict, facts: Facts
) -> Description | None:
    bound = bind(func, args, kwargs)
    x, p, train = bound["input"], float(bound["p"]), bound.get("train")
    if facts.dims(x) is None or not train or not 0 < p < 1:
        return None
    return Description("dropout", {"form": name, "keep": 1 - p}, [x], x)


DESCRIBERS: dict[str, Callable[[str, Any, Sequence[Any], dict, Facts], Description | None]] = {
    **{name: describe_product for name in _PRODUCTS},
    **{name: describe_recurrent for name in _RECURRENT},
    **{name: describe_conv for name in ("convolution", "_convolution", "conv1d", "conv2d", "conv3d")},
    **{
        f"{prefix}{mode}_pool{n}d{suffix}": describe_pool
        for prefix, mode, suffix in [
            ("", "max", ""),
            ("", "max", "_with_indices"),
            ("", "avg", ""),
            ("_adaptive_", "avg", ""),
            ("adaptive_", "avg", ""),
            ("adaptive_", "max", ""),
            ("fractional_", "max", ""),
        ]
        for n in (1, 2, 3)
    },
    **{name: describe_reduce for name in _REDUCTIONS},
    **{
        name: describe_batch_norm
        for name in (
            "native_batch_norm",
            "_native_batch_norm_legit",
            "_native_batch_norm_legit_no_training",
            "_native_batch_norm_legit_functional",
            "_batch_norm_with_update",
            "_batch_norm_no_update",
            "batch_norm",
            "cudnn_batch_norm",
            "miopen_batch_norm",
        )
    },
    "native_dropout": describe_native_dropout,
}

# Operations whose result is random, and in-place fills that overwrite their target with random values.
RANDOM = {
    "bernoulli",
    "bernoulli_",
    "rand",
    "rand_like",
    "randn",
    "randn_like",
    "randint",
    "randint_like",
    "randperm",
    "normal",
    "normal_",
    "uniform_",
    "exponential_",
    "geometric_",
    "cauchy_",
    "log_normal_",
    "random_",
    "multinomial",
    "native_dropout",
    "_fused_dropout",
    "rrelu_with_noise",
}
# Operations that read only the shape (or nothing) of their tensor arguments, or overwrite their first one.
SHAPE_ONLY = {
    "empty_like",
    "zeros_like",
    "ones_like",
    "full_like",
    "rand_like",
    "randn_like",
    "randint_like",
    "new_empty",
    "new_zeros",
    "new_ones",
    "new_full",
    "new_empty_strided",
    "empty_strided",
    "scalar_tensor",
    "_to_copy_shape",
}
OVERWRITES = {
    "fill_",
    "zero_",
    "bernoulli_",
    "uniform_",
    "normal_",
    "exponential_",
    "geometric_",
    "cauchy_",
    "log_normal_",
    "random_",
    "copy_",
}
# Elementwise combinations: a random mask times an activation is dropout; an activation times a weight,
# broadcast and then summed, is a product in disguise.
MASKING = {"mul", "mul_", "div", "div_", "where", "masked_fill", "masked_fill_", "_masked_scale"}
COMBINING = {"mul", "mul_", "div", "div_", "sub", "sub_", "rsub", "add", "add_", "addcmul", "addcmul_"}
NONLINEAR = {"pow", "pow_", "abs", "abs_", "exp", "exp_", "square", "sqrt", "relu", "relu_", "sigmoid", "tanh"}
REDUCING = {"sum", "mean", "amax", "linalg_vector_norm", "norm", "logsumexp"}


# -- the layout of an output -------------------------------------------------------------------------------

_SAME = {
    "clone",
    "contiguous",
    "_to_copy",
    "detach",
    "alias",
    "lift_fresh",
    "lift_fresh_copy",
    "_conj",
    "_neg_view",
    "to",
    "_unsafe_view_copy",
    "fill_",
    "zero_",
    "copy_",
}
_RESHAPES = {
    "view",
    "_unsafe_view",
    "reshape",
    "_reshape_alias",
    "view_as",
    "reshape_as",
    "flatten",
    "unflatten",
    "squeeze",
    "squeeze_",
    "unsqueeze",
    "unsqueeze_",
    "view_copy",
    "_reshape_copy",
    "squeeze_copy",
    "unsqueeze_copy",
}


@dataclass
class _Call:
    """An operation on an activation ``x``, as the layout rules below see it."""

    name: str
    x: torch.Tensor
    dims: Dims
    shape: tuple[int, ...]
    out: tuple[int, ...]
    bound: dict[str, Any]
    facts: Facts


def _transposed(call: _Call) -> Dims:
    order = list(range(call.x.dim()))
    if len(order) >= 2:
        first, second = (int(call.bound["dim0"]), int(call.bound["dim1"])) if "dim0" in call.bound else (0, 1)
        first, second = first % len(order), second % len(order)
        order[first], order[second] = order[second], order[first]
    return layout.permuted(call.dims, order)


def slice_window(bound: dict[str, Any], shape: Sequence[int]) -> tuple[int, int, int]:
    """aten.slice's (dimension, first index, step), a negative or missing start resolved against ``shape``."""
    dim = int(bound.get("dim") or 0) % len(shape)
    start = bound.get("start")
    start = 0 if start is None else int(start)
    return dim, max(start + shape[dim], 0) if start < 0 else min(start, shape[dim]), int(bound.get("step") or 1)


def _strided(call: _Call) -> Dims | None:
    """``x[:, :, ::2]`` and ``x[:, :, 1::2]`` subsample the whole map (every step-th row); other slices crop it."""
    if len(call.out) != len(call.shape):
        return None
    dim, start, step = slice_window(call.bound, call.shape)
    if step > 1 and start < step and call.out[dim] == -(-(call.shape[dim] - start) // step):
        dims = list(call.dims)
        dims[dim] = layout.resized(call.dims, dim, call.out[dim])
        return tuple(dims)
    return layout.sliced(call.dims, call.shape, call.out)


def _selected(call: _Call) -> Dims | None:
    if len(call.out) != len(call.shape) - 1:
        return None
    dim = int(call.bound.get("dim") or 0) % call.x.dim()
    rest = tuple(d for i, d in enumerate(call.dims) if i != dim)
    if SPACE in layout.dim_roles(call.dims[dim]) and call.shape[dim] > 1:  # one row of the map: the rest is a crop
        return tuple(layout.cropped(d) for d in rest)
    return rest


def _unshuffled(call: _Call) -> Dims | None:
    if len(call.out) < 3:
        return None
    merged = frozenset({*layout.dim_roles(call.dims[-3]), SPACE})
    return (*call.dims[:-3], ((merged, call.out[-3]),), *(layout.resized(call.dims, -i, call.out[-i]) for i in (2, 1)))


def _patches(call: _Call) -> Dims | None:
    """F.unfold: every window's channels and positions in one dimension, the windows' positions in another."""
    if len(call.out) != 3:
        return None
    return (call.dims[0], ((frozenset({CHANNEL, SPACE}), call.out[1]),), ((frozenset({SPACE}), call.out[2]),))


def _windows(call: _Call) -> Dims | None:
    """Tensor.unfold: the windows along a dimension, and a new last dimension inside each window."""
    if len(call.out) != len(call.shape) + 1:
        return None
    dim = int(call.bound["dimension"]) % call.x.dim()
    windows = list(call.dims)
    windows[dim] = layout.resized(call.dims, dim, call.out[dim])
    return (*windows, layout.resized(call.dims, dim, call.out[-1]))


def _resampled(call: _Call) -> Dims | None:
    """Upsampling, padding, pooling: the same dimensions, some of a new size."""
    if len(call.out) != len(call.shape):
        return None
    return tuple(
        d if o == s else layout.resized(call.dims, i, o)
        for i, (d, s, o) in enumerate(zip(call.dims, call.shape, call.out))
    )


def _concatenated(call: _Call) -> Dims | None:
    pieces = [t for t in call.bound.get("tensors", ()) if isinstance(t, torch.Tensor) and t.dim() == len(call.out)]
    held = [dims for t in pieces if (dims := call.facts.dims(t)) is not None]
    if not held:
        return None
    dim = int(call.bound.get("dim", 0)) % len(call.out)
    roles = frozenset(role for dims in held for role in layout.dim_roles(dims[dim]))
    return (*held[0][:dim], ((roles or frozenset({CHANNEL}), call.out[dim]),), *held[0][dim + 1 :])


_LAYOUTS: dict[str, Callable[[_Call], Dims | None]] = {
    **dict.fromkeys(_SAME, lambda call: call.dims if call.out == call.shape else None),
    **dict.fromkeys(_RESHAPES, lambda call: layout.reshaped(call.dims, call.shape, call.out)),
    **dict.fromkeys(
        ("expand", "expand_copy", "broadcast_to"),
        lambda call: (
            layout.reshaped(call.dims, call.shape, call.out)
            if math.prod(call.out) == math.prod(call.shape)
            else layout.broadcast_to(call.dims, call.shape, call.out)
        ),
    ),
    **dict.fromkeys(
        ("permute", "permute_copy"),
        lambda call: layout.permuted(call.dims, [int(d) % call.x.dim() for d in call.bound["dims"]]),
    ),
    **dict.fromkeys(("transpose", "transpose_", "transpose_copy", "t", "t_", "numpy_T"), _transposed),
    **dict.fromkeys(
        # split and chunk make every piece at once: each is a slice
        (
            *("narrow", "index", "index_select", "gather", "take_along_dim"),
            *("split", "split_with_sizes", "unsafe_split", "chunk", "tensor_split"),
        ),
        lambda call: layout.sliced(call.dims, call.shape, call.out) if len(call.out) == len(call.shape) else None,
    ),
    **dict.fromkeys(("slice", "slice_copy"), _strided),
    # unbind (``for row in x``) makes every row at once: each is what select makes of one
    **dict.fromkeys(("select", "select_copy", "unbind", "unbind_copy"), _selected),
    "pixel_unshuffle": _unshuffled,
    "im2col": _patches,
    "unfold": _windows,
    "cat": _concatenated,
}
_RESAMPLING = (
    "upsample",
    "_upsample",
    "avg_pool",
    "max_pool",
    "_adaptive",
    "adaptive",
    "fractional",
    "reflection_pad",
    "replication_pad",
    "constant_pad_nd",
)


def output_dims(
    name: str, func: Any, args: Sequence[Any], kwargs: dict, out: torch.Tensor, facts: Facts
) -> Dims | None:
    """What each dimension of ``out`` holds, when it depends on the input (None: the default convention)."""
    tensors = [t for t in tree_leaves(list(args)) if isinstance(t, torch.Tensor)]
    x = next((t for t in tensors if facts.dims(t) is not None), None)
    if x is None:
        return None
    dims = facts.dims(x)
    assert dims is not None
    bound = bind(func, args, kwargs) if hasattr(func, "_schema") else {}
    call = _Call(name, x, dims, tuple(x.shape), tuple(out.shape), bound, facts)
    rule = _LAYOUTS.get(name) or (_resampled if name.startswith(_RESAMPLING) else None)
    if rule is not None:
        return rule(call)
    if len(call.out) >= len(call.shape) and _broadcasts(call.shape, call.out):  # elementwise
        return layout.broadcast_to(dims, call.shape, call.out)
    return None


def _broadcasts(shape: Sequence[int], out: Sequence[int]) -> bool:
    return all(s in (1, o) for s, o in zip(reversed(shape), reversed(out)))


# -- multiply-accumulates -------------------------------------------------------------------------------


def macs(name: str, func: Any, args: Sequence[Any], kwargs: dict, out: Any) -> int:
    """Multiply-accumulates of one call, by the formulas of ``torch.utils.flop_counter`` (FLOPs / 2).

    Only products count, as in torch's counter: convolutions and the matrix
    products; elementwise operations, normalisation and pooling do not.
    """
    if name in ("convolution", "_convolution", "conv1d", "conv2d", "conv3d"):
        bound = bind(func, args, kwargs)
        x, weight = bound["input"], bound["weight"]
        transposed = bool(bound.get("transposed", False))
        spatial = x.shape[2:] if transposed else out.shape[2:]
        return int(x.shape[0]) * math.prod(weight.shape) * math.prod(spatial)
    if name in ("mm", "addmm", "_addmm_activation", "bmm", "baddbmm"):
        first, second = (0, 1) if name in ("mm", "bmm") else (1, 2)
        a, b = args[first], args[second]
        return math.prod(a.shape) * int(b.shape[-1])
    return 0
