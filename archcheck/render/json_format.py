"""``--format json``: the documented schema, for scripts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TextIO

from archcheck.render.summary import counts
from archcheck.report import SCHEMA_VERSION

if TYPE_CHECKING:
    from archcheck.report import Report


def render(reports: list[Report], out: TextIO, err: TextIO, *, verbose: bool) -> None:
    out.write(json.dumps(document(reports), indent=2, ensure_ascii=False) + "\n")


def document(reports: list[Report]) -> dict[str, Any]:
    """One report is its own object; several are wrapped with a summary."""
    if len(reports) == 1:
        return reports[0].to_dict()
    return {
        "schema_version": SCHEMA_VERSION,
        "reports": [report.to_dict() for report in reports],
        "summary": counts(reports),
    }
