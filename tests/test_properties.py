"""Property-based tests: random small CNNs against an independent oracle.

A hypothesis strategy writes the source of a random small CNN from a fixed
vocabulary (convolutions, BatchNorm, Dropout, ReLU, max and average pools, the
many spellings of global average pooling, global max pooling, several heads,
shared modules, tied weights, frozen layers, and decorations whose result is
thrown away: a BatchNorm whose output is discarded or multiplied by zero, a
dropout of a side value, a GAP kept on the side).  While it writes each line
it records what that line really contributes to the output of a training-mode
forward pass on a batch of 1x28x28 inputs: whether a batch normalisation, a
dropout with p > 0 and an average over a whole map larger than 1x1 take part in
the output, and which learned layers are fully connected (judged at the end:
a 1×1 convolution on a 1×1 map is allowed only as the last learned layer after
a global average pool).  The expected parameter count is computed twice without
archcheck: by the generator's own bookkeeping and by plain PyTorch (the
elements of the unique ``nn.Parameter`` objects reachable from the model,
deduplicated by identity).

Each example is checked in process with ``archcheck.check`` and a few are
written to files and checked through ``check_file`` (the command line's path).
Failures ``note()`` the generated source and the expectations.
"""

from __future__ import annotations

import copy
import itertools
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from helpers import MNIST_RULES
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st
from torch import nn

import archcheck
from archcheck.api import check_file

RULES = MNIST_RULES
INPUT_SIZE = 28
CLASSES = 10
MAX_CHANNELS = 8

# -- the oracle: what a generated model really does -------------------------------------------------


@dataclass
class Layer:
    """One application of a learned layer that mixes features, as the oracle sees it."""

    kernel: int
    padding: int
    size: int  # of the map it runs on
    after_gap: bool  # a global average pool ran before it
    dense: bool = False  # nn.Linear or a matrix product with a weight


def conv_is_fc(kernel: int, padding: int, size: int, strict_fc: bool, allowed_head: bool) -> bool:
    """A convolution on a ``size``×``size`` map is an FC layer when one window covers all of it.

    On a map larger than 1×1 that makes it a dense layer in disguise; on a 1×1
    map it is allowed only as the final classifier after a GAP (``allowed_head``),
    and not at all with ``strict_fc``.  The generator never produces the
    ambiguous cases (a padded 3×3 kernel on a 1×1 or 2×2 map), so this simple
    reading is enough.
    """
    covers = kernel - padding >= size
    if not covers:
        return False
    return size > 1 or strict_fc or not allowed_head


@dataclass
class Conv:
    name: str
    cin: int
    cout: int
    kernel: int
    padding: int


@dataclass
class Plan:
    """The source of one generated model and what its forward pass really does."""

    strict_fc: bool = False
    init: list[str] = field(default_factory=list)
    forward: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)  # end of __init__: freezing
    story: list[str] = field(default_factory=list)  # one line per step, for note()
    # parameter bookkeeping: tensor key -> elements; module name -> keys of its parameters
    tensors: dict[str, int] = field(default_factory=dict)
    owns: dict[str, list[str]] = field(default_factory=dict)
    frozen_modules: set[str] = field(default_factory=set)
    # what takes part in the output
    batchnorm: bool = False
    dropout: bool = False
    gap: bool = False
    layers: list[Layer] = field(default_factory=list)
    outputs: int = 0  # values per sample
    max_params: int | None = None

    @property
    def fc(self) -> bool:
        last = self.layers[-1] if self.layers else None
        return any(
            layer.dense
            or conv_is_fc(layer.kernel, layer.padding, layer.size, self.strict_fc, layer.after_gap and layer is last)
            for layer in self.layers
        )

    # parameters --------------------------------------------------------------------------------
    def own(self, module: str, **tensors: int) -> None:
        self.owns[module] = []
        for attr, numel in tensors.items():
            key = f"{module}.{attr}"
            self.tensors[key] = numel
            self.owns[module].append(key)

    @property
    def total(self) -> int:
        return sum(self.tensors.values())

    @property
    def frozen(self) -> int:
        keys = {key for module in self.frozen_modules for key in self.owns[module]}
        return sum(self.tensors[key] for key in keys)

    @property
    def limit(self) -> int:
        return 20_000 if self.max_params is None else self.max_params

    def expected(self) -> dict[str, bool]:
        return {
            "max-params": self.total < self.limit,
            "batchnorm": self.batchnorm,
            "dropout": self.dropout,
            "gap": self.gap,
            "no-linear": not self.fc,
            "num-classes": self.outputs == CLASSES,
        }

    # source ------------------------------------------------------------------------------------
    def source(self, class_name: str = "GeneratedNet") -> str:
        lines = [
            "import torch",
            "import torch.nn as nn",
            "import torch.nn.functional as F",
            "",
            "",
            f"class {class_name}(nn.Module):",
            "    def __init__(self):",
            "        super().__init__()",
            *(f"        {line}" for line in self.init + self.tail),
            "",
            "    def forward(self, x):",
            *(f"        {line}" for line in self.forward),
            "        return x.flatten(1)",
            "",
        ]
        return "\n".join(lines)

    def describe(self) -> str:
        expected = ", ".join(f"{rule}={'pass' if ok else 'fail'}" for rule, ok in self.expected().items())
        return (
            "steps:\n  "
            + "\n  ".join(self.story or ["(none)"])
            + f"\nexpected: {expected}; params total={self.total} frozen={self.frozen} "
            f"limit={self.limit} strict_fc={self.strict_fc}\n\n{self.source()}"
        )


