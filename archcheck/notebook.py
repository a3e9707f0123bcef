"""Jupyter notebooks as model files (no torch and no Jupyter here).

A notebook (nbformat 4 JSON) is read directly: its code cells, in order,
become one Python module, with IPython's own syntax taken out (line magics
``%matplotlib inline``, shell lines ``!pip install ...``, ``x = !ls``, help
lines ``obj?`` and cell magics such as ``%%bash``; the body of ``%%time`` and
``%%capture`` is Python and is kept).  Each line of that module remembers its
cell and its line in the cell, so that findings point at ``model.ipynb:cell 4:12``.
Cells are numbered as they appear in the notebook, Markdown cells included,
from 1.  The parent reads a notebook once to refuse a bad one early; the child
reads it again to run it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from archcheck import errors

SUFFIX = ".ipynb"
# Cell magics whose body is Python (the cell still runs); any other cell magic makes a cell something else.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
# ``files = !ls``, ``t = %timeit -o f()``: an assignment from a magic.
_MAGIC_ASSIGNMENT = re.compile(r"[A-Za-z_][\w\s,.]*=\s*[!%]")
# ``obj?``, ``obj??``, ``?obj``: IPython's help.
_HELP = re.compile(r"\?{0,2}[A-Za-z_][\w.]*\?{0,2}")


@dataclass(frozen=True)
class NotebookSource:
    """A notebook's code as one module, and where each of its lines came from."""

    path: Path
    source: str
    origins: tuple[tuple[int, int], ...]  # per line of ``source`` (from 1): (cell, line in that cell)

    def origin(self, line: int) -> tuple[int, int] | None:
        """The (cell, line in cell) of a line of ``source``; None outside it."""
        return self.origins[line - 1] if 1 <= line <= len(self.origins) else None

    def cells(self, first: int, last: int) -> list[int]:
        """The cells that lines ``first`` to ``last`` of ``source`` come from."""
        return sorted({self.origins[line - 1][0] for line in range(max(first, 1), min(last, len(self.origins)) + 1)})


def is_notebook(path: Path) -> bool:
    return path.suffix == SUFFIX


def read_notebook(path: Path) -> NotebookSource:
    """The notebook's code cells as one module.  Raises ``errors.BadNotebook`` for what is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise errors.BadNotebook(path=path, problem=f"invalid JSON at line {error.lineno} ({error.msg})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise errors.NotReadable(path=path, error=error) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        version = data.get("nbformat") if isinstance(data, dict) else None
        problem = (
            f"nbformat {version}; archcheck reads nbformat 4 (save it again with Jupyter)"
            if version
            else "no cells in it"
        )
        raise errors.BadNotebook(path=path, problem=problem)
    if data.get("nbformat", 4) != 4:  # a notebook written by hand may leave the version out
        raise errors.BadNotebook(path=path, problem=f"nbformat {data['nbformat']}; archcheck reads nbformat 4")
    language = _language(data.get("metadata"))
    if language not in (None, "python"):
        raise errors.BadNotebook(path=path, problem=f"its kernel runs {language}, not Python")
    lines: list[str] = []
    origins: list[tuple[int, int]] = []
    for number, cell in enumerate(data["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        for line_number, line in enumerate(python_lines(text.splitlines()), start=1):
            lines.append(line)
            origins.append((number, line_number))
    if not any(line.strip() and not line.lstrip().startswith("#") for line in lines):
        raise errors.BadNotebook(path=path, problem="no Python code in its cells")
    return NotebookSource(path, "".join(line + "\n" for line in lines), tuple(origins))


def python_lines(lines: list[str]) -> list[str]:
    """The lines of one cell with IPython's syntax blanked out (as many lines, so numbers stay)."""
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("%%"):
        magic = first[2:].split(maxsplit=1)[0] if first[2:].strip() else ""
        if magic not in _PYTHON_CELL_MAGICS:
            return ["" for _ in lines]
        start = next(index for index, line in enumerate(lines) if line.strip())
        lines = [*lines[:start], "", *lines[start + 1 :]]
    kept: list[str] = []
    scanner = _Scanner()
    magic_continues = False
    for line in lines:
        if magic_continues or (scanner.at_statement_start and _is_ipython_line(line)):
            kept.append(_blanked(line))
            magic_continues = line.rstrip().endswith("\\")
            continue
        scanner.feed(line)
        kept.append(line)
    return kept


def _is_ipython_line(line: str) -> bool:
    stripped = line.strip()
    return (
        stripped.startswith(("%", "!"))
        or bool(_MAGIC_ASSIGNMENT.match(stripped))
        or ("?" in stripped and bool(_HELP.fullmatch(stripped)))
    )


def _blanked(line: str) -> str:
    """Nothing, or ``pass`` at the line's indentation, so that a block holding only a magic stays valid."""
    indent = line[: len(line) - len(line.lstrip())]
    return f"{indent}pass" if indent else ""


def _language(metadata: object) -> str | None:
    if not isinstance(metadata, dict):
        return None
    for key in ("language_info", "kernelspec"):
        section = metadata.get(key)
        if isinstance(section, dict):
            name = section.get("name" if key == "language_info" else "language")
            if isinstance(name, str) and name:
                return name.lower()
    return None


class _Scanner:
    """Just enough of Python's tokenizer to know whether a line starts a new statement:
    not inside brackets, a triple-quoted string or after a backslash."""

    def __init__(self) -> None:
        self.depth = 0
        self.open_string: str | None = None  # the closing quotes of a triple-quoted string
        self.continued = False

    @property
    def at_statement_start(self) -> bool:
        return self.depth == 0 and self.open_string is None and not self.continued

    def feed(self, line: str) -> None:
        index = 0
        while index < len(line):
            if self.open_string is not None:
                end = line.find(self.open_string, index)
                while end > 0 and _escaped(line, end):
                    end = line.find(self.open_string, end + 1)
                if end < 0:
                    break
                index = end + len(self.open_string)
                self.open_string = None
                continue
            char = line[index]
            if char == "#":
                break
            if char in "\"'":
                if line.startswith(char * 3, index):
                    self.open_string = char * 3
                    index += 3
                    continue
                end = index + 1
                while end < len(line) and (line[end] != char or _escaped(line, end)):
                    end += 1
                index = end + 1
                continue
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            index += 1
        self.continued = self.open_string is None and line.rstrip().endswith("\\")


def _escaped(line: str, index: int) -> bool:
    """Whether the character at ``index`` follows an odd number of backslashes."""
    backslashes = 0
    while index - backslashes - 1 >= 0 and line[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1
