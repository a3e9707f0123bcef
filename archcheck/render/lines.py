"""The sentences every format shares, so that a verdict, a failing rule or a path reads the same everywhere.

Used by the formats, by ``archcheck.assert_passes`` and by the pytest plugin.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from archcheck.phrasing import plural

if TYPE_CHECKING:
    from archcheck.records import Shape
    from archcheck.report import Finding, Layer, Report, RuleResult, Status

# The word for a status in tables: a failure shouts, an error does not
# (the model may be fine; archcheck could not tell).
VERDICTS: dict[Status, str] = {"passed": "passed", "failed": "FAILED", "error": "error"}
ELLIPSIS = "…"


def mark(passed: bool | None) -> str:
    """A rule's result as one character; ``None`` means the rule was not checked."""
    return {True: "✓", False: "✗", None: "-"}[passed]


def one_line(text: str) -> str:
    """Messages from the model's code may span lines; a report line must not."""
    return " ".join(text.split())


def thousands(value: int | None) -> str:
    """A count as people read it, "23,760"; "" when unknown."""
    return "" if value is None else f"{value:,}"


def shape_text(shape: Shape | None, separator: str = ", ") -> str:
    return "" if shape is None else "[" + separator.join(str(dim) for dim in shape) + "]"


def shorten_left(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters by dropping its start: the end of a path names the file."""
    if len(text) <= width:
        return text
    return ELLIPSIS + text[len(text) - max(0, width - 1) :] if width > 0 else ""


# The layer table's columns as students write it by hand, shown when the trace measured them.
LAYER_MEASURES: list[tuple[str, Callable[[Layer], int | None]]] = [
    ("RF", lambda layer: layer.receptive_field),
    ("Jump", lambda layer: layer.jump),
    ("MACs", lambda layer: layer.macs),
]


def layer_columns(report: Report) -> list[tuple[str, Callable[[Layer], int | None]]]:
    """The receptive field, jump and MACs columns that some layer of ``report`` has a value for."""
    return [
        (title, value) for title, value in LAYER_MEASURES if any(value(layer) is not None for layer in report.layers)
    ]


def verdict_line(report: Report) -> str:
    """The one sentence that says how a report came out."""
    if report.error is not None:
        return f"ERROR: could not check: {one_line(report.error.reason)}"
    total = len(report.rules)
    failing = report.failing
    if not failing:
        return f"PASSED: {'' if total == 1 else 'all '}{plural(total, 'rule')} {'passes' if total == 1 else 'pass'}"
    ids = ", ".join(rule.id for rule in failing)
    return f"FAILED: {len(failing)} of {plural(total, 'rule')} {'fails' if len(failing) == 1 else 'fail'}: {ids}"


def settings_line(report: Report) -> str | None:
    """Which rules applied: the preset, the config file, the rules switched off (None when unknown)."""
    if report.preset is None:
        return None
    text = f"Preset {report.preset}, " + (f"config {display_path(report.config)}" if report.config else "no config")
    if report.ignored:
        text += f"; switched off: {', '.join(report.ignored)}"
    return text


def display_path(path: str, base: str | None = None) -> str:
    """``path`` relative to ``base`` (default: the current directory) when it lies
    inside it, so that reports are short and annotations resolve; else unchanged."""
    root = base or os.getcwd()
    for candidate, top in (
        (os.path.abspath(path), os.path.abspath(root)),
        (os.path.realpath(path), os.path.realpath(root)),
    ):
        if Path(candidate).is_relative_to(top):
            return Path(candidate).relative_to(top).as_posix()
    return path


def finding_text(finding: Finding, base: str | None = None, sep: str = "  ", path_width: int | None = None) -> str:
    """``file:line  module  message``, leaving out the parts a finding lacks
    (``path_width``: the most room the location may take, shortened from the left)."""
    where = display_path(finding.file, base) if finding.file else ""
    if where and finding.cell is not None:
        where += f":cell {finding.cell}"
    if where and finding.line is not None:
        where += f":{finding.line}"
    if path_width is not None:
        where = shorten_left(where, path_width)
    return sep.join(part for part in (where, finding.module or "", one_line(finding.message)) if part)


def rule_text(rule: RuleResult, base: str | None = None) -> list[str]:
    """A failing rule as lines of plain text: ``id: message``, then each finding indented."""
    return [f"{rule.id}: {one_line(rule.message)}", *("  " + finding_text(finding, base) for finding in rule.findings)]


def evidence(report: Report) -> list[tuple[str, str]]:
    """What ``--verbose`` adds, as (title, text): the traceback, the model's own output."""
    blocks = [("details", report.error.detail if report.error else None), ("output of the model's code", report.output)]
    return [(title, text.rstrip("\n")) for title, text in blocks if text]


def failure_reason(report: Report) -> str:
    """Why a report did not pass, short enough for a table cell ("" if it passed)."""
    if report.error is not None:
        return one_line(report.error.reason)
    return "; ".join(f"{rule.id}: {one_line(rule.message)}" for rule in report.failing)
