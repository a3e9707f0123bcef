"""Turning command-line arguments into model files to check (no torch here).

``model.py`` checks the one model found in the file, ``model.py::Net`` picks a
class, factory function or module-level instance.  For class-wide grading a
directory stands for its submissions: each ``*.py`` file directly inside it,
and ``<entry>`` (default ``model.py``) inside each of its sub-directories; a
quoted glob is expanded here so that it works on every shell.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from archcheck import errors

DEFAULT_ENTRY = "model.py"


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
        if self.path.suffix != ".py":
            raise errors.NotPython(path=self.path)
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
            matches = sorted(glob.glob(path_part, recursive=True))
            expanded.extend([match + sep + name for match in matches] or [spec])
        elif Path(path_part).is_dir() and not sep:
            expanded.extend(str(p) for p in submissions_in(Path(path_part), entry))
        else:
            expanded.append(spec)
    return expanded


def submissions_in(directory: Path, entry: str = DEFAULT_ENTRY) -> list[Path]:
    """The submissions in a directory: its own .py files, else <entry> in each sub-directory.

    A directory that holds the entry file itself is one submission.
    """
    if (directory / entry).is_file():
        return [directory / entry]
    found: list[Path] = []
    for child in sorted(directory.iterdir()):
        if child.name.startswith((".", "_")):
            continue
        if child.is_file() and child.suffix == ".py":
            found.append(child)
        elif child.is_dir():
            found.append(child / entry)  # a missing entry becomes a clear per-submission error
    if not found:
        raise errors.IsDirectory(path=directory, entry=entry)
    return found
