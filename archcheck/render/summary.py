"""The class-wide view of several reports: one row per submission, one column per rule.

The text, markdown and csv formats draw the same rows; the JSON format and
the GitHub outputs use the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from archcheck.phrasing import plural
from archcheck.render.lines import display_path, failure_reason

if TYPE_CHECKING:
    from archcheck.report import Report, Status


@dataclass
class SummaryRow:
    """One report as a row of the class-wide table."""

    submission: str  # the target as given, "model.py::Net" when a name was picked
    file: str
    model: str
    status: Status
    params: int | None
    results: dict[str, bool]  # rule id -> passed, for the rules that were checked
    reason: str


def rule_ids(reports: list[Report]) -> list[str]:
    """Every rule id seen, in first-seen order: the columns of the class-wide table."""
    return list(dict.fromkeys(rule.id for report in reports for rule in report.rules))


def summary_rows(reports: list[Report]) -> list[SummaryRow]:
    return [
        SummaryRow(
            submission=display_path(report.label),
            file=display_path(report.path),
            model=report.model or "",
            status=report.status,
            params=report.params.total if report.params else None,
            results={rule.id: rule.passed for rule in report.rules},
            reason=failure_reason(report),
        )
        for report in reports
    ]


def counts(reports: list[Report]) -> dict[str, int]:
    statuses = [report.status for report in reports]
    return {"passed": statuses.count("passed"), "failed": statuses.count("failed"), "errors": statuses.count("error")}


def counts_line(reports: list[Report]) -> str:
    tally = counts(reports)
    return (
        f"{plural(len(reports), 'model')}: {tally['passed']} passed, {tally['failed']} failed, "
        f"{plural(tally['errors'], 'error')}"
    )
