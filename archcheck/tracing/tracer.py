"""One forward pass, recorded: module calls and the operations rules care about.

Two mechanisms see everything that executes, whatever the source code looks like:

* global module hooks record every module call (qualified name, class, shapes);
* a ``TorchFunctionMode`` sees every call into torch -- ``nn.functional``,
  ``torch.*`` functions, tensor methods and operators such as ``@`` -- and
  records those in ``_KINDS``.  A mode only sees the outermost call (the body of
  ``F.batch_norm`` runs with the mode switched off), which is exactly the
  call the user or a layer made.

The mode also tracks where every tensor came from: derived from the model
input, derived only from parameters, or neither.  A matrix product between an
input-derived tensor and a parameter-derived one is a fully connected layer,
however it was written (``F.linear``, ``x @ W.t()``, ``torch.einsum``,
``torch.ops.aten.mm``...).  Attribute facts recorded per kind (``Op.attrs``):

* matmul: ``form`` (the function's name);
* conv: ``kernel``, ``stride``, ``padding`` (leading side), ``dilation``, ``groups``,
  ``in_channels``, ``in_spatial``, ``out_spatial``, ``transposed``;
* pool: ``mode`` ("avg", "max", "lp"), ``adaptive``, ``kernel``, ``stride``, ``padding``,
  ``in_spatial``, ``out_spatial``;
* reduce: ``mode`` ("mean", "sum", "max"), ``dims`` (non-negative), ``keepdim``,
  ``in_shape``, ``layout`` (what each dim holds: batch, channel, space, mixed, one) and
  ``spatial_dims`` (the dims holding spatial positions, followed through reshapes and permutes);
* batch_norm: ``training``;  dropout: ``p``, ``training``.
"""

from __future__ import annotations

import contextlib
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.weak import WeakIdKeyDictionary

from archcheck.records import (
    BATCH,
    CHANNEL,
    MIXED,
    ONE,
    PART,
    SPACE,
    DeclaredModule,
    Location,
    ModuleCall,
    Op,
    Operand,
    ParamCount,
    Shape,
)
from archcheck.tracing.sources import is_user_code, user_location

INPUT = "input"
PARAMETER = "parameter"
CONSTANT = "constant"


@dataclass(frozen=True)
class _Source:
    """Where a tensor came from."""

    kind: str  # INPUT or PARAMETER
    parameter: str | None = None  # for PARAMETER: which one
    layout: Layout | None = None  # for INPUT: what each dimension holds, when it differs from N, C, spatial...
    outer_product: Operand | None = None  # for INPUT: broadcast-multiplied by this parameter


_FROM_INPUT = _Source(INPUT)


# -- construction sites -------------------------------------------------------------------------

_construction_sites: WeakIdKeyDictionary = WeakIdKeyDictionary()


