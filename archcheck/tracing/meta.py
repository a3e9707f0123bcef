"""Outputs of common operations on the meta device, made without torch's Python meta kernels.

Many of torch's meta kernels are Python: the elementwise ones import ``torch._dynamo`` and
the shape checks import ``sympy`` the first time they run, seconds that a large model
traced on meta would otherwise pay for an answer that is only a shape.  On meta only
shapes, dtypes and memory formats exist, so the outputs of the operations a large model
spends its trace on are made here directly; every other operation (and any call these
helpers do not cover, which return ``None``) runs torch's own kernel.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from archcheck.tracing.ops import bind

Shortcut = Callable[[Any, Sequence[Any], dict[str, Any]], Any]


def run(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """``func(*args, **kwargs)`` for meta tensors, directly where the result is only a shape."""
    shortcut = _SHORTCUTS.get(func.overloadpacket.__name__)
    if shortcut is None and torch.Tag.pointwise in func.tags:
        shortcut = _pointwise
    made = shortcut(func, args, kwargs) if shortcut is not None else None
    return func(*args, **kwargs) if made is None else made


def _like(x: torch.Tensor, shape: Sequence[int], dtype: torch.dtype | None = None) -> torch.Tensor:
    """A meta tensor of ``shape`` in ``x``'s memory format (channels_last stays channels_last)."""
    channels_last = x.dim() == len(shape) == 4 and x.is_contiguous(memory_format=torch.channels_last)
    return torch.empty(
        tuple(shape),
        dtype=dtype or x.dtype,
        device="meta",
        memory_format=torch.channels_last if channels_last and not x.is_contiguous() else torch.contiguous_format,
    )


def _statistics_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype


# -- elementwise ---------------------------------------------------------------------------------------------


