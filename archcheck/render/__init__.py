"""Output formats: one module per ``--format``.

A format's module is imported only when it is used, so importing this package
costs next to nothing (no torch, no rich): the CLI's start-up time is part of
the product.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from archcheck.report import Report

FORMATS = ("text", "json", "github", "markdown", "junit", "csv")


def formatter(fmt: str) -> ModuleType:
    """The module that writes ``fmt``, imported on first use (importing it early, in a
    thread, overlaps its cost, rich's for "text", with other work)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    return importlib.import_module(f"archcheck.render.{fmt}_format")


def render(reports: list[Report], fmt: str, out: TextIO, err: TextIO, *, verbose: bool = False) -> None:
    """Write ``reports`` in format ``fmt``: results on ``out``, diagnostics on ``err``."""
    formatter(fmt).render(reports, out, err, verbose=verbose)