@contextlib.contextmanager
def recording_construction_sites() -> Iterator[None]:
    """Remember, for each module built inside the block, the user line that built it."""
    original_init = nn.Module.__init__

    def init(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if self not in _construction_sites:
            _construction_sites[self] = user_location(sys._getframe(1), skip_self=self)

    nn.Module.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.__init__ = original_init  # type: ignore[method-assign]


def construction_site(module: nn.Module) -> Location | None:
    return _construction_sites.get(module)


# -- argument binding ---------------------------------------------------------------------------


def _bind(args: tuple, kwargs: dict, names: tuple[str, ...], **defaults: Any) -> dict[str, Any]:
    bound = dict(defaults)
    bound.update(zip(names, args))
    bound.update(kwargs)
    return bound


def _ntuple(value: Any, n: int) -> tuple[int, ...]:
    if value is None:
        return ()
    if isinstance(value, int | float):
        return (int(value),) * n
    return tuple(int(v) for v in value)


def _spatial(shape: Shape, n: int) -> Shape:
    return tuple(shape[-n:]) if n else ()


def _is_functional(func: Callable) -> bool:
    return getattr(func, "__module__", None) == "torch.nn.functional"


# -- one describer per kind: (func, name, args, kwargs, output) -> (operand tensors, attrs) ------

_LINEAR_OPERANDS = {"linear": (0, 1), "bilinear": (0, 1, 2), "addmm": (1, 2), "addmv": (1, 2), "baddbmm": (1, 2), "addbmm": (1, 2)}


def _matmul(func: Callable, name: str, args: tuple, kwargs: dict, out: Any) -> tuple[list, dict]:
    positions = _LINEAR_OPERANDS.get(name.rstrip("_"))
    if positions is not None:
        operands = [args[i] for i in positions if i < len(args)]
    else:
        operands = list(_tensors((args, kwargs)))
    return operands, {"form": name}


def _conv(func: Callable, name: str, args: tuple, kwargs: dict, out: Any) -> tuple[list, dict]:
    if name.startswith("conv_transpose"):
        b = _bind(args, kwargs, ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation"),
                  stride=1, padding=0, groups=1, dilation=1)
        transposed = True
    elif name in ("convolution", "_convolution"):
        b = _bind(args, kwargs, ("input", "weight", "bias", "stride", "padding", "dilation", "transposed", "output_padding", "groups"))
        transposed = bool(b["transposed"])
    else:
        b = _bind(args, kwargs, ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
                  stride=1, padding=0, dilation=1, groups=1)
        transposed = False
    x, weight = b["input"], b["weight"]
    n = weight.dim() - 2
    kernel = tuple(weight.shape[2:])
    dilation = _ntuple(b["dilation"], n)
    padding = b["padding"]
    if padding == "valid":
        padding = 0
    elif padding == "same":
        padding = tuple(d * (k - 1) // 2 for d, k in zip(dilation, kernel))
    return [x, weight], {
        "kernel": kernel,
        "stride": _ntuple(b["stride"], n),
        "padding": _ntuple(padding, n),
        "dilation": dilation,
        "groups": int(b["groups"]),
        "in_channels": int(x.shape[-n - 1]),
        "in_spatial": _spatial(tuple(x.shape), n),
        "out_spatial": _spatial(tuple(_first_tensor(out).shape), n),
        "transposed": transposed,
    }


_POOL_SIGNATURES = {
    "max": ("input", "kernel_size", "stride", "padding"),
    "avg": ("input", "kernel_size", "stride", "padding"),
    "lp": ("input", "norm_type", "kernel_size", "stride"),
    "fractional_max": ("input", "kernel_size"),
    "adaptive": ("input", "output_size"),
}
_POOL_NAME = re.compile(r"(adaptive_)?(avg|max|lp|fractional_max)_pool([123])d")


def _pool(func: Callable, name: str, args: tuple, kwargs: dict, out: Any) -> tuple[list, dict]:
    match = _POOL_NAME.match(name)
    assert match is not None
    adaptive, mode, n = bool(match[1]), match[2], int(match[3])
    b = _bind(args, kwargs, _POOL_SIGNATURES["adaptive" if adaptive else mode], stride=None, padding=0)
    x = b["input"]
    kernel = None if adaptive else _ntuple(b["kernel_size"], n)
    return [x], {
        "mode": "max" if mode == "fractional_max" else mode,
        "adaptive": adaptive,
        "kernel": kernel,
        "stride": _ntuple(b["stride"], n) or kernel,
        "padding": _ntuple(b.get("padding", 0), n),
        "in_spatial": _spatial(tuple(x.shape), n),
        "out_spatial": _spatial(tuple(_first_tensor(out).shape), n),
    }


_REDUCE_MODES = {"mean": "mean", "nanmean": "mean", "sum": "sum", "nansum": "sum", "amax": "max"}


def _reduce(func: Callable, name: str, args: tuple, kwargs: dict, out: Any) -> tuple[list, dict]:
    b = _bind(args, kwargs, ("input", "dim", "keepdim"), dim=None, keepdim=False)
    x = b["input"]
    dim = b.get("axis", b["dim"])
    rank = x.dim()
    if dim is None or dim == ():
        dims = tuple(range(rank))
    else:
        dims = tuple(sorted({d % rank for d in ((dim,) if isinstance(dim, int) else dim)})) if rank else ()
    return [x], {
        "mode": _REDUCE_MODES[name],
        "dims": dims,
        "keepdim": bool(b["keepdim"]),
        "in_shape": tuple(x.shape),
    }


def _batch_norm(func: Callable, name: str, args: tuple, kwargs: dict, out: Any) -> tuple[list, dict]:
    if _is_functional(func):
        b = _bind(args, kwargs, ("input", "running_mean", "running_var", "weight", "bias", "training"), training=False)
    else:
        b = _bind(args, kwargs, ("input", "weight", "bias", "running_mean", "running_var", "training"))
    return [b["input"]], {"training": bool(b["training"])}


def _dropout(func: Callable, name: str, args: tuple, kwargs: dict, out: Any) -> tuple[list, dict]:
    if _is_functional(func):
        b = _bind(args, kwargs, ("input", "p", "training"), p=0.5, training="alpha" not in name)
    else:
        b = _bind(args, kwargs, ("input", "p", "train"))
        b["training"] = b["train"]
    return [b["input"]], {"p": float(b["p"]), "training": bool(b["training"])}


_MATMUL_NAMES = (
    "linear bilinear matmul __matmul__ __rmatmul__ linalg_matmul mm bmm addmm addmm_ addmv addmv_ baddbmm baddbmm_"
    " addbmm addbmm_ mv dot vdot inner linalg_vecdot vecdot einsum tensordot chain_matmul multi_dot linalg_multi_dot"
    " multi_head_attention_forward _native_multi_head_attention _sparse_mm sspaddmm smm hspmm"
)
_RESHAPES = {"view", "reshape", "flatten", "unflatten", "view_as", "reshape_as", "squeeze", "unsqueeze", "squeeze_", "unsqueeze_"}
_PERMUTES = {"permute", "transpose", "transpose_", "swapaxes", "swapdims", "movedim", "moveaxis", "t", "t_"}
_SLICES = {"__getitem__", "narrow", "index_select"}
_MULTIPLIES = {"mul", "mul_", "multiply", "__mul__", "__rmul__", "__imul__"}
_KINDS: dict[str, tuple[str, Callable]] = {
    **{name: ("matmul", _matmul) for name in _MATMUL_NAMES.split()},
    **{f"conv{n}d": ("conv", _conv) for n in (1, 2, 3)},
    **{f"conv_transpose{n}d": ("conv", _conv) for n in (1, 2, 3)},
    "convolution": ("conv", _conv),
    "_convolution": ("conv", _conv),
    **{
        f"{prefix}{mode}_pool{n}d{suffix}": ("pool", _pool)
        for prefix, mode, suffix in [
            ("", "avg", ""), ("", "max", ""), ("", "max", "_with_indices"), ("", "lp", ""),
            ("adaptive_", "avg", ""), ("adaptive_", "max", ""), ("adaptive_", "max", "_with_indices"),
            ("", "fractional_max", ""), ("", "fractional_max", "_with_indices"),
        ]
        for n in (1, 2, 3)
    },
    **{name: ("reduce", _reduce) for name in _REDUCE_MODES},
    **{name: ("batch_norm", _batch_norm) for name in ("batch_norm", "native_batch_norm", "_native_batch_norm_legit")},
    **{
        name + inplace: ("dropout", _dropout)
        for name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_dropout",
                     "feature_alpha_dropout", "native_dropout")
        for inplace in ("", "_")
    },
}


def _op_name(func: Callable) -> str:
    return getattr(func, "__name__", "").partition(".")[0]


def _display_name(func: Callable, name: str) -> str:
    if isinstance(func, torch._ops.OpOverload | torch._ops.OpOverloadPacket):
        return f"torch.ops.aten.{name}"
    if getattr(func, "__module__", None) in ("torch.nn.functional", "torch._C._nn"):
        return f"F.{name}"
    if hasattr(func, "__objclass__"):  # a method or operator of Tensor
        return f"Tensor.{name}"
    return f"torch.{name}"


# -- tensors in nested arguments ------------------------------------------------------------------


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _first_tensor(value: Any) -> torch.Tensor:
    return next(_tensors(value))


def _shapes(value: Any) -> list[Shape]:
    return [tuple(t.shape) for t in _tensors(value)]


# -- what each dimension of an activation holds ---------------------------------------------------

Layout = tuple[str, ...]


def default_layout(shape: Shape) -> Layout:
    """The convention of layers: N, C, then spatial dimensions (size-1 dimensions hold nothing)."""
    roles = (BATCH, CHANNEL)[: len(shape)] + (SPACE,) * max(0, len(shape) - 2)
    return tuple(ONE if size == 1 else role for role, size in zip(roles, shape))


def _merged(roles: list[str]) -> str:
    kinds = {role for role in roles if role != ONE}
    if kinds == {SPACE, PART}:
        return PART
    return kinds.pop() if len(kinds) == 1 else (ONE if not kinds else MIXED)


def regrouped(before: Shape, after: Shape, layout: Layout) -> Layout | None:
    """The layout after a reshape: merged dimensions mix their roles, split ones keep theirs."""
    if math.prod(before) != math.prod(after) or 0 in before:
        return None
    try:
        return _regroup(before, after, layout)
    except IndexError:  # a shape this walk does not understand
        return None


def _regroup(before: Shape, after: Shape, layout: Layout) -> Layout:
    roles: list[str] = []
    i = j = 0
    while j < len(after):
        if after[j] == 1:
            roles.append(ONE)
            j += 1
            continue
        while before[i] == 1:
            i += 1
        group, size_in, count_out, size_out = [i], before[i], 1, after[j]
        while size_in != size_out:
            if size_in < size_out:
                i += 1
                group.append(i)
                size_in *= before[i]
            else:
                count_out += 1
                size_out *= after[j + count_out - 1]
        roles += [_merged([layout[k] for k in group])] * count_out
        i, j = i + 1, j + count_out
    return tuple(roles)


def _sliced(before: Shape, after: Shape, layout: Layout) -> Layout | None:
    """After indexing, spatial dimensions that lost positions hold only part of the map."""
    if len(before) != len(after):
        return None
    return tuple(
        ONE if size == 1 else PART if role in (SPACE, PART) and size < full else role
        for role, size, full in zip(layout, after, before)
    )


def _permutation(name: str, rank: int, args: tuple, kwargs: dict) -> list[int]:
    """The new order of dimensions after permute, transpose, movedim..."""
    order = list(range(rank))
    if name == "permute":
        dims = kwargs.get("dims", args[1] if len(args) == 2 and not isinstance(args[1], int) else args[1:])
        return [d % rank for d in dims]
    if name in ("t", "t_"):
        return order[::-1]
    if name in ("movedim", "moveaxis"):
        source, destination = [*args[1:3], kwargs.get("source"), kwargs.get("destination")][:2]
        sources = [source] if isinstance(source, int) else list(source)
        destinations = [destination] if isinstance(destination, int) else list(destination)
        moved = {s % rank for s in sources}
        rest = iter(d for d in order if d not in moved)
        placed = {dst % rank: src % rank for src, dst in zip(sources, destinations)}
        return [placed[i] if i in placed else next(rest) for i in order]
    first, second = [*args[1:3], kwargs.get("dim0"), kwargs.get("dim1")][:2]
    order[first % rank], order[second % rank] = order[second % rank], order[first % rank]
    return order


# -- the tracer -----------------------------------------------------------------------------------


class Tracer(TorchFunctionMode):
    """Records module calls and the interesting operations of one forward pass."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.paths: dict[int, str] = {}
        for path, module in model.named_modules(remove_duplicate=False):
            self.paths.setdefault(id(module), path)
        self.parameter_names: dict[int, str] = {}
        for name, parameter in model.named_parameters(remove_duplicate=False):
            self.parameter_names.setdefault(id(parameter), name)
        self.sources: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self.stack: list[tuple[nn.Module, ModuleCall]] = []
        self.calls: list[ModuleCall] = []
        self.call_counts: dict[int, int] = {}
        self.ops: list[Op] = []
        self.unreadable: list[str] = []  # calls whose arguments could not be read, so not recorded

    # module hooks
    def _path(self, module: nn.Module) -> str:
        path = self.paths.get(id(module))
        return path if path is not None else f"<{type(module).__name__} created in forward>"

    def _before(self, module: nn.Module, args: tuple) -> None:
        call = ModuleCall(self._path(module), type(module).__name__, len(self.stack), _shapes(args), [])
        self.calls.append(call)
        self.call_counts[id(module)] = self.call_counts.get(id(module), 0) + 1
        self.stack.append((module, call))

    def _after(self, module: nn.Module, args: tuple, output: Any) -> None:
        if self.stack and self.stack[-1][0] is module:
            self.stack.pop()[1].output_shapes = _shapes(output)

    @contextlib.contextmanager
    def recording(self, inputs: torch.Tensor) -> Iterator[None]:
        self.sources[inputs] = _FROM_INPUT
        pre = nn.modules.module.register_module_forward_pre_hook(self._before)
        post = nn.modules.module.register_module_forward_hook(self._after, always_call=True)
        try:
            with recording_construction_sites(), self:  # layers built inside forward get a site too
                yield
        finally:
            pre.remove()
            post.remove()

    # every torch call
    def __torch_function__(self, func: Callable, types: tuple, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = _op_name(func)
        kind = _KINDS.get(name)
        if kind is not None:
            self._describe_and_record(func, name, kind, args, kwargs, out)
        if isinstance(out, torch.Tensor | tuple | list):
            self._propagate(args, kwargs, out)
            if name in _RESHAPES or name in _PERMUTES or name in _SLICES:
                self._relayout(name, args, kwargs, out)
            elif name in _MULTIPLIES:
                self._mark_outer_product(args, out)
        return out

    def _describe_and_record(
        self, func: Callable, name: str, kind: tuple[str, Callable], args: tuple, kwargs: dict, out: Any
    ) -> None:
        category, describe = kind
        try:
            tensors, attrs = describe(func, name, args, kwargs, out)
        except (TypeError, ValueError, IndexError, KeyError, StopIteration):  # arguments this describer cannot read
            self.unreadable.append(_display_name(func, name))
            return
        if category == "reduce":
            layout = self.layout(tensors[0])
            attrs["spatial_dims"] = tuple(d for d, role in enumerate(layout) if role == SPACE)
            attrs["layout"] = layout
        self._record(category, _display_name(func, name), [self._operand(t) for t in tensors], out, attrs)
        if category == "reduce" and attrs["mode"] != "max":
            self._record_contraction(func, name, tensors[0], out)

    def _source(self, tensor: torch.Tensor) -> _Source | None:
        source = self.sources.get(tensor)
        if source is None and isinstance(tensor, nn.Parameter):
            source = _Source(PARAMETER, self.parameter_names.get(id(tensor), "<parameter outside the model>"))
        return source

    def _propagate(self, args: tuple, kwargs: dict, out: Any) -> None:
        """An output derives from the input if any argument does, else from parameters if any argument does.

        It keeps the layout of the argument it derives from when it has the same shape (an elementwise op).
        """
        combined, origin = None, None
        for tensor in _tensors((args, kwargs)):
            source = self._source(tensor)
            if source is not None and (combined is None or source.kind == INPUT):
                combined, origin = source, tensor
                if source.kind == INPUT:
                    break
        if combined is None:
            return
        for tensor in _tensors(out):
            if not isinstance(tensor, nn.Parameter):
                keep = combined.layout is None or tensor.shape == origin.shape
                self.sources[tensor] = combined if keep else replace(combined, layout=None)

    def layout(self, tensor: torch.Tensor) -> Layout:
        source = self._source(tensor)
        return source.layout if source is not None and source.layout is not None else default_layout(tuple(tensor.shape))

    def _relayout(self, name: str, args: tuple, kwargs: dict, out: Any) -> None:
        """Follow the dimensions of an activation through reshapes and permutations."""
        tensor = args[0] if args else None
        source = self._source(tensor) if isinstance(tensor, torch.Tensor) else None
        if source is None or source.kind != INPUT or not isinstance(out, torch.Tensor):
            return
        layout = self.layout(tensor)
        if name in _PERMUTES:
            new = tuple(layout[i] for i in _permutation(name, tensor.dim(), args, kwargs))
        elif name in _SLICES:
            new = _sliced(tuple(tensor.shape), tuple(out.shape), layout)
        else:
            new = regrouped(tuple(tensor.shape), tuple(out.shape), layout)
        self.sources[out] = replace(source, layout=new)

    def _mark_outer_product(self, args: tuple, out: Any) -> None:
        """activation × parameter broadcast into a bigger tensor: summing it afterwards is a matrix product."""
        tensors = [t for t in args if isinstance(t, torch.Tensor)][:2]
        sources = [self._source(t) for t in tensors]
        if len(tensors) < 2 or not isinstance(out, torch.Tensor) or None in sources:
            return
        if {source.kind for source in sources} == {INPUT, PARAMETER}:
            activation, parameter = tensors if sources[0].kind == INPUT else tensors[::-1]
            if out.numel() > activation.numel():
                self.sources[out] = replace(self._source(activation), outer_product=self._operand(parameter))

    def _record_contraction(self, func: Callable, name: str, tensor: torch.Tensor, out: Any) -> None:
        source = self._source(tensor)
        if source is not None and source.outer_product is not None:
            operands = [self._operand(tensor), source.outer_product]
            self._record("matmul", _display_name(func, name), operands, out, {"form": f"broadcast multiply + {name}"})

    def _operand(self, tensor: Any) -> Operand:
        if not isinstance(tensor, torch.Tensor):
            return Operand((), CONSTANT)
        source = self._source(tensor)
        if source is None:
            return Operand(tuple(tensor.shape), CONSTANT)
        layout = self.layout(tensor) if source.kind == INPUT else ()
        return Operand(tuple(tensor.shape), source.kind, source.parameter, len(layout) > 1 and layout[1] == MIXED)

    def _record(self, category: str, func: str, operands: list[Operand], out: Any, attrs: dict[str, Any]) -> None:
        module = self.stack[-1][0] if self.stack else None
        out_tensors = list(_tensors(out))
        self.ops.append(
            Op(
                kind=category,
                func=func,
                module=self._path(module) if module is not None else None,
                module_type=type(module).__name__ if module is not None else None,
                location=self._op_location(module),
                operands=operands,
                output_shape=tuple(out_tensors[0].shape) if out_tensors else None,
                attrs=attrs,
            )
        )

    @staticmethod
    def _op_location(module: nn.Module | None) -> Location | None:
        """Blame the user's line that made the call, or, if a layer's own code made it, where the layer was built."""
        frame = sys._getframe(3)
        while frame is not None:
            if is_user_code(frame.f_code):
                return Location(frame.f_code.co_filename, frame.f_lineno)
            if module is not None and frame.f_locals.get("self") is module:
                return construction_site(module) or user_location(frame)
            frame = frame.f_back
        return None

    # results
    def declared_modules(self, owned: dict[int, int]) -> list[DeclaredModule]:
        return [
            DeclaredModule(
                path=path,
                type=type(module).__name__,
                params=owned.get(id(module), 0),
                calls=self.call_counts.get(id(module), 0),
                location=construction_site(module),
                library=_is_library(type(module)),
            )
            for path, module in self.model.named_modules()
        ]


def _is_library(cls: type) -> bool:
    return cls.__module__.startswith("torch.")


# -- parameter counting ---------------------------------------------------------------------------


def count_parameters(model: nn.Module) -> tuple[ParamCount, dict[int, int]]:
    """Count each parameter tensor once, however often it is registered or aliased.

    Returns the totals and, per module id, the parameters first owned by it
    (so that the layer table adds up to the total).
    """
    seen: set[tuple] = set()
    trainable = frozen = 0
    owned: dict[int, int] = {}
    for module in model.modules():
        for parameter in module.parameters(recurse=False):
            if isinstance(parameter, nn.parameter.UninitializedParameter):
                continue
            key = (
                parameter.untyped_storage()._cdata,
                parameter.storage_offset(),
                tuple(parameter.shape),
                tuple(parameter.stride()),
            )
            if key in seen:
                continue
            seen.add(key)
            count = parameter.numel()
            owned[id(module)] = owned.get(id(module), 0) + count
            if parameter.requires_grad:
                trainable += count
            else:
                frozen += count
    return ParamCount(trainable + frozen, trainable, frozen), owned
