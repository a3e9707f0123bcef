"""Output formats: one module per ``--format``.

A format is a module ``archcheck/render/<name>_format.py`` with a
module-level ``render`` (the ``Format`` protocol below), listed in
``FORMATS``.  Formats read only the report (``archcheck.report``); the
sentences they share are in ``lines.py``, the class-wide table in
``summary.py``.  A format's module is imported only when it is used, so
importing this package costs next to nothing (no torch, no rich): the CLI's
start-up time is part of the product.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol, TextIO, cast

if TYPE_CHECKING:
    from archcheck.report import Report

FORMATS = ("text", "json", "github", "markdown", "junit", "csv")


class Format(Protocol):
    def render(self, reports: list[Report], out: TextIO, err: TextIO, *, verbose: bool) -> None:
        """Write ``reports``: the results on ``out``, diagnostics (a model that could not be
        checked, in formats meant for people) on ``err``; ``verbose`` adds tracebacks and
        what the model printed."""


def formatter(fmt: str) -> Format:
    """The module that writes ``fmt``, imported on first use (importing it early, in a
    thread, overlaps its cost, rich's for "text", with other work)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    return cast(Format, importlib.import_module(f"archcheck.render.{fmt}_format"))


def render(reports: list[Report], fmt: str, out: TextIO, err: TextIO, *, verbose: bool = False) -> None:
    """Write ``reports`` in format ``fmt``: results on ``out``, diagnostics on ``err``."""
    formatter(fmt).render(reports, out, err, verbose=verbose)
