"""Turning command-line arguments into model files to check (no torch here).

``model.py`` checks the one model found in the file, ``model.py::Net`` picks a
class, factory function or module-level instance; a Jupyter notebook
(``model.ipynb``) is a model file too.  For class-wide grading a directory
stands for its submissions: each model file directly inside it, and in each
of its sub-directories ``<entry>`` (default ``model.py``), or, without one,
the sub-directory's only model file; a quoted glob is expanded here so that it
works on every shell.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from archcheck import errors
from archcheck.notebook import is_notebook, read_notebook

DEFAULT_ENTRY = "model.py"
MODEL_SUFFIXES = (".py", ".ipynb")


@dataclass(frozen=True)
class Target:
    """One model to check: a file and, optionally, the name of the model in it."""

    path: Path
    name: str | None = None

    @property
    def label(self) -> str:
        return f"{self.path}::{self.name}" if self.name else str(self.path)

    @classmethod
    def parse(cls, spec: str) -> Target:
        path, sep, name = spec.partition("::")
        if not path or (sep and not name.isidentifier()):
            raise errors.BadTarget(target=spec)
        return cls(Path(path), name or None)

    def validate(self) -> None:
        """Fail early, in the parent, for targets that cannot be a model file."""
        if self.path.is_dir():
            raise errors.IsDirectory(path=self.path, entry=DEFAULT_ENTRY)
        if not self.path.exists():
            raise errors.FileMissing(path=self.path)
        if self.path.suffix not in MODEL_SUFFIXES:
            raise errors.NotPython(path=self.path)
        if is_notebook(self.path):
            read_notebook(self.path)  # a bad notebook is refused here, before a child process starts
            return
        try:
            self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise errors.NotReadable(path=self.path, error=error) from None


def expand(specs: list[str], entry: str = DEFAULT_ENTRY) -> list[str]:
    """Expand globs and directories of submissions into target specs, keeping the order given."""
    expanded: list[str] = []
    for spec in specs:
        path_part, sep, name = spec.partition("::")
        if any(char in path_part for char in "*?[") and not Path(path_part).exists():
            matches = [Path(match) for match in sorted(glob.glob(path_part, recursive=True))]
            found = [str(_submission_file(m, entry) if m.is_dir() and not sep else m) + sep + name for m in matches]
            expanded.extend(found or [spec])
        elif Path(path_part).is_dir() and not sep:
            expanded.extend(str(p) for p in submissions_in(Path(path_part), entry))
        else:
            expanded.append(spec)
    return expanded


def submissions_in(directory: Path, entry: str = DEFAULT_ENTRY) -> list[Path]:
    """The submissions in a directory: its own model files, and one per sub-directory.

    A directory that holds the entry file itself is one submission.
    """
    if (directory / entry).is_file():
        return [directory / entry]
    found: list[Path] = []
    for child in _visible(directory):
        if child.is_file() and child.suffix in MODEL_SUFFIXES:
            found.append(child)
        elif child.is_dir():
            found.append(_submission_file(child, entry))
    if not found:
        raise errors.IsDirectory(path=directory, entry=entry)
    return found


def _submission_file(directory: Path, entry: str) -> Path:
    """``<entry>`` in a student's directory, else its only model file; else the directory itself,
    which becomes that submission's one-line error."""
    if (directory / entry).is_file():
        return directory / entry
    models = [child for child in _visible(directory) if child.is_file() and child.suffix in MODEL_SUFFIXES]
    return models[0] if len(models) == 1 else directory


def _visible(directory: Path) -> list[Path]:
    """The entries of a directory, without hidden ones (``.ipynb_checkpoints``) and private ones."""
    return [child for child in sorted(directory.iterdir()) if not child.name.startswith((".", "_"))]
