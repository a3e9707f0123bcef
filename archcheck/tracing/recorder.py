"""Record one forward pass at the dispatcher: every aten operation, the tensors it read and wrote, and module calls.

A ``TorchDispatchMode`` sees the operations that really run, whatever Python
spelled them: code under ``DisableTorchFunction``, TorchScript functions and
modules, ``torch.ops.aten`` calls, ``torch.vmap`` and monkeypatched layers.
Threads started while recording are recorded too.  Each operation becomes a
node of the dataflow graph (``archcheck.tracing.graph``); tensors are matched
to the node that produced them by identity, and by storage for in-place
writes.  A tensor that arrives with an autograd history but no recorded
producer was computed where the mode could not see (a thread started before
the check, a disabled mode); its history is followed through autograd instead.

Alongside, global module hooks record each module call (for names, shapes and
the layer table), and a light ``TorchFunctionMode`` remembers which Python-level
call (``F.linear``, ``Tensor.mean``) an operation came from, for messages.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import torch
from torch import nn
from torch.nn.parameter import UninitializedBuffer, UninitializedParameter
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.weak import WeakIdKeyDictionary

from archcheck.records import CONSTANT, INPUT, SPACE, WEIGHT, Location, ModuleCall, Operand, Shape
from archcheck.tracing import layout, meta, ops
from archcheck.tracing.graph import Node, Recorded, Window, widest, window_through
from archcheck.tracing.layout import Dims
from archcheck.tracing.sites import construction_site, recording_construction_sites
from archcheck.tracing.sources import is_user_code, user_location

# Autograd nodes of a matrix product: a hidden computation containing one with a learned operand is a dense layer.
_HIDDEN_PRODUCTS = {
    "MmBackward0",
    "AddmmBackward0",
    "BmmBackward0",
    "BaddbmmBackward0",
    "MvBackward0",
    "AddmvBackward0",
    "DotBackward0",
    "LinearBackward0",
    "CdistBackward0",
    "MatmulBackward0",
    "TrilinearBackward0",
}
_DENSE_MODULES = (nn.Linear, nn.Bilinear)
# x - p summed is linear in x only through a nonlinearity ((x - p) ** 2); x * w summed is linear as it is.
_DIFFERENCES = {"sub", "sub_", "rsub", "add", "add_"}
# Tensor methods that hand an activation's values to Python or NumPy, where the dispatcher cannot follow them.
_EXPORTS = {"numpy", "tolist", "__array__"}
_DROPOUTS = {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"}


class _Mode(TorchDispatchMode):
    """A dispatch mode that does not wrap itself for torch.compile: that would import torch._dynamo (seconds)."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False


class Recorder(_Mode):
    """Builds the graph of one forward pass of ``model`` on ``inputs``."""

    def __init__(self, model: nn.Module, inputs: torch.Tensor) -> None:
        super().__init__()
        self.model = model
        self.nodes: list[Node] = []
        self.producers: WeakIdKeyDictionary = WeakIdKeyDictionary()  # tensor -> node id
        self.writers: dict[int, int] = {}  # storage -> the last node that wrote into it in place
        self.outputs: dict[int, Any] = {}  # node id -> weak reference to its first output
        self.kept: dict[int, torch.Tensor] = {}  # recorded node id -> its output, for the gradient check
        self.parameter_names = _names(model.named_parameters(remove_duplicate=False))
        self.buffer_names = _names(model.named_buffers(remove_duplicate=False))
        self.loose = _loose_tensors(model)  # learned tensors kept where model.parameters() does not look
        self.paths = _names(model.named_modules(remove_duplicate=False))
        for module_id, path in _loose_modules(model).items():
            self.paths.setdefault(module_id, path)
        self.unregistered: dict[int, tuple[str, int]] = {}  # storage -> (name, numel)
        self.calls: list[ModuleCall] = []
        self.call_counts: dict[int, int] = {}
        self.unreadable: list[str] = []
        self.hidden: list[str] = []
        self.exports: list[int] = []  # nodes whose values left torch (Tensor.numpy(), .tolist())
        self.exported_weights: dict[str, Operand] = {}  # learned tensors whose values left torch, by name
        self.imported: list[str] = []  # tensors made outside torch from activations that left it
        self.local = threading.local()
        self.spatial = max(inputs.dim() - 2, 0)
        self.input_node = self._leaf(
            "input", tuple(inputs.shape), depends_on_input=True, dims=layout.default_dims(tuple(inputs.shape))
        )
        self.nodes[self.input_node].receptive_field = (1,) * self.spatial if self.spatial else None
        self.nodes[self.input_node].jump = (1,) * self.spatial if self.spatial else None
        self.producers[inputs] = self.input_node
        self.outputs[self.input_node] = weakref.ref(inputs)

    # -- per-thread state ---------------------------------------------------------------------------------

    @property
    def _stack(self) -> list[tuple[nn.Module, int, int, list[int]]]:
        """Module calls running on this thread: (module, call index, first node id, its inputs' producers)."""
        stack: list[tuple[nn.Module, int, int, list[int]]] | None = getattr(self.local, "stack", None)
        if stack is None:
            stack = self.local.stack = []
        return stack

    @property
    def _label(self) -> str | None:
        return getattr(self.local, "label", None)

    # -- entering and leaving -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        """Record module calls and operations inside the block, on this thread and on threads started in it."""
        pre = nn.modules.module.register_module_forward_pre_hook(self._before)
        post = nn.modules.module.register_module_forward_hook(self._after, always_call=True)
        try:
            with recording_construction_sites(), _threads_recorded_by(self), self._entered():
                yield
        finally:
            pre.remove()
            post.remove()

    @contextlib.contextmanager
    def _entered(self) -> Iterator[None]:
        with _Labels(self), self:
            yield

    # -- module hooks -------------------------------------------------------------------------------------------

    def _path(self, module: nn.Module) -> str:
        path = self.paths.get(id(module))
        return path if path is not None else f"<{type(module).__name__} created in forward>"

    def _before(self, module: nn.Module, args: tuple) -> None:
        index = len(self.calls)
        self.calls.append(
            ModuleCall(
                self._path(module),
                type(module).__name__,
                len(self._stack),
                _shapes(args),
                [],
                location=user_location(sys._getframe(1)),
            )
        )
        self.call_counts[id(module)] = self.call_counts.get(id(module), 0) + 1
        feeding = [p for t in _tensors(args) for p in self.producers_of(t)]
        self._stack.append((module, index, len(self.nodes), feeding))

    def _after(self, module: nn.Module, args: tuple, output: Any) -> None:
        stack = self._stack
        if not stack or stack[-1][0] is not module:
            return
        _, index, first, feeding = stack.pop()
        call = self.calls[index]
        call.output_shapes = _shapes(output)
        first_output = next(iter(_tensors(output)), None)
        if isinstance(module, _DENSE_MODULES) and first_output is not None:
            self._dense_module_seen(module, index, first, feeding, first_output)
        if first_output is not None:
            producer = self.producers.get(first_output)
            if producer is not None:
                node = self.nodes[producer]
                call.receptive_field, call.jump = node.receptive_field, node.jump

    def _dense_module_seen(
        self, module: nn.Module, index: int, first: int, feeding: list[int], output: torch.Tensor
    ) -> None:
        """An nn.Linear ran: if no product was recorded inside it, its computation was hidden, and its kind decides."""
        inside = range(first, len(self.nodes))
        if any((recorded := self.nodes[i].recorded) is not None and recorded.kind == "product" for i in inside):
            return
        producer = self.producers.get(output)
        if producer is not None and producer < first:  # it returned its input unchanged: nothing dense ran
            return
        weight = getattr(module, "weight", None)
        operands = [Operand(tuple(output.shape), INPUT)]
        if isinstance(weight, torch.Tensor):
            operands.append(Operand(tuple(weight.shape), WEIGHT, self._learned_name(weight)))
        node = self._new_node(
            "hidden",
            tuple(feeding if producer is None else [producer]),
            tuple(output.shape),
            depends_on_input=True,
            dims=layout.default_dims(tuple(output.shape)),
        )
        node.call = index
        node.recorded = Recorded(
            "product",
            {
                "form": f"{type(module).__name__} whose computation the recorder could not see",
                "contracted": ("channel",),
                "kept": (),
            },
            operands,
            construction_site(module),
            f"{type(module).__name__}.forward",
        )
        self.producers[output] = node.id
        self.kept[node.id] = output
        self.hidden.append(f"{self._path(module)} ({type(module).__name__})")

    # -- every aten operation -----------------------------------------------------------------------------------

    def __torch_dispatch__(self, func: Any, types: tuple, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        out = meta.run(func, args, kwargs) if _on_meta(args) else func(*args, **kwargs)
        try:
            self._record(func, args, kwargs, out)
        except Exception:  # never break the user's forward pass: say what was not checked
            self.unreadable.append(f"aten.{_aten_name(func)}")
        return out

    def _record(self, func: Any, args: tuple, kwargs: dict, out: Any) -> None:
        name = _aten_name(func)
        inputs = [t for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        if any(isinstance(t, UninitializedParameter | UninitializedBuffer) for t in inputs):
            return  # a lazy module materialising its parameters: bookkeeping, not part of the computation
        reads = [] if name in ops.SHAPE_ONLY else inputs[1:] if name in ops.OVERWRITES else inputs
        if name == "where" and len(args) == 3 and args[1] is args[2]:
            reads = [args[1]]  # both branches are the same value: the condition decides nothing
        parents = tuple(dict.fromkeys(p for t in reads for p in self.producers_of(t)))
        outputs = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        depends = any(self.nodes[p].depends_on_input for p in parents)
        node = self._new_node(
            name,
            parents,
            tuple(outputs[0].shape) if outputs else None,
            depends_on_input=depends,
            learned=None if depends else next((self.nodes[p].learned for p in parents if self.nodes[p].learned), None),
            random=(name in ops.RANDOM and _keep_probability(func, args, kwargs) != 1.0)
            or any(self.nodes[p].random for p in parents),
        )
        stack = self._stack
        node.call = stack[-1][1] if stack else None
        node.label = self._label
        if node.random and not depends:
            node.attrs["keep"] = _keep_probability(func, args, kwargs) or next(
                (self.nodes[p].attrs["keep"] for p in parents if "keep" in self.nodes[p].attrs), None
            )
        if not depends and name in ("lift_fresh", "lift_fresh_copy") and outputs:
            self._imported(node, outputs[0])
        if node.depends_on_input and outputs:
            self._describe(node, func, args, kwargs, outputs[0])
        elif name in ops.MASKING and outputs:
            self._constant_masking(node, args)
        for tensor in outputs:
            self.producers[tensor] = node.id
        for tensor in _written(func, args, kwargs):
            key = _storage(tensor)
            if key is not None:
                self.writers[key] = node.id
        if outputs:
            self.outputs[node.id] = weakref.ref(outputs[0])
            if node.recorded is not None:
                self.kept[node.id] = outputs[0]

    def _describe(self, node: Node, func: Any, args: tuple, kwargs: dict, out: torch.Tensor) -> None:
        """What the rules need of an operation on activations: its kind, its output's layout, its field and cost."""
        name = node.name
        described = ops.DESCRIBERS[name](name, func, args, kwargs, self) if name in ops.DESCRIBERS else None
        if described is None and name in ops.MASKING:
            described = self._masking(name, args)
        node.dims = (
            (ops.product_output_dims(name, args, out, self) if described and described.kind == "product" else None)
            or _described_dims(described, out, self)
            or ops.output_dims(name, func, args, kwargs, out, self)
            or layout.default_dims(tuple(out.shape))
        )
        node.window = self._window(name, func, args, kwargs, out)
        if node.window is not None and name not in ("slice", "slice_copy"):
            node.dims = self._combined_dims(node.window, tuple(out.shape)) or node.dims
        if described is None and node.window is not None and name in ops.ELEMENTWISE_MAX:
            described = self._window_max(node, name, args)
        self._follow_weighting(node, name, args, kwargs, described)
        described = node.attrs.pop("product", described)  # a weighted sum is a product first, a reduction second
        if described is not None:
            node.recorded = Recorded(
                described.kind,
                described.attrs,
                [self.operand(t) for t in described.operands],
                self._location(),
                _display(node.label, name),
            )
        self._receptive_field(node, func, args, kwargs, described)
        node.macs = ops.macs(name, func, args, kwargs, out)

    def _window(self, name: str, func: Any, args: tuple, kwargs: dict, out: torch.Tensor) -> Window | None:
        """Which positions of an earlier map a slice, or an elementwise combination of slices, holds."""
        tensors = [t for t in args if isinstance(t, torch.Tensor)]
        if name in ("slice", "slice_copy") and tensors and tensors[0].dim() == out.dim():
            x = tensors[0]
            whole = self._window_of(x) or Window(self.producers_of(x)[-1], (1,) * x.dim(), frozenset({(0,) * x.dim()}))
            dim, start, step = ops.slice_window(ops.bind(func, args, kwargs), tuple(x.shape))
            steps = tuple(s * step if d == dim else s for d, s in enumerate(whole.steps))
            offsets = frozenset(
                tuple(o + start * whole.steps[d] if d == dim else o for d, o in enumerate(offset))
                for offset in whole.offsets
            )
            return Window(whole.source, steps, offsets)
        if name in ops.COMBINING | ops.ELEMENTWISE_MAX and len(tensors) >= 2:
            windows = [self._window_of(t) if t.shape == out.shape else None for t in tensors]
            first = windows[0]
            if first is not None and all(
                w is not None and (w.source, w.steps) == (first.source, first.steps) for w in windows
            ):
                return Window(first.source, first.steps, frozenset().union(*(w.offsets for w in windows if w)))
        return None

    def _combined_dims(self, window: Window, shape: Shape) -> Dims | None:
        """Crops of a map combined at offsets that together reach every position (``x[:, :, 1:] + x[:, :, :-1]``)
        hold the whole map, smaller, as a convolution without padding does."""
        source = self.nodes[window.source]
        if source.dims is None or source.shape is None or len(source.shape) != len(shape):
            return None
        for d, (size, out, step) in enumerate(zip(source.shape, shape, window.steps)):
            first, last = min(o[d] for o in window.offsets), max(o[d] for o in window.offsets)
            if out != size and not (first < step and last + (out - 1) * step >= size - step):
                return None
        return tuple(
            dim if out == size else layout.resized(source.dims, d, out)
            for d, (dim, size, out) in enumerate(zip(source.dims, source.shape, shape))
        )

    def _window_of(self, tensor: torch.Tensor) -> Window | None:
        producers = self.producers_of(tensor)
        return self.nodes[producers[-1]].window if producers else None

    def _window_max(self, node: Node, name: str, args: tuple) -> ops.Description | None:
        """An elementwise maximum of slices of one map at different offsets is a max pool written by hand."""
        assert node.window is not None
        source = self.nodes[node.window.source]
        if source.dims is None or source.shape is None or len(source.shape) != len(node.window.steps):
            return None
        spatial = [d for d, dim in enumerate(source.dims) if SPACE in layout.dim_roles(dim)]
        spread = node.window.spread()
        x = next(t for t in args if isinstance(t, torch.Tensor))
        return ops.describe_window_max(
            name,
            x,
            self,
            source.shape,
            spatial,
            [spread[d] + 1 for d in spatial],
            [node.window.steps[d] for d in spatial],
        )

    def exported(self, tensor: torch.Tensor) -> None:
        """Values left torch (to NumPy or Python): what comes back may be computed from them."""
        if self.dims(tensor) is not None:
            self.exports.extend(self.producers_of(tensor))
        elif self._learned(tensor):
            name = next(n for p in self.producers_of(tensor) if (n := self.nodes[p].learned))
            self.exported_weights[name] = Operand(tuple(tensor.shape), WEIGHT, name)

    def _imported(self, node: Node, out: torch.Tensor) -> None:
        """A tensor made from NumPy or Python values (torch.from_numpy, torch.tensor) after activations left
        torch, holding one row per sample: computed outside torch, from the activations and -- when a learned
        tensor left torch too -- from it, which is a layer no rule can see into."""
        batch = self.nodes[self.input_node].shape
        if not self.exports or not batch or out.dim() == 0 or out.shape[0] != batch[0]:
            return
        node.inputs = tuple(dict.fromkeys(self.exports))
        node.depends_on_input = True
        node.dims = layout.default_dims(tuple(out.shape))
        self.imported.append(f"a tensor of shape {tuple(out.shape)}")
        if self.exported_weights:
            node.recorded = Recorded(
                "product",
                {"form": "computed outside torch (NumPy or Python)", "contracted": ("channel",), "kept": ()},
                [Operand(tuple(out.shape), INPUT), *self.exported_weights.values()],
                self._location(),
                "torch.from_numpy / torch.tensor of values taken out of torch",
            )

    def _masking(self, name: str, args: tuple) -> ops.Description | None:
        """An activation multiplied by (or masked with) random values that do not depend on the input: dropout."""
        tensors = [t for t in args if isinstance(t, torch.Tensor)]
        activation = next((t for t in tensors if self.dims(t) is not None), None)
        mask = next((t for t in tensors if t is not activation and self._is_random_mask(t)), None)
        if activation is None or mask is None:
            return None
        keep = next((self.nodes[p].attrs.get("keep") for p in self.producers_of(mask)), None)
        return ops.Description("dropout", {"form": name, "keep": keep}, [activation, mask], activation)

    def _constant_masking(self, node: Node, args: tuple) -> None:
        """Random masking of a tensor that does not depend on the input: a dropout that regularises nothing."""
        tensors = [t for t in args if isinstance(t, torch.Tensor)]
        mask = next((t for t in tensors if self._is_random_mask(t)), None)
        target = next((t for t in tensors if t is not mask and not self._is_random_mask(t)), None)
        if mask is None or target is None:
            return
        node.recorded = Recorded(
            "dropout",
            {"form": node.name, "keep": None, "constant": True},
            [self.operand(target), self.operand(mask)],
            self._location(),
            _display(node.label, node.name),
        )

    def inert_dropout(self, func: Callable, args: tuple, kwargs: dict) -> None:
        """A functional dropout that drops nothing (p=0, or training=False) runs no operation: note it for messages."""
        try:
            bound = inspect.signature(func).bind(*args, **kwargs)
        except (TypeError, ValueError):
            return
        bound.apply_defaults()
        p, training = bound.arguments.get("p", 0.5), bound.arguments.get("training", True)
        if not training or p == 0:
            node = self._new_node("dropout", (), None)
            stack = self._stack
            node.call = stack[-1][1] if stack else None
            why = "training=False" if not training else "p=0"
            node.recorded = Recorded(
                "dropout", {"form": func.__name__, "keep": None, "inert": why}, [], self._location(), _python_name(func)
            )

    def _is_random_mask(self, tensor: torch.Tensor) -> bool:
        nodes = [self.nodes[p] for p in self.producers_of(tensor)]
        return bool(nodes) and all(n.random and not n.depends_on_input for n in nodes)

    # -- an activation combined with a weight, then summed: a product in disguise ----------------------------------

    def _follow_weighting(
        self, node: Node, name: str, args: tuple, kwargs: dict, described: ops.Description | None
    ) -> None:
        tensors = [t for t in args if isinstance(t, torch.Tensor)]
        marked = next(
            (self.nodes[p] for t in tensors[:1] for p in self.producers_of(t) if "weighted" in self.nodes[p].attrs),
            None,
        )
        if name in ops.COMBINING and len(tensors) >= 2 and node.shape is not None:
            activation = next((t for t in tensors if self.dims(t) is not None), None)
            learned = [t for t in tensors if t is not activation and self._learned(t)]
            weight = max(learned, key=lambda t: t.numel(), default=None)  # addcmul(bias, x, w): w, not the bias
            if activation is not None and weight is not None:
                out_shape = node.shape
                weight_shape = (1,) * (len(out_shape) - weight.dim()) + tuple(weight.shape)
                x_shape = (1,) * (len(out_shape) - activation.dim()) + tuple(activation.shape)
                varying = tuple(d for d, size in enumerate(weight_shape) if size > 1)
                units = any(w > 1 and x == 1 for w, x in zip(weight_shape, x_shape))
                # A difference (x - p) is a layer only against several learned units (prototypes): x + bias is not.
                if varying and (units or name not in _DIFFERENCES):
                    node.attrs["weighted"] = {
                        "dims": layout.broadcast_to(self.dims(activation) or (), tuple(activation.shape), out_shape),
                        "varying": varying,
                        "needs_nonlinearity": name in _DIFFERENCES,
                        "combine": name.rstrip("_"),
                        "operands": [activation, weight],
                    }
                return
        if marked is None:
            return
        mark = marked.attrs["weighted"]
        if name in ops.REDUCING and described is not None and described.kind == "reduce":
            dims = set(described.attrs["dims"])
            if dims & set(mark["varying"]) and (
                not mark["needs_nonlinearity"] or name in ("linalg_vector_norm", "norm", "logsumexp")
            ):
                shape = described.attrs["in_shape"]
                kept = [d for d in range(len(shape)) if d not in dims]
                node.attrs["product"] = ops.Description(
                    "product",
                    {
                        "form": f"broadcast {mark['combine']} + {name}",
                        "contracted": layout.union([mark["dims"][d] for d in sorted(dims) if shape[d] > 1]),
                        "kept": layout.union([mark["dims"][d] for d in kept if shape[d] > 1]),
                    },
                    mark["operands"],
                    mark["operands"][0],
                )
        elif node.shape == marked.shape and (name in ops.NONLINEAR or len(tensors) == 1 or name in ops.COMBINING):
            node.attrs["weighted"] = {
                **mark,
                "needs_nonlinearity": mark["needs_nonlinearity"] and name not in ops.NONLINEAR,
            }

    # -- receptive field ---------------------------------------------------------------------------------------

    def _receptive_field(
        self, node: Node, func: Any, args: tuple, kwargs: dict, described: ops.Description | None
    ) -> None:
        fields = [
            (self.nodes[p].receptive_field, self.nodes[p].jump)
            for p in node.inputs
            if self.nodes[p].receptive_field is not None and self.nodes[p].jump is not None
        ]
        incoming = widest(fields)  # type: ignore[arg-type]
        if incoming is None:
            return
        if node.window is not None and self._window_field(node, described):
            return
        field, jump = incoming
        n = len(field)
        if described is not None and described.kind in ("conv", "pool", "reduce"):
            described.attrs["in_receptive_field"] = field  # of the map it reads: what enters a global pool
        if described is not None and described.kind in ("conv", "pool") and len(described.attrs["extent"]) == n:
            extent, stride = described.attrs["extent"], described.attrs["stride"]
            if described.attrs.get("transposed"):
                jump = tuple(max(j // s, 1) for j, s in zip(jump, stride))
                field = tuple(r + (e - 1) * j for r, e, j in zip(field, extent, jump))
            else:
                field, jump = window_through(field, jump, extent, stride)
        elif described is not None and described.kind == "reduce":
            extents = [
                size
                for d in described.attrs["dims"]
                for roles, size in (self.dims(described.activation) or ())[d]
                if SPACE in roles
            ]
            if len(extents) == n:
                field, jump = window_through(field, jump, tuple(extents), tuple(extents))
        elif node.name in ("pixel_unshuffle", "im2col"):
            bound = ops.bind(func, args, kwargs)
            window = (
                (int(bound["downscale_factor"]),) * n if node.name == "pixel_unshuffle" else tuple(bound["kernel_size"])
            )
            if len(window) == n:
                field, jump = window_through(field, jump, window, window)
        elif node.name.startswith(("upsample", "_upsample", "pixel_shuffle")) and node.shape and args:
            before, after = tuple(args[0].shape[-n:]), node.shape[-n:]
            jump = tuple(max(j * b // a, 1) if a else j for j, b, a in zip(jump, before, after))
        node.receptive_field, node.jump = field, jump

    def _window_field(self, node: Node, described: ops.Description | None) -> bool:
        """Slices keep the map's field and multiply its jump by their step; slices combined at different
        offsets (``x[..., 1:] + x[..., :-1]``, a hand-written pool) widen it by the offsets' spread."""
        assert node.window is not None
        source = self.nodes[node.window.source]
        if source.receptive_field is None or source.jump is None:
            return False
        n = len(source.receptive_field)
        lead = len(node.window.steps) - n
        if lead < 0:
            return False
        spread, steps = node.window.spread()[lead:], node.window.steps[lead:]
        if described is not None and described.kind in ("conv", "pool", "reduce"):
            described.attrs["in_receptive_field"] = source.receptive_field
        node.receptive_field = tuple(r + s * j for r, s, j in zip(source.receptive_field, spread, source.jump))
        node.jump = tuple(j * s for j, s in zip(source.jump, steps))
        return True

    # -- where tensors come from -----------------------------------------------------------------------------

    def _new_node(self, name: str, inputs: tuple[int, ...], shape: Shape | None, **facts: Any) -> Node:
        node = Node(len(self.nodes), name, inputs, shape, **facts)
        self.nodes.append(node)
        return node

    def _leaf(self, name: str, shape: Shape, **facts: Any) -> int:
        return self._new_node(name, (), shape, **facts).id

    def producers_of(self, tensor: torch.Tensor) -> list[int]:
        """The nodes whose values ``tensor`` holds: its producer, and a later in-place write into its storage."""
        found = []
        producer = self.producers.get(tensor)
        if (
            producer is not None
            and tensor.requires_grad
            and tensor.is_leaf
            and tensor._base is None  # a view of an activation made under no_grad is a leaf too
            and self.nodes[producer].name != "weight"
        ):
            producer = None  # a parameter created in forward (nn.Linear(...)(x)): learned from now on
        key = _storage(tensor)
        writer = self.writers.get(key) if key is not None else None
        if producer is None:
            producer = self._source_node(tensor)
        found.append(producer)
        if writer is not None and writer > producer:
            found.append(writer)
        return found

    def _source_node(self, tensor: torch.Tensor) -> int:
        """A tensor no recorded operation produced: a parameter, a buffer, a constant or a hidden computation."""
        shape = tuple(tensor.shape)
        if tensor.grad_fn is not None:
            node_id = self._hidden_node(tensor)
        elif _parameter_id(tensor) in self.parameter_names or (tensor.requires_grad and tensor.is_leaf):
            node_id = self._leaf("weight", shape, learned=self._learned_name(tensor))
        else:
            node_id = self._leaf("constant", shape)
        self.producers[tensor] = node_id
        self.outputs[node_id] = weakref.ref(tensor)
        return node_id

    def _learned_name(self, tensor: torch.Tensor) -> str:
        """The parameter's name; a learned tensor outside model.parameters() is counted as unregistered."""
        name = self.parameter_names.get(_parameter_id(tensor))
        if name is not None:
            return name
        name = self.loose.get(id(tensor)) or "a tensor with requires_grad=True"
        key = _storage(tensor)
        if key is not None and key not in self.unregistered:
            self.unregistered[key] = (name, tensor.numel())
        return name

    def _learned(self, tensor: torch.Tensor) -> bool:
        return all(not self.nodes[p].depends_on_input and self.nodes[p].learned for p in self.producers_of(tensor))

    def _hidden_node(self, tensor: torch.Tensor) -> int:
        """A tensor computed where the mode could not see: follow its autograd history to known nodes."""
        known: dict[int, int] = {}
        for node_id, ref in self.outputs.items():
            value = ref()
            if value is not None and value.grad_fn is not None:
                known[id(value.grad_fn)] = node_id
        inputs: set[int] = set()
        products = False
        learned: list[Operand] = []
        stack, seen = [tensor.grad_fn], set[int]()
        while stack and len(seen) < 10_000:
            function = stack.pop()
            if function is None or id(function) in seen:
                continue
            seen.add(id(function))
            if id(function) in known:
                inputs.add(known[id(function)])
                continue
            kind = type(function).__name__
            products |= kind in _HIDDEN_PRODUCTS
            variable = getattr(function, "variable", None)
            if isinstance(variable, torch.Tensor):
                inputs.update(self.producers_of(variable))
                # autograd accumulates only into tensors that require grad: learned ones
                learned.append(Operand(tuple(variable.shape), WEIGHT, self._learned_name(variable)))
                continue
            stack.extend(next_function for next_function, _ in function.next_functions)
        parents = tuple(sorted(inputs))
        depends = any(self.nodes[p].depends_on_input for p in parents)
        node = self._new_node(
            "hidden",
            parents,
            tuple(tensor.shape),
            depends_on_input=depends,
            dims=layout.default_dims(tuple(tensor.shape)) if depends else None,
        )
        if depends:
            node.receptive_field, node.jump = widest(
                [(self.nodes[p].receptive_field, self.nodes[p].jump) for p in parents if self.nodes[p].receptive_field]  # type: ignore[misc]
            ) or (None, None)
            self.hidden.append(f"a tensor of shape {tuple(tensor.shape)}")
        if depends and products and learned:
            node.recorded = Recorded(
                "product",
                {"form": "a matrix product hidden from the recorder", "contracted": ("channel",), "kept": ()},
                [Operand(tuple(tensor.shape), INPUT), *learned],
                self._location(),
                "a hidden matrix product",
            )
            self.kept[node.id] = tensor
        return node.id

    # -- what rules see of a tensor ------------------------------------------------------------------------------

    def dims(self, tensor: torch.Tensor) -> Dims | None:
        """What each dimension holds, for a tensor that depends on the model input (``ops.Facts``)."""
        nodes = [self.nodes[p] for p in self.producers_of(tensor)]
        if not any(n.depends_on_input for n in nodes):
            return None
        for node in nodes:
            if node.dims is not None and node.shape == tuple(tensor.shape):
                return node.dims
        return layout.default_dims(tuple(tensor.shape))

    def operand(self, tensor: Any) -> Operand:
        if not isinstance(tensor, torch.Tensor):
            return Operand((), CONSTANT)
        dims = self.dims(tensor)
        if dims is not None:
            return Operand(tuple(tensor.shape), INPUT, layout=layout.roles(dims))
        learned = next((self.nodes[p].learned for p in self.producers_of(tensor) if self.nodes[p].learned), None)
        if learned is not None:
            return Operand(tuple(tensor.shape), WEIGHT, learned)
        return Operand(tuple(tensor.shape), CONSTANT)

    def _location(self) -> Location | None:
        """The user's line that made the call, or, if a layer's own code made it, where the layer was built."""
        stack = self._stack
        module = stack[-1][0] if stack else None
        frame: FrameType | None = sys._getframe(2)
        while frame is not None:
            if is_user_code(frame.f_code):
                return Location(frame.f_code.co_filename, frame.f_lineno)
            owner = frame.f_locals.get("self")
            if module is not None and owner is module:  # the layer's own code made the call
                return construction_site(owner) or user_location(frame)
            frame = frame.f_back
        return construction_site(module) if module is not None else None


# -- threads ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _threads_recorded_by(recorder: Recorder) -> Iterator[None]:
    """Threads started while recording run under a mode that feeds the same recorder (modes are per thread)."""
    original = threading.Thread._bootstrap_inner  # type: ignore[attr-defined]

    def bootstrap(thread: threading.Thread) -> None:
        with _Labels(recorder), _Forwarding(recorder):
            original(thread)

    threading.Thread._bootstrap_inner = bootstrap  # type: ignore[attr-defined]
    try:
        yield
    finally:
        threading.Thread._bootstrap_inner = original  # type: ignore[attr-defined]


class _Forwarding(_Mode):
    """The recorder's mode on another thread."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def __torch_dispatch__(self, func: Any, types: tuple, args: tuple = (), kwargs: dict | None = None) -> Any:
        return self.recorder.__torch_dispatch__(func, types, args, kwargs)


class _Labels(TorchFunctionMode):
    """Remembers the outermost Python-level torch call running on this thread, to name aten operations.

    It also sees what leaves no aten operation at all: a dropout called with
    p=0 or training=False returns its input untouched.
    """

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder
        self.local = recorder.local

    def __torch_function__(self, func: Callable, types: tuple, args: tuple = (), kwargs: dict | None = None) -> Any:
        outer = getattr(self.local, "label", None)
        if outer is None:
            self.local.label = _python_name(func)
            if getattr(func, "__name__", "") in _DROPOUTS and getattr(func, "__module__", "") == "torch.nn.functional":
                self.recorder.inert_dropout(func, args, kwargs or {})
            if getattr(func, "__name__", "") in _EXPORTS and args and isinstance(args[0], torch.Tensor):
                self.recorder.exported(args[0])
        try:
            return func(*args, **(kwargs or {}))
        finally:
            if outer is None:
                self.local.label = None


# -- small helpers ---------------------------------------------------------------------------------------------


def _parameter_id(tensor: torch.Tensor) -> int:
    """The id a parameter is known by: a view made of it under no_grad (``weight.t()``) is unrecorded."""
    base = tensor._base
    return id(base if base is not None and isinstance(base, nn.Parameter) else tensor)


def _on_meta(args: tuple) -> bool:
    first = args[0] if args else None
    return isinstance(first, torch.Tensor) and first.is_meta


def _aten_name(func: Any) -> str:
    packet = getattr(func, "overloadpacket", None)
    return getattr(packet, "__name__", None) or str(func).split(".")[-2 if "." in str(func) else -1]


def _python_name(func: Callable) -> str:
    name = getattr(func, "__name__", "?")
    module = getattr(func, "__module__", None)
    if module in ("torch.nn.functional", "torch._C._nn"):
        return f"F.{name}"
    if hasattr(func, "__objclass__") or (getattr(func, "__qualname__", "").startswith("Tensor.")):
        return f"Tensor.{name}"
    return f"torch.{name}"


def _display(label: str | None, name: str) -> str:
    return label or f"torch.ops.aten.{name}"


def _described_dims(described: ops.Description | None, out: torch.Tensor, facts: Recorder) -> Dims | None:
    """Outputs of convolutions, pools and reductions: the activation's dimensions, resized or removed."""
    if described is None:
        return None
    x_dims = facts.dims(described.activation)
    if x_dims is None:
        return None
    attrs, shape = described.attrs, tuple(out.shape)
    if described.kind == "conv" and len(shape) == len(x_dims):
        return (
            x_dims[0],
            layout.new_features(shape[1]),
            *(layout.resized(x_dims, i, shape[i]) for i in range(2, len(shape))),
        )
    if described.kind == "pool" and len(shape) == len(x_dims):
        return tuple(
            x_dims[i] if shape[i] == described.activation.shape[i] else layout.resized(x_dims, i, shape[i])
            for i in range(len(shape))
        )
    if described.kind == "reduce":
        reduced = layout.without(x_dims, set(attrs["dims"]), attrs["keepdim"])
        return reduced if len(reduced) == len(shape) else None
    if described.kind in ("batch_norm", "dropout") and shape == tuple(described.activation.shape):
        return x_dims
    return None


def _keep_probability(func: Any, args: tuple, kwargs: dict) -> float | None:
    """The p of ``bernoulli_(p)`` / ``bernoulli(x, p)``: the probability of keeping a value in a dropout mask."""
    if _aten_name(func) not in ("bernoulli", "bernoulli_"):
        return None
    p = ops.bind(func, args, kwargs).get("p")
    return float(p) if isinstance(p, int | float) else None


_WRITES: dict[Any, tuple[int, ...]] = {}


def _written(func: Any, args: tuple, kwargs: dict) -> list[torch.Tensor]:
    """The tensor arguments an operation writes into (in-place and out= variants)."""
    positions = _WRITES.get(func)
    if positions is None:
        arguments = getattr(getattr(func, "_schema", None), "arguments", ())
        positions = tuple(i for i, a in enumerate(arguments) if a.alias_info is not None and a.alias_info.is_write)
        _WRITES[func] = positions
    written = [args[i] for i in positions if i < len(args)]
    written += [v for k, v in kwargs.items() if k == "out" or k.startswith("out")]
    return [t for t in tree_leaves(written) if isinstance(t, torch.Tensor)]


def _storage(tensor: torch.Tensor) -> int | None:
    try:
        return int(tensor.untyped_storage()._cdata)
    except (RuntimeError, NotImplementedError, TypeError):
        return None


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    return (t for t in tree_leaves(value) if isinstance(t, torch.Tensor))


def _shapes(value: Any) -> list[Shape]:
    return [tuple(t.shape) for t in _tensors(value)]


def _names(named: Iterator[tuple[str, Any]]) -> dict[int, str]:
    names: dict[int, str] = {}
    for name, tensor in named:
        names.setdefault(id(tensor), name)
    return names


def _loose_modules(model: nn.Module) -> dict[int, str]:
    """Modules kept in plain lists, tuples or dicts (not registered, so not in named_modules)."""
    found: dict[int, str] = {}
    for prefix, module in model.named_modules():
        for attribute, value in vars(module).items():
            items = (
                value.items()
                if isinstance(value, dict)
                else enumerate(value)
                if isinstance(value, list | tuple)
                else ()
            )
            for key, item in items:
                if isinstance(item, nn.Module):
                    base = f"{prefix}.{attribute}" if prefix else attribute
                    found.setdefault(id(item), f"{base}[{key!r}]" if isinstance(key, str) else f"{base}[{key}]")
    registered = {id(m) for m in model.modules()}
    return {k: v for k, v in found.items() if k not in registered}


def _loose_tensors(model: nn.Module) -> dict[int, str]:
    """Learned tensors the model keeps where ``parameters()`` does not look: plain attributes, lists, loose modules."""
    found: dict[int, str] = {}
    registered = {id(p) for p in model.parameters()}
    for module_id, path in _loose_modules(model).items():
        module = next(m for m in _all_modules(model) if id(m) == module_id)
        for name, parameter in module.named_parameters():
            found.setdefault(id(parameter), f"{path}.{name}")
    for prefix, module in model.named_modules():
        for attribute, value in vars(module).items():
            base = f"{prefix}.{attribute}" if prefix else attribute
            if isinstance(value, torch.Tensor) and value.requires_grad:
                found.setdefault(id(value), base)
            elif isinstance(value, list | tuple):
                for index, item in enumerate(value):
                    if isinstance(item, torch.Tensor) and item.requires_grad:
                        found.setdefault(id(item), f"{base}[{index}]")
    return {k: v for k, v in found.items() if k not in registered}


def _all_modules(model: nn.Module) -> Iterator[nn.Module]:
    seen: set[int] = set()
    stack: list[nn.Module] = [model]
    while stack:
        module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        yield module
        for value in vars(module).values():
            items = value.values() if isinstance(value, dict) else value if isinstance(value, list | tuple) else ()
            stack.extend(item for item in items if isinstance(item, nn.Module))
        stack.extend(module.children())
