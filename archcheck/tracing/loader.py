"""Import a model file and find the model in it.

The file is imported as an ordinary module (never as ``__main__``, so its
``if __name__ == "__main__":`` block does not run) with its directory and its
project root on ``sys.path``, so multi-file submissions import their siblings.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import json
import os
import re
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from archcheck import errors
from archcheck.records import Location

ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")
# Factory functions are only called without being named when their name says they build a model.
_FACTORY_NAME = re.compile(r"(model|net)", re.IGNORECASE)
_NOT_A_FACTORY = re.compile(r"(train|test|eval|fit|run|main|loss|plot|load|save|data|download)", re.IGNORECASE)


@dataclass
class Candidate:
    """Something in the file that yields a model."""

    name: str
    kind: str  # "class", "factory" or "instance"
    obj: Any

    @property
    def location(self) -> Location | None:
        target = self.obj if self.kind != "instance" else type(self.obj)
        try:
            file = inspect.getsourcefile(target)
            line = inspect.getsourcelines(target)[1]
        except (OSError, TypeError):
            return None
        return Location(file, line) if file else None

    def build(self, kwargs: dict[str, Any]) -> nn.Module:
        if self.kind == "instance":
            return self.obj
        signature = _signature(self.obj)
        if signature is not None:
            try:
                signature.bind_partial(**kwargs)
            except TypeError as error:
                raise errors.BadArguments(name=self.name, given=json.dumps(kwargs), error=error) from None
            missing = [
                p.name
                for p in signature.parameters.values()
                if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in kwargs
            ]
            if missing:
                example = json.dumps({name: "..." for name in missing})
                raise errors.NeedsArguments(name=self.name, missing=", ".join(missing), example=example)
        model = self.obj(**kwargs)
        if not isinstance(model, nn.Module):
            raise errors.FactoryReturnedNonModule(name=self.name, returned=_describe(model))
        return model


def search_path(path: Path) -> list[str]:
    """The directories a submission imports its own modules from: its file's and its project root."""
    path = path.resolve()
    return [str(directory) for directory in dict.fromkeys((path.parent, submission_root(path))) if directory is not None]


def submission_root(path: Path) -> Path | None:
    """The nearest directory above the model file marked as a project root, if any."""
    for parent in path.resolve().parents:
        if any((parent / marker).exists() for marker in ROOT_MARKERS):
            return parent
    return None


@contextlib.contextmanager
def leaving_no_trace(path: Path) -> Iterator[None]:
    """Undo what importing a submission did to this process (for checks that run in the caller's process)."""
    saved_path, saved_meta_path, before = list(sys.path), list(sys.meta_path), set(sys.modules)
    roots = tuple(os.path.join(directory, "") for directory in search_path(path))
    try:
        yield
    finally:
        sys.path[:], sys.meta_path[:] = saved_path, saved_meta_path
        for name in set(sys.modules) - before:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if file.startswith(roots) or isinstance(sys.modules[name], _Stub):
                del sys.modules[name]


def import_file(path: Path, stub_imports: bool = False) -> types.ModuleType:
    """Import the model file, registered under its own name when free so that its siblings can import it."""
    path = path.resolve()
    for directory in reversed(search_path(path)):
        if directory not in sys.path:
            sys.path.insert(0, directory)
    if stub_imports:
        sys.meta_path.append(_StubFinder())
    name = path.stem if path.stem.isidentifier() and path.stem not in sys.modules else f"archcheck_model_{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise errors.SyntaxProblem(file=error.filename or path, line=error.lineno or 0, error=error.msg) from None
    except ModuleNotFoundError as error:
        if error.name is None:
            raise
        raise errors.MissingPackage(file=path.name, package=error.name.partition(".")[0]) from None
    return module


def find_model(module: types.ModuleType, path: Path, name: str | None, shown: str) -> Candidate:
    """The model named ``name``, or the only one the file defines (``shown``: the path as the user wrote it)."""
    if name is not None:
        return _named(module, path, name)
    candidates = _candidates(module, path)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        found = [n for n, obj in _own_members(module) if isinstance(obj, type | types.FunctionType)]
        raise errors.NoModel(file=path.name, found=", ".join(found) or "nothing")
    names = ", ".join(c.name for c in candidates)
    raise errors.SeveralModels(file=path.name, names=names, example=f"{shown}::{candidates[0].name}")


def _named(module: types.ModuleType, path: Path, name: str) -> Candidate:
    obj = getattr(module, name, None)
    if obj is None:
        candidates = ", ".join(c.name for c in _candidates(module, path)) or "none"
        raise errors.NameNotFound(file=path.name, name=name, candidates=candidates)
    if isinstance(obj, type) and issubclass(obj, nn.Module):
        return Candidate(name, "class", obj)
    if isinstance(obj, nn.Module):
        return Candidate(name, "instance", obj)
    if callable(obj) and not isinstance(obj, type):
        return Candidate(name, "factory", obj)
    raise errors.NotAModel(file=path.name, name=name, kind=_describe(obj))


def _candidates(module: types.ModuleType, path: Path) -> list[Candidate]:
    """Root model classes of the file; failing those, module-level models; failing those, factories."""
    members = list(_own_members(module))
    classes = {
        name: obj
        for name, obj in members
        if isinstance(obj, type) and issubclass(obj, nn.Module) and obj.forward is not nn.Module.forward
    }
    used = _names_used_by_other_classes(path, set(classes))
    roots = [Candidate(name, "class", cls) for name, cls in classes.items() if name not in used]
    if roots:
        return roots
    instances = [Candidate(name, "instance", obj) for name, obj in vars(module).items() if isinstance(obj, nn.Module)]
    if instances:
        return instances
    return [
        Candidate(name, "factory", obj)
        for name, obj in members
        if isinstance(obj, types.FunctionType)
        and _FACTORY_NAME.search(name)
        and not _NOT_A_FACTORY.search(name)
        and _takes_no_required_arguments(obj)
    ]


def _own_members(module: types.ModuleType) -> Iterator[tuple[str, Any]]:
    """Classes and functions defined in the module itself, in definition order."""
    for name, obj in vars(module).items():
        if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__:
            yield name, obj


def _names_used_by_other_classes(path: Path, class_names: set[str]) -> set[str]:
    """Model classes that another class of the file mentions in its body (as a submodule, usually)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            mentioned = {n.id for stmt in node.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
            used |= (mentioned & class_names) - {node.name}
    return used


def _takes_no_required_arguments(func: Callable) -> bool:
    signature = _signature(func)
    return signature is None or all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in signature.parameters.values())


def _signature(obj: Callable) -> inspect.Signature | None:
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


def _describe(obj: object) -> str:
    if obj is None:
        return "None"
    kind = type(obj)
    return f"{'an' if kind.__name__[0] in 'aeiouAEIOU' else 'a'} {kind.__name__}"


class _Stub(types.ModuleType):
    """An inert stand-in for a missing package: every attribute, call and import of it works and does nothing."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _Stub(f"{self.__name__}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _Stub(self.__name__)

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __mro_entries__(self, bases: tuple) -> tuple[type, ...]:
        return (object,)


_NEVER_STUBBED = {"torch", "torchvision", "torchaudio"}  # a model needs the real thing


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Last on ``sys.meta_path``: answers for non-torch packages that nothing else could find."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] in _NEVER_STUBBED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _Stub(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass
