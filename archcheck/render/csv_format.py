"""``--format csv``: one row per model, for gradebooks and spreadsheets."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, TextIO

from archcheck.render.summary import rule_ids, summary_rows

if TYPE_CHECKING:
    from archcheck.report import Report

CELLS = {True: "pass", False: "fail", None: ""}


def render(reports: list[Report], out: TextIO, err: TextIO, *, verbose: bool) -> None:
    ids = rule_ids(reports)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["file", "model", "status", "params", *ids, "reason"])
    for row in summary_rows(reports):
        writer.writerow(
            [
                row.file,
                row.model,
                row.status,
                "" if row.params is None else row.params,
                *(CELLS[row.results.get(rule_id)] for rule_id in ids),
                row.reason,
            ]
        )
