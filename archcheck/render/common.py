"""What several formats share, so that a verdict reads the same everywhere."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from archcheck.phrasing import plural

if TYPE_CHECKING:
    from archcheck.records import Shape
    from archcheck.report import Finding, Report

SEVERITY = ("passed", "failed", "error")
# The word for a status in tables: a failure shouts, an error does not
# (the model may be fine; archcheck could not tell).
VERDICTS = {"passed": "passed", "failed": "FAILED", "error": "error"}


def mark(passed: bool | None) -> str:
    """A rule's result as one character; ``None`` means the rule was not checked."""
    return {True: "✓", False: "✗", None: "-"}[passed]


def one_line(text: str) -> str:
    """Messages from the model's code may span lines; a report line must not."""
    return " ".join(text.split())


def thousands(value: int | None) -> str:
    """A count as people read it, "23,760"; "" when unknown."""
    return "" if value is None else f"{value:,}"


def shape_text(shape: Shape | None) -> str:
    return "" if shape is None else "[" + ", ".join(str(dim) for dim in shape) + "]"


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


def finding_text(finding: Finding, base: str | None = None, sep: str = "  ") -> str:
    """``file:line  module  message``, leaving out the parts a finding lacks."""
    where = display_path(finding.file, base) if finding.file else ""
    if where and finding.line is not None:
        where += f":{finding.line}"
    return sep.join(part for part in (where, finding.module or "", one_line(finding.message)) if part)


def evidence(report: Report) -> list[tuple[str, str]]:
    """What ``--verbose`` adds, as (title, text): the traceback, the model's own output."""
    blocks = [("details", report.error.detail if report.error else None), ("output of the model's code", report.output)]
    return [(title, text.rstrip("\n")) for title, text in blocks if text]


def failure_reason(report: Report) -> str:
    """Why a report did not pass, short enough for a table cell ("" if it passed)."""
    if report.error is not None:
        return one_line(report.error.reason)
    return "; ".join(f"{rule.id}: {one_line(rule.message)}" for rule in report.failing)


def worst_status(reports: list[Report]) -> str:
    """The status of a batch: an error beats a failure beats a pass."""
    return max((report.status for report in reports), key=SEVERITY.index, default="passed")


def counts(reports: list[Report]) -> dict[str, int]:
    statuses = [report.status for report in reports]
    return {"passed": statuses.count("passed"), "failed": statuses.count("failed"), "errors": statuses.count("error")}


def counts_line(reports: list[Report]) -> str:
    tally = counts(reports)
    return (
        f"{plural(len(reports), 'model')}: {tally['passed']} passed, {tally['failed']} failed, "
        f"{plural(tally['errors'], 'error')}"
    )


@dataclass
class SummaryRow:
    """One report as a row of the class-wide table (text, markdown and csv)."""

    submission: str  # the target as given, "model.py::Net" when a name was picked
    file: str
    model: str
    status: str
    params: int | None
    results: dict[str, bool]  # rule id -> passed, for the rules that were checked
    reason: str


def rule_ids(reports: list[Report]) -> list[str]:
    """Every rule id seen, in first-seen order: the columns of the class-wide table."""
    return list(dict.fromkeys(rule.id for report in reports for rule in report.rules))


def summary_rows(reports: list[Report]) -> list[SummaryRow]:
    return [
        SummaryRow(
            submission=display_path(report.file),
            file=display_path(report.path),
            model=report.model or "",
            status=report.status,
            params=report.params.total if report.params else None,
            results={rule.id: rule.passed for rule in report.rules},
            reason=failure_reason(report),
        )
        for report in reports
    ]