def _pointwise(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> torch.Tensor | None:
    """Broadcast shape; the dtype from the same operation on one-element CPU tensors (its own promotion)."""
    if any(argument.is_out for argument in func._schema.arguments):  # an out= overload
        return None
    tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
    if not tensors or any(not t.is_meta for t in tensors):
        return None
    if func._schema.is_mutable:  # x.relu_(), x.add_(y): the result is the first argument
        return args[0] if isinstance(args[0], torch.Tensor) and args[0].is_meta else None

    def tiny(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            return torch.ones((1,) * value.dim(), dtype=value.dtype)
        if isinstance(value, list | tuple):
            return type(value)(tiny(item) for item in value)
        return value

    try:
        sample = func(*(tiny(a) for a in args), **{key: tiny(value) for key, value in kwargs.items()})
    except Exception:  # let torch's meta kernel raise its own error
        return None
    if not isinstance(sample, torch.Tensor):
        return None
    shape = _broadcast([t.shape for t in tensors])
    return None if shape is None else _like(max(tensors, key=lambda t: t.dim()), shape, sample.dtype)


def _broadcast(shapes: Sequence[Sequence[int]]) -> list[int] | None:
    """numpy's broadcasting (``torch.broadcast_shapes`` itself imports sympy)."""
    width = max(len(shape) for shape in shapes)
    out = [1] * width
    for shape in shapes:
        for i, n in enumerate(shape, start=width - len(shape)):
            if n != 1:
                if out[i] not in (1, n):
                    return None  # torch's kernel raises the error the user should see
                out[i] = n
    return out


def _new_like(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> torch.Tensor | None:
    """``empty_like``/``zeros_like``/``ones_like`` of a contiguous or channels_last tensor."""
    bound = bind(func, args, kwargs)
    x, memory_format = bound["self"], bound.get("memory_format")
    if memory_format not in (None, torch.preserve_format) or bound.get("layout") not in (None, torch.strided):
        return None
    if bound.get("device") is not None and torch.device(bound["device"]).type != "meta":
        return None
    if not (x.is_contiguous() or (x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last))):
        return None  # torch keeps other strides as they are
    return _like(x, x.shape, bound.get("dtype"))


def _dropout(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
    x = bind(func, args, kwargs)["input"]
    return _like(x, x.shape), _like(x, x.shape, torch.bool)


# -- reductions ---------------------------------------------------------------------------------------------


def _reduction(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> torch.Tensor | None:
    """``mean``/``sum`` over dimensions (``x.mean((2, 3))``, an adaptive average pool to 1×1)."""
    bound = bind(func, args, kwargs)
    x, dims = bound["self"], bound.get("dim")
    if not isinstance(x, torch.Tensor) or bound.get("out") is not None:
        return None
    dims = list(range(x.dim())) if dims is None or len(dims) == 0 else [d % max(x.dim(), 1) for d in dims]
    keep = bool(bound.get("keepdim"))
    shape = [1 if i in dims else n for i, n in enumerate(x.shape) if keep or i not in dims]
    dtype = bound.get("dtype")
    if dtype is None:
        if not (x.is_floating_point() or x.is_complex()):
            if func.overloadpacket.__name__ == "mean":
                return None  # torch says why a mean of integers is not defined
            dtype = torch.int64
        else:
            dtype = x.dtype
    return torch.empty(shape, dtype=dtype, device="meta")


# -- windows ------------------------------------------------------------------------------------------------


def _window_sizes(
    sizes: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    ceil_mode: bool = False,
) -> list[int] | None:
    out = []
    for size, k, s, p, d in zip(sizes, kernel, stride, padding, dilation, strict=True):
        span = size + 2 * p - d * (k - 1) - 1
        if span < 0 or s <= 0:
            return None  # torch's kernel raises the error the user should see
        n = (math.ceil(span / s) if ceil_mode else span // s) + 1
        if ceil_mode and (n - 1) * s >= size + p:
            n -= 1
        out.append(n)
    return out


def _spread(value: Any, n: int, default: int) -> list[int]:
    values = [default] if value is None or (isinstance(value, list | tuple) and len(value) == 0) else value
    values = list(values) if isinstance(values, list | tuple) else [values]
    return values * n if len(values) == 1 else values


def _convolution(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> torch.Tensor | None:
    bound = bind(func, args, kwargs)
    x, weight = bound["input"], bound["weight"]
    if bound["transposed"] or x.dim() < 3 or weight.dim() != x.dim():
        return None
    n = x.dim() - 2
    groups = int(bound["groups"])
    if x.shape[1] != weight.shape[1] * groups:
        return None
    sizes = _window_sizes(
        x.shape[2:],
        weight.shape[2:],
        _spread(bound["stride"], n, 1),
        _spread(bound["padding"], n, 0),
        _spread(bound["dilation"], n, 1),
    )
    # torch's meta convolution is contiguous whatever the input's memory format
    return None if sizes is None else torch.empty((x.shape[0], weight.shape[0], *sizes), dtype=x.dtype, device="meta")


def _max_pool(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor] | None:
    bound = bind(func, args, kwargs)
    x, kernel = bound["self"], list(bound["kernel_size"])
    n = len(kernel) if len(kernel) > 1 else x.dim() - 2 if x.dim() > 3 else x.dim() - 1
    sizes = _window_sizes(
        x.shape[-n:],
        _spread(kernel, n, 1),
        _spread(bound["stride"] or kernel, n, 1),
        _spread(bound["padding"], n, 0),
        _spread(bound["dilation"], n, 1),
        bool(bound["ceil_mode"]),
    )
    if sizes is None:
        return None
    shape = [*x.shape[:-n], *sizes]
    return _like(x, shape), _like(x, shape, torch.int64)


def _adaptive_pool(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    bound = bind(func, args, kwargs)
    x, size = bound["self"], list(bound["output_size"])
    shape = [*x.shape[: x.dim() - len(size)], *size]
    if func.overloadpacket.__name__.startswith("adaptive_max"):
        return _like(x, shape), _like(x, shape, torch.int64)
    return _like(x, shape)


# -- normalisation ------------------------------------------------------------------------------------------


def _batch_norm(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[torch.Tensor, ...]:
    x = bind(func, args, kwargs)["input"]
    channels = (x.shape[1],) if x.dim() > 1 else (0,)
    stats = [torch.empty(channels, dtype=_statistics_dtype(x), device="meta") for _ in range(2)]
    outputs = (_like(x, x.shape), *stats)
    if func.overloadpacket.__name__ in ("_batch_norm_with_update", "_batch_norm_no_update"):
        return (*outputs, torch.empty(0, dtype=torch.uint8, device="meta"))
    return outputs


def _layer_norm(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[torch.Tensor, ...]:
    bound = bind(func, args, kwargs)
    x, normalized = bound["input"], len(bound["normalized_shape"])
    kept = tuple(x.shape[: x.dim() - normalized]) + (1,) * normalized
    stats = [torch.empty(kept, dtype=_statistics_dtype(x), device="meta") for _ in range(2)]
    return (_like(x, x.shape), *stats)


def _group_norm(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> tuple[torch.Tensor, ...]:
    bound = bind(func, args, kwargs)
    x = bound["input"]
    stats = [
        torch.empty((int(bound["N"]), int(bound["group"])), dtype=_statistics_dtype(x), device="meta") for _ in range(2)
    ]
    return (_like(x, x.shape), *stats)


_SHORTCUTS: dict[str, Shortcut] = {
    **dict.fromkeys(
        (
            "native_batch_norm",
            "_native_batch_norm_legit",
            "_native_batch_norm_legit_no_training",
            "_native_batch_norm_legit_functional",
            "_batch_norm_with_update",
            "_batch_norm_no_update",
        ),
        _batch_norm,
    ),
    "native_layer_norm": _layer_norm,
    "native_group_norm": _group_norm,
    "native_dropout": _dropout,
    **dict.fromkeys(("empty_like", "zeros_like", "ones_like"), _new_like),
    "convolution": _convolution,
    "mean": _reduction,
    "sum": _reduction,
    "max_pool2d_with_indices": _max_pool,
    "max_pool3d_with_indices": _max_pool,
    "_adaptive_avg_pool2d": _adaptive_pool,
    "_adaptive_avg_pool3d": _adaptive_pool,
    "adaptive_max_pool2d": _adaptive_pool,
}