# -- the generator ------------------------------------------------------------------------------------


class Builder:
    """Writes a model step by step, keeping track of the map it produces."""

    def __init__(self, draw: st.DrawFn, strict_fc: bool) -> None:
        self.draw = draw
        self.plan = Plan(strict_fc=strict_fc)
        self.channels = 1
        self.size = INPUT_SIZE
        self.counter = itertools.count()
        self.convs: list[Conv] = []
        self.freezable: list[str] = []

    def name(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def say(self, text: str) -> None:
        self.plan.story.append(f"{text}  -> {self.channels}x{self.size}x{self.size}")

    # a convolution may be applied at the current size when it leaves a map and is not ambiguous
    def fits(self, kernel: int, padding: int) -> bool:
        if kernel == 1:
            return padding == 0
        return self.size >= 3  # 3×3: padding 1 keeps the size, padding 0 needs at least 3×3

    def apply_conv(self, conv: Conv, attribute: str) -> None:
        self.plan.layers.append(Layer(conv.kernel, conv.padding, self.size, self.plan.gap))
        self.plan.forward.append(f"x = self.{attribute}(x)")
        self.size = self.size + 2 * conv.padding - conv.kernel + 1
        self.channels = conv.cout
        self.say(f"{attribute}: conv k{conv.kernel} p{conv.padding} {conv.cin}->{conv.cout}")

    # body steps -------------------------------------------------------------------------------
    def step_conv(self) -> None:
        kernel = self.draw(st.sampled_from([1, 3] if self.size >= 3 else [1]))
        padding = 0 if kernel == 1 else self.draw(st.sampled_from([0, 1]))
        same = self.draw(st.booleans())  # keeping the channel count makes reuse and tying possible
        cout = self.channels if same and self.channels > 1 else self.draw(st.integers(1, MAX_CHANNELS))
        bias = self.draw(st.booleans())
        name = self.name("conv")
        conv = Conv(name, self.channels, cout, kernel, padding)
        self.plan.init.append(f"self.{name} = nn.Conv2d({conv.cin}, {cout}, {kernel}, padding={padding}, bias={bias})")
        self.plan.own(name, weight=cout * conv.cin * kernel * kernel, **({"bias": cout} if bias else {}))
        self.convs.append(conv)
        self.freezable.append(name)
        self.apply_conv(conv, name)

    def step_reuse(self) -> None:
        """Call an earlier convolution again: the same instance, directly or under a second name."""
        options = [
            c for c in self.convs if c.cin == self.channels and c.cout == c.cin and self.fits(c.kernel, c.padding)
        ]
        if not options:
            return self.step_relu()
        conv = self.draw(st.sampled_from(options))
        attribute = conv.name
        if self.draw(st.booleans()):
            attribute = self.name("alias")
            self.plan.init.append(f"self.{attribute} = self.{conv.name}  # the same module registered twice")
            self.plan.owns[attribute] = self.plan.owns[conv.name]
        self.apply_conv(conv, attribute)

    def step_tie(self) -> None:
        """A new convolution whose weight is an earlier convolution's Parameter."""
        options = [c for c in self.convs if c.cin == self.channels and self.fits(c.kernel, c.padding)]
        if not options:
            return self.step_conv()
        first = self.draw(st.sampled_from(options))
        bias = self.draw(st.booleans())
        name = self.name("tied")
        conv = Conv(name, first.cin, first.cout, first.kernel, first.padding)
        self.plan.init += [
            f"self.{name} = nn.Conv2d({conv.cin}, {conv.cout}, {conv.kernel}, padding={conv.padding}, bias={bias})",
            f"self.{name}.weight = self.{first.name}.weight  # tied",
        ]
        self.plan.owns[name] = [self.plan.owns[first.name][0]]
        if bias:
            self.plan.tensors[f"{name}.bias"] = conv.cout
            self.plan.owns[name].append(f"{name}.bias")
        self.convs.append(conv)
        self.freezable.append(name)
        self.apply_conv(conv, name)

    def step_batchnorm(self) -> None:
        called = self.draw(st.booleans())
        name = self.name("bn")
        channels = self.channels if called else self.draw(st.integers(1, MAX_CHANNELS))
        self.plan.init.append(f"self.{name} = nn.BatchNorm2d({channels})")
        self.plan.own(name, weight=channels, bias=channels)
        self.freezable.append(name)
        if called:
            self.plan.forward.append(f"x = self.{name}(x)")
            self.plan.batchnorm = True
            self.say(f"{name}: BatchNorm2d, called")
        else:
            self.say(f"{name}: BatchNorm2d({channels}) declared, never called")

    def step_dropout(self) -> None:
        p = self.draw(st.sampled_from([0.0, 0.1, 0.5]))
        form = self.draw(st.sampled_from(["Dropout", "Dropout2d", "F.dropout"]))
        called = form == "F.dropout" or self.draw(st.booleans())
        if form == "F.dropout":
            self.plan.forward.append(f"x = F.dropout(x, {p}, training=self.training)")
        else:
            name = self.name("drop")
            self.plan.init.append(
                f"self.{name} = nn.{form}({'0' if p == 0 and self.draw(st.booleans()) else f'p={p}'})"
            )
            if called:
                self.plan.forward.append(f"x = self.{name}(x)")
        self.plan.dropout |= called and p > 0
        self.say(f"{form}(p={p}){'' if called else ' declared, never called'}")

    def step_decoration(self) -> None:
        """An operation whose result does not take part in the output: it must not count."""
        form = self.draw(
            st.sampled_from(
                [
                    "bn-discarded",
                    "bn-no-grad",
                    "bn-times-zero",
                    "dropout-discarded",
                    "dropout-constant",
                    "gap-on-the-side",
                ]
            )
        )
        if form.startswith("bn"):
            name = self.name("bn")
            self.plan.init.append(f"self.{name} = nn.BatchNorm2d({self.channels})")
            self.plan.own(name, weight=self.channels, bias=self.channels)
            self.plan.forward.append(
                {
                    "bn-discarded": f"_ = self.{name}(x)",
                    "bn-no-grad": f"with torch.no_grad(): self.{name}(x)",
                    "bn-times-zero": f"x = x + 0 * self.{name}(x)",
                }[form]
            )
        elif form == "dropout-discarded":
            self.plan.forward.append("_ = F.dropout(x, 0.5, training=self.training)")
        elif form == "dropout-constant":
            self.plan.forward.append("x = x + F.dropout(torch.ones(1), 0.5, training=self.training).sum() * 0")
        else:
            self.plan.forward.append("self.side = x.mean((2, 3))  # kept for plotting")
        self.say(f"decoration: {form} (does not count)")

    def step_relu(self) -> None:
        if self.draw(st.booleans()):
            self.plan.forward.append("x = F.relu(x)")
        else:
            name = self.name("relu")
            self.plan.init.append(f"self.{name} = nn.ReLU()")
            self.plan.forward.append(f"x = self.{name}(x)")
        self.say("relu")

    def step_maxpool(self) -> None:
        if self.size < 2:
            return self.step_relu()
        name = self.name("pool")
        self.plan.init.append(f"self.{name} = nn.MaxPool2d(2)")
        self.plan.forward.append(f"x = self.{name}(x)")
        self.size //= 2
        self.say("MaxPool2d(2)")

    def step_avgpool(self) -> None:
        """A 2×2 average pool: partial, except on a 2×2 map, where it averages everything (a GAP)."""
        if self.size < 2:
            return self.step_relu()
        if self.draw(st.booleans()):
            self.plan.forward.append("x = F.avg_pool2d(x, 2)")
        else:
            name = self.name("avg")
            self.plan.init.append(f"self.{name} = nn.AvgPool2d(2)")
            self.plan.forward.append(f"x = self.{name}(x)")
        whole = self.size == 2
        self.plan.gap |= whole
        self.size //= 2
        self.say(f"AvgPool2d(2){' on a 2x2 map: a GAP' if whole else ' (partial)'}")

    def step_freeze(self) -> None:
        if not self.freezable:
            return self.step_relu()
        name = self.draw(st.sampled_from(self.freezable))
        if name not in self.plan.frozen_modules:
            self.plan.tail.append(f"self.{name}.requires_grad_(False)")
            self.plan.frozen_modules.add(name)
        self.say(f"freeze {name}")

    # the end of the network -------------------------------------------------------------------
    def pre_head(self) -> None:
        """Optionally a convolution before pooling: a 1×1 conv, or one whose kernel is the whole map."""
        choice = self.draw(st.sampled_from(["none", "conv1x1", "full"]))
        if choice == "none":
            return
        kernel = self.size if choice == "full" else 1
        name = self.name("head")
        bias = self.draw(st.booleans())
        self.plan.init.append(f"self.{name} = nn.Conv2d({self.channels}, {CLASSES}, {kernel}, bias={bias})")
        self.plan.own(name, weight=CLASSES * self.channels * kernel * kernel, **({"bias": CLASSES} if bias else {}))
        self.freezable.append(name)
        self.apply_conv(Conv(name, self.channels, CLASSES, kernel, 0), name)

    def pool(self) -> None:
        form = self.draw(
            st.sampled_from(
                ["adaptive", "mean", "flatten-mean", "avgpool-k", "F.adaptive", "global-max", "amax", "none"]
            )
        )
        if form == "none":
            return
        averages = form not in ("global-max", "amax")
        if form == "adaptive":
            name = self.name("gap")
            self.plan.init.append(f"self.{name} = nn.AdaptiveAvgPool2d(1)")
            self.plan.forward.append(f"x = self.{name}(x)")
        elif form == "avgpool-k":
            name = self.name("gap")
            self.plan.init.append(f"self.{name} = nn.AvgPool2d({self.size})")
            self.plan.forward.append(f"x = self.{name}(x)")
        elif form == "mean":
            self.plan.forward.append("x = x.mean((2, 3), keepdim=True)")
        elif form == "flatten-mean":
            self.plan.forward.append("x = x.flatten(2).mean(2)[:, :, None, None]")
        elif form == "F.adaptive":
            self.plan.forward.append("x = F.adaptive_avg_pool2d(x, 1)")
        elif form == "global-max":
            name = self.name("gmp")
            self.plan.init.append(f"self.{name} = nn.AdaptiveMaxPool2d(1)")
            self.plan.forward.append(f"x = self.{name}(x)")
        else:
            self.plan.forward.append("x = x.amax((2, 3), keepdim=True)")
        gap = averages and self.size > 1
        self.plan.gap |= gap
        self.size = 1
        self.say(f"{form} pool{' (a GAP)' if gap else ''}")

    def post_head(self) -> None:
        choice = self.draw(st.sampled_from(["none", "conv1x1", "linear", "matmul"]))
        features = self.channels * self.size * self.size
        if choice == "conv1x1":
            name = self.name("head")
            bias = self.draw(st.booleans())
            self.plan.init.append(f"self.{name} = nn.Conv2d({self.channels}, {CLASSES}, 1, bias={bias})")
            self.plan.own(name, weight=CLASSES * self.channels, **({"bias": CLASSES} if bias else {}))
            self.freezable.append(name)
            self.apply_conv(Conv(name, self.channels, CLASSES, 1, 0), name)
        elif choice == "linear":
            name = self.name("fc")
            bias = self.draw(st.booleans())
            self.plan.init.append(f"self.{name} = nn.Linear({features}, {CLASSES}, bias={bias})")
            self.plan.own(name, weight=features * CLASSES, **({"bias": CLASSES} if bias else {}))
            self.freezable.append(name)
            self.plan.forward.append(f"x = self.{name}(x.flatten(1))")
            self.plan.layers.append(Layer(1, 0, self.size, self.plan.gap, dense=True))
            self.channels, self.size = CLASSES, 1
            self.say(f"Linear({features}, {CLASSES})")
        elif choice == "matmul":
            self.plan.init.append(f"self.W = nn.Parameter(torch.randn({features}, {CLASSES}) * 0.01)")
            self.plan.tensors["W"] = features * CLASSES
            self.plan.forward.append("x = x.flatten(1) @ self.W")
            self.plan.layers.append(Layer(1, 0, self.size, self.plan.gap, dense=True))
            self.channels, self.size = CLASSES, 1
            self.say(f"x @ W ({features}x{CLASSES})")


BODY_STEPS = [
    "conv",
    "conv",
    "conv",
    "reuse",
    "reuse",
    "tie",
    "tie",
    "batchnorm",
    "batchnorm",
    "dropout",
    "dropout",
    "relu",
    "maxpool",
    "maxpool",
    "avgpool",
    "freeze",
    "decoration",
    "decoration",
]


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    builder = Builder(draw, strict_fc=draw(st.booleans()))
    for step in draw(st.lists(st.sampled_from(BODY_STEPS), max_size=12)):
        getattr(builder, f"step_{step}")()
    builder.pre_head()
    builder.pool()
    builder.post_head()
    if draw(st.booleans()):  # freeze something at the very end too (a head, say)
        builder.step_freeze()
    plan = builder.plan
    plan.outputs = builder.channels * builder.size * builder.size
    total = plan.total
    plan.max_params = draw(st.sampled_from([None, max(1, total), total + 1, max(1, total - 1), 20_000]))
    return plan


# -- running a plan -------------------------------------------------------------------------------


def build(plan: Plan) -> nn.Module:
    module = types.ModuleType("archcheck_generated_model")
    exec(compile(plan.source(), "<generated model>", "exec"), module.__dict__)
    torch.manual_seed(0)
    return module.GeneratedNet()


def plain_torch_count(model: nn.Module) -> tuple[int, int]:
    """(total, frozen): elements of the distinct Parameter objects reachable from the model."""
    unique = {id(p): p for _, p in model.named_parameters(remove_duplicate=False)}
    total = sum(p.numel() for p in unique.values())
    frozen = sum(p.numel() for p in unique.values() if not p.requires_grad)
    return total, frozen


def assert_report_matches(report: archcheck.Report, plan: Plan) -> None:
    assert report.error is None, f"could not check: {report.error.reason}"
    assert (report.params.total, report.params.frozen) == (plan.total, plan.frozen), "parameter count"
    assert report.params.trainable == plan.total - plan.frozen, "trainable parameter count"
    got = {rule: report.rule(rule).passed for rule in RULES}
    wrong = {
        rule: f"expected {'pass' if ok else 'fail'}: {report.rule(rule).message}"
        for rule, ok in plan.expected().items()
        if got[rule] != ok
    }
    assert not wrong, wrong


def dead_at_init(model: nn.Module) -> bool:
    """Whether the output's gradient is zero for every input pixel: a ReLU that is zero everywhere (one
    channel, a negative bias) cuts off every layer before it, which the oracle does not describe."""
    x = torch.randn(2, 1, INPUT_SIZE, INPUT_SIZE, requires_grad=True)
    output = copy.deepcopy(model).train()(x)
    (output * torch.randn_like(output)).sum().backward()
    return x.grad is None or not bool(x.grad.ne(0).any())


@settings(max_examples=60, deadline=None, database=None)
@given(plans())
def test_generated_models_in_process(plan: Plan) -> None:
    note(plan.describe())
    model = build(plan)
    assume(not dead_at_init(model))
    # The oracle's bookkeeping agrees with plain PyTorch (tests the generator, not archcheck).
    assert plain_torch_count(model) == (plan.total, plan.frozen)
    with torch.no_grad():
        output = model.train()(torch.randn(2, 1, INPUT_SIZE, INPUT_SIZE))
    assert output.shape[0] == 2
    report = archcheck.check(
        model, input_shape=(1, INPUT_SIZE, INPUT_SIZE), max_params=plan.limit, strict_fc=plan.strict_fc
    )
    assert_report_matches(report, plan)


_file_numbers = itertools.count()


@settings(max_examples=10, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans())
def test_generated_model_files(plan: Plan, tmp_path: Path) -> None:
    note(plan.describe())
    assert plain_torch_count(build(plan)) == (plan.total, plan.frozen)
    assume(not dead_at_init(build(plan)))
    path = tmp_path / f"generated_{next(_file_numbers)}.py"  # a fresh module name for every example
    path.write_text(plan.source(), encoding="utf-8")
    args = ["--no-config", "--max-params", str(plan.limit)] + (["--strict-fc"] if plan.strict_fc else [])
    report = check_file(str(path), args, isolate=False)
    assert report.model == "GeneratedNet"
    assert_report_matches(report, plan)


# -- a few fixed points of the oracle, so a generator bug cannot hide behind it ---------------------


@pytest.mark.parametrize(
    ("kernel", "padding", "size", "strict", "head", "expected"),
    [
        (3, 0, 3, False, True, True),  # the kernel is the whole 3×3 map
        (3, 0, 4, False, True, False),
        (3, 1, 3, False, True, False),
        (1, 0, 1, False, True, False),  # 1×1 conv as the last layer after GAP: allowed...
        (1, 0, 1, True, True, True),  # ...unless strict
        (1, 0, 1, False, False, True),  # ...and only there (no GAP before it, or another layer after it)
        (1, 0, 7, True, False, False),
        (7, 0, 7, False, True, True),
    ],
)
def test_oracle_fixed_points(kernel: int, padding: int, size: int, strict: bool, head: bool, expected: bool) -> None:
    assert conv_is_fc(kernel, padding, size, strict, head) is expected


# -- rare corners of the vocabulary, pinned down (random examples reach them seldom) ------------------

CORNERS = {
    # 28 -> 14 -> 7 -> conv3 (5) -> 2: AvgPool2d(2) on a 2×2 map averages all of it: a GAP
    "avgpool2-on-2x2-is-gap": (
        ["self.c = nn.Conv2d(1, 4, 3)", "self.p = nn.AvgPool2d(2)"],
        [
            "x = F.max_pool2d(x, 2)",
            "x = F.max_pool2d(x, 2)",
            "x = self.c(x)",
            "x = F.max_pool2d(x, 2)",
            "x = self.p(x)",
        ],
        False,
        {"gap": True, "no-linear": True},
    ),
    # 28 -> 14 -> 7 -> 3: AvgPool2d(2) leaves 1×1 but skips a row and a column
    "avgpool2-on-3x3-is-partial": (
        ["self.p = nn.AvgPool2d(2)"],
        ["x = F.max_pool2d(x, 2)", "x = F.max_pool2d(x, 2)", "x = F.max_pool2d(x, 2)", "x = self.p(x)"],
        False,
        {"gap": False, "no-linear": True},
    ),
    # an unpadded 3×3 conv on a 3×3 map is a dense layer; the mean of its 1×1 output is no GAP
    "conv3-on-3x3-is-fc": (
        ["self.c = nn.Conv2d(1, 4, 3)"],
        ["x = F.max_pool2d(x, 8)", "x = self.c(x)", "x = x.mean((2, 3))"],
        False,
        {"gap": False, "no-linear": False},
    ),
    # a 1×1 conv on a 1×1 map reached by max pooling is a dense layer: no GAP made that map
    "conv1-on-1x1-without-gap": (
        ["self.c = nn.Conv2d(1, 4, 1)"],
        ["x = F.max_pool2d(x, 28)", "x = self.c(x)"],
        False,
        {"gap": False, "no-linear": False},
    ),
    # after a GAP, as the last layer: allowed, unless strict
    "conv1-after-gap": (
        ["self.c = nn.Conv2d(1, 4, 1)"],
        ["x = F.adaptive_avg_pool2d(x, 1)", "x = self.c(x)"],
        False,
        {"gap": True, "no-linear": True},
    ),
    "conv1-after-gap-strict": (
        ["self.c = nn.Conv2d(1, 4, 1)"],
        ["x = F.adaptive_avg_pool2d(x, 1)", "x = self.c(x)"],
        True,
        {"gap": True, "no-linear": False},
    ),
    # a GAP kept on the side, a BatchNorm whose result is thrown away: neither counts
    "decorations-do-not-count": (
        ["self.bn = nn.BatchNorm2d(1)"],
        ["_ = self.bn(x)", "self.side = x.mean((2, 3))", "x = F.max_pool2d(x, 28)"],
        False,
        {"gap": False, "batchnorm": False},
    ),
}


@pytest.mark.parametrize("name", list(CORNERS))
def test_vocabulary_corners(name: str) -> None:
    init, forward, strict_fc, expected = CORNERS[name]
    plan = Plan(strict_fc=strict_fc, init=init, forward=forward)
    report = archcheck.check(build(plan), input_shape=(1, INPUT_SIZE, INPUT_SIZE), strict_fc=strict_fc)
    assert report.error is None, report.error.reason
    for rule, passed in expected.items():
        assert report.rule(rule).passed is passed, (rule, report.rule(rule).message)
