"""Definitions first: which top-level statements of a model file archcheck runs.

A student's file is often a script as well as a model: at import time it
downloads MNIST, builds DataLoaders, prints ``summary(model)``, trains for
twenty epochs and plots.  archcheck needs only the model, so it runs a slice
of the module:

* every import, class definition and ``if``/``try`` around them;
* the statements the model needs: the module-level assignments whose names the
  classes read (``DROPOUT = 0.1``, ``device = torch.device(...)``), the
  functions they call, factory functions (``build_model``), and, in turn,
  whatever those read or change (``layers.append(...)`` in a loop that fills a
  list the model is built from);
* statements that build a model at module level (``model = Net().to(device)``,
  ``net = nn.Sequential(...)``) and changes to it (``model.fc = nn.Linear(...)``),
  and whatever binds the name the user picked with ``FILE::NAME``;
* harmless leftovers: assignments without calls (other than a few builtins),
  and functions whose definition needs nothing that was skipped.

Everything else is skipped: loops, bare calls (``train(...)``, ``summary(...)``,
``plt.show()``), datasets and DataLoaders the model does not read.  An
``if __name__ == "__main__":`` block never runs in any case.  The slice is
computed from the syntax tree alone; ``archcheck.tracing.inspection`` runs the
whole file instead when the slice turns out not to be enough.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

# Factory functions: what discovery also calls without being named (``archcheck.tracing.loader``).
FACTORY_NAME = re.compile(r"(model|net)", re.IGNORECASE)
NOT_A_FACTORY = re.compile(r"(train|test|eval|fit|run|main|loss|plot|load|save|data|download)", re.IGNORECASE)

# Calls that cost nothing and change nothing: an assignment calling only these is kept as a constant.
_CHEAP_CALLS = frozenset(
    {
        "abs",
        "bool",
        "dict",
        "divmod",
        "enumerate",
        "float",
        "frozenset",
        "int",
        "len",
        "list",
        "max",
        "min",
        "pow",
        "range",
        "reversed",
        "round",
        "set",
        "sorted",
        "str",
        "sum",
        "tuple",
        "zip",
    }
)
# Methods that change what they are called on in a way a model can depend on: a list of layers, a model,
# its hooks, an argparse parser whose defaults the model reads.  (``model.train()``, ``.parameters()``,
# ``.load_state_dict(...)`` do not change the architecture.)
_MUTATING_METHODS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "add_module",
        "register_module",
        "register_parameter",
        "register_buffer",
        "update",
        "setdefault",
        "pop",
        "remove",
        "clear",
        "apply",
        "register_forward_hook",
        "register_forward_pre_hook",
        "add_argument",
        "add_argument_group",
        "add_mutually_exclusive_group",
        "set_defaults",
    }
)
# Methods that return the model they are called on (``Net().to(device)`` still builds a model).
_MODEL_METHODS = frozenset(
    {"to", "cuda", "cpu", "float", "double", "half", "bfloat16", "train", "eval", "requires_grad_"}
)
_BUILTIN_NAMES = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__", "__loader__", "__package__"}


@dataclass
class Slice:
    """The statements to run, and what was left out."""

    module: ast.Module  # the kept statements, with their original line numbers
    skipped: list[ast.stmt]  # the outermost statements not run, in order (a main guard is not one)
    skipped_names: set[str]  # names the skipped statements would have bound or changed
    kept_lines: list[int]  # the first line of each kept statement

    def skipped_runs(self) -> list[tuple[int, int]]:
        """First and last line of each run of skipped statements that no kept statement interrupts."""
        runs: list[tuple[int, int]] = []
        for stmt in self.skipped:
            first, last = stmt.lineno, stmt.end_lineno or stmt.lineno
            if runs and not any(runs[-1][1] < line < first for line in self.kept_lines):
                first = runs.pop()[0]
            runs.append((first, last))
        return runs


@dataclass(eq=False)
class _Unit:
    """One statement that is kept or skipped as a whole."""

    stmt: ast.stmt
    binds: set[str]  # module-level names it binds
    touches: set[str]  # names whose objects it changes: attribute or item stores, method calls
    reads: set[str]  # module-level names it reads, when it runs or later (in a lambda)
    guards: set[str]  # names read by the ``if`` tests around it
    kept: bool = False
    defines: set[str] = field(default_factory=set)  # def-time reads of a function (decorators, defaults)


def definitions_first(tree: ast.Module, wanted: str | None, is_local_module: Callable[[str], bool]) -> Slice:
    """The slice of ``tree`` that defines the model (``wanted``: the name the user picked, if any)."""
    units = list(_units(tree.body, set()))
    modules = set().union(*(unit.binds for unit in units if isinstance(unit.stmt, ast.Import | ast.ImportFrom)))
    for unit in units:
        unit.touches -= modules  # torch.manual_seed(0) does not change what ``torch`` is
    makers = _Makers.of(units, is_local_module)
    needed: set[str] = set()
    for unit in units:
        stmt = unit.stmt
        if (
            isinstance(stmt, ast.Import | ast.ImportFrom | ast.ClassDef)
            or _is_docstring(stmt)
            or (
                isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
                and (stmt.name == wanted or _is_factory_name(stmt.name))
            )
        ):
            _keep(unit, needed)
    _slice_what_is_needed(units, needed, makers, wanted)
    _keep_what_is_harmless(units, makers)
    kept = {id(unit.stmt) for unit in units if unit.kept}
    body, skipped = _rebuild(tree.body, kept)
    skipped_names = set().union(*(unit.binds | unit.touches for unit in units if not unit.kept))
    kept_lines = sorted(unit.stmt.lineno for unit in units if unit.kept)
    return Slice(ast.Module(body=body, type_ignores=[]), skipped, skipped_names, kept_lines)


def _keep(unit: _Unit, needed: set[str]) -> None:
    unit.kept = True
    needed |= unit.reads | unit.guards | unit.defines


def _slice_what_is_needed(units: list[_Unit], needed: set[str], makers: _Makers, wanted: str | None) -> None:
    """Keep, until nothing changes, every statement that binds or changes a name kept code reads,
    that builds a model, or that binds the name the user picked."""
    changed = True
    while changed:
        changed = False
        for unit in units:
            if unit.kept:
                continue
            builds_model = isinstance(unit.stmt, ast.Assign | ast.AnnAssign) and _builds_model(unit.stmt.value, makers)
            if (unit.binds | unit.touches) & needed or (builds_model and unit.binds) or wanted in unit.binds:
                _keep(unit, needed)
                changed = True


def _keep_what_is_harmless(units: list[_Unit], makers: _Makers) -> None:
    """Keep constants, changes to kept models and functions whose definition runs with what is kept."""
    available = set(_BUILTIN_NAMES).union(*(unit.binds for unit in units if unit.kept))
    changed = True
    while changed:
        changed = False
        for unit in units:
            if unit.kept or not _is_harmless(unit.stmt, makers):
                continue
            is_function = isinstance(unit.stmt, ast.FunctionDef | ast.AsyncFunctionDef)
            if (unit.defines if is_function else _loads_now(unit.stmt)) | unit.guards <= available:
                unit.kept = True
                available |= unit.binds
                changed = True


def _is_harmless(stmt: ast.stmt, makers: _Makers) -> bool:
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.Pass):
        return True
    if isinstance(stmt, ast.Assign | ast.AnnAssign | ast.AugAssign):
        return stmt.value is None or _is_cheap(stmt.value) or _builds_model(stmt.value, makers)
    return False


def _units(stmts: list[ast.stmt], guards: set[str]) -> Iterator[_Unit]:
    """The statements decided one by one: ``if`` and ``try`` blocks are looked into."""
    for stmt in stmts:
        if _is_main_guard(stmt):
            continue
        if isinstance(stmt, ast.If):
            inner = guards | _loads(stmt.test)
            yield from _units(stmt.body, inner)
            yield from _units(stmt.orelse, inner)
        elif isinstance(stmt, ast.Try):
            for block in (stmt.body, *(handler.body for handler in stmt.handlers), stmt.orelse, stmt.finalbody):
                yield from _units(block, guards)
        else:
            yield _unit(stmt, guards)


def _unit(stmt: ast.stmt, guards: set[str]) -> _Unit:
    if isinstance(stmt, ast.ClassDef):
        reads = _loads(*stmt.bases, *stmt.keywords, *stmt.decorator_list)
        for item in stmt.body:
            reads |= _free_reads(item) if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) else _loads(item)
        return _Unit(stmt, {stmt.name}, set(), reads, guards)
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
        return _Unit(stmt, {stmt.name}, set(), _free_reads(stmt), guards, defines=_definition_reads(stmt))
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        names = {(alias.asname or alias.name).partition(".")[0] for alias in stmt.names if alias.name != "*"}
        return _Unit(stmt, names, set(), set(), guards)
    stores = {
        node.id for node in ast.walk(stmt) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del)
    }
    stores |= {
        node.name for node in ast.walk(stmt) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    return _Unit(stmt, stores, _changed_objects(stmt), _loads(stmt), guards)


@dataclass
class _Makers:
    """What a call must name to build a model at module level."""

    names: set[str]  # Net, build_model, Sequential (from torch.nn), a class imported from a sibling module
    namespaces: set[str]  # torch (only torch.nn.X), the names of torch.nn, sibling modules imported whole
    torch_nn: set[str]  # the names torch.nn is bound to (nn): every call under it builds a layer

    @classmethod
    def of(cls, units: list[_Unit], is_local_module: Callable[[str], bool]) -> _Makers:
        makers = cls(set(), set(), set())
        for unit in units:
            stmt = unit.stmt
            if isinstance(stmt, ast.ClassDef) and not NOT_A_FACTORY.search(stmt.name):
                makers.names.add(stmt.name)  # a Dataset or a Trainer class is not built
            elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and _is_factory_name(stmt.name):
                makers.names.add(stmt.name)
            elif isinstance(stmt, ast.ImportFrom):
                makers._add_from_import(stmt, is_local_module)
            elif isinstance(stmt, ast.Import):
                makers._add_import(stmt, is_local_module)
        return makers

    def _add_from_import(self, stmt: ast.ImportFrom, is_local_module: Callable[[str], bool]) -> None:
        module = stmt.module or ""
        local = stmt.level > 0 or is_local_module(module.partition(".")[0])
        for alias in stmt.names:
            bound = alias.asname or alias.name
            if module == "torch" and alias.name == "nn":
                self.namespaces.add(bound)
                self.torch_nn.add(bound)
            elif module.startswith("torch.nn") or (local and _may_build_a_model(alias.name)):
                self.names.add(bound)

    def _add_import(self, stmt: ast.Import, is_local_module: Callable[[str], bool]) -> None:
        for alias in stmt.names:
            if alias.asname and alias.name == "torch.nn":
                self.namespaces.add(alias.asname)
                self.torch_nn.add(alias.asname)
            elif not alias.asname and alias.name.startswith("torch"):
                self.namespaces.add("torch")
            elif is_local_module(alias.name.partition(".")[0]):
                self.namespaces.add((alias.asname or alias.name).partition(".")[0])


def _may_build_a_model(name: str) -> bool:
    """A class (CapWords) or a factory, not a dataset, loader or training helper."""
    return (name[:1].isupper() or bool(FACTORY_NAME.search(name))) and not NOT_A_FACTORY.search(name)


def _builds_model(value: ast.expr | None, makers: _Makers) -> bool:
    """``Net()``, ``Net(...).to(device)``, ``nn.Sequential(...)``, ``models_file.Net()``..."""
    while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr in _MODEL_METHODS:
        value = value.func.value
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if isinstance(func, ast.Name):
        return func.id in makers.names
    path: list[str] = []
    while isinstance(func, ast.Attribute):
        path.insert(0, func.attr)
        func = func.value
    if not isinstance(func, ast.Name) or func.id not in makers.namespaces:
        return False
    if func.id == "torch":
        return path[0] == "nn"  # torch.nn.Conv2d(...) builds a layer, torch.load(...) does not
    return func.id in makers.torch_nn or _may_build_a_model(path[-1])


def _is_cheap(value: ast.expr) -> bool:
    """No call other than the cheap builtins (the body of a lambda does not run)."""
    pending: list[ast.AST] = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _CHEAP_CALLS):
            return False
        if isinstance(node, ast.Await | ast.Yield | ast.YieldFrom | ast.NamedExpr):
            return False
        pending.extend(ast.iter_child_nodes(node))
    return True


def _changed_objects(stmt: ast.stmt) -> set[str]:
    """Names whose objects the statement changes: ``x.a = ...``, ``x[i] = ...``, ``x.append(...)``."""
    changed = set()
    for node in ast.walk(stmt):
        target = None
        if isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            target = node.value
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATING_METHODS
        ):
            target = node.func.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("setattr", "delattr")
            and node.args
        ):
            target = node.args[0]
        while isinstance(target, ast.Attribute | ast.Subscript):
            target = target.value
        if isinstance(target, ast.Name):
            changed.add(target.id)
    return changed


def _loads_now(stmt: ast.stmt) -> set[str]:
    """The names a statement reads as it runs: not those in lambda bodies, nor comprehension variables."""
    loads: set[str] = set()
    pending: list[ast.AST] = [stmt]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Lambda):
            pending.extend([*node.args.defaults, *filter(None, node.args.kw_defaults)])
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            loads.add(node.id)
        pending.extend(ast.iter_child_nodes(node))
    bound = {
        n.id
        for c in ast.walk(stmt)
        if isinstance(c, ast.comprehension)
        for n in ast.walk(c.target)
        if isinstance(n, ast.Name)
    }
    return loads - bound


def _loads(*nodes: ast.AST) -> set[str]:
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _free_reads(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The global names a function reads: what it loads and never binds itself (nor declares global)."""
    arguments = func.args
    params = {
        a.arg
        for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg)
        if a
    }
    local = params | {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    declared_global = {name for n in ast.walk(func) if isinstance(n, ast.Global) for name in n.names}
    body_reads = _loads(*func.body) - (local - declared_global)
    return body_reads | _definition_reads(func)


def _definition_reads(func: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """What ``def`` itself evaluates: decorators, default values and annotations."""
    arguments = func.args
    annotations = [
        a.annotation for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs) if a.annotation
    ]
    return _loads(
        *func.decorator_list,
        *arguments.defaults,
        *filter(None, arguments.kw_defaults),
        *annotations,
        *filter(None, [func.returns]),
    )


def _is_factory_name(name: str) -> bool:
    return bool(FACTORY_NAME.search(name)) and not NOT_A_FACTORY.search(name)


def _is_docstring(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)


def _is_main_guard(stmt: ast.stmt) -> bool:
    """``if __name__ == "__main__":`` (either way round)."""
    if not isinstance(stmt, ast.If) or not isinstance(stmt.test, ast.Compare) or len(stmt.test.comparators) != 1:
        return False
    sides = [stmt.test.left, stmt.test.comparators[0]]
    names = [side.id for side in sides if isinstance(side, ast.Name)]
    constants = [side.value for side in sides if isinstance(side, ast.Constant)]
    return isinstance(stmt.test.ops[0], ast.Eq) and names == ["__name__"] and constants == ["__main__"]


def _rebuild(stmts: list[ast.stmt], kept: set[int]) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """The kept statements (blocks emptied of skipped ones keep a ``pass``), and the skipped ones."""
    body: list[ast.stmt] = []
    skipped: list[ast.stmt] = []
    for stmt in stmts:
        if _is_main_guard(stmt):
            continue
        if isinstance(stmt, ast.If | ast.Try):
            blocks = (
                [stmt.body, stmt.orelse]
                if isinstance(stmt, ast.If)
                else [stmt.body, *(handler.body for handler in stmt.handlers), stmt.orelse, stmt.finalbody]
            )
            rebuilt = [_rebuild(block, kept) for block in blocks]
            if not any(new for new, _ in rebuilt):
                skipped.append(stmt)
                continue
            skipped.extend(s for _, inner in rebuilt for s in inner)
            for block, (new, _) in zip(blocks, rebuilt, strict=True):
                block[:] = new or ([ast.copy_location(ast.Pass(), block[0])] if block else [])
            body.append(stmt)
        elif id(stmt) in kept:
            body.append(stmt)
        else:
            skipped.append(stmt)
    return body, skipped
