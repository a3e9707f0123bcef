"""``--format markdown``: for job summaries, pull-request comments and READMEs.

The GitHub format appends this to ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TextIO

from archcheck.render.lines import (
    VERDICTS,
    display_path,
    evidence,
    finding_text,
    layer_columns,
    mark,
    one_line,
    settings_line,
    shape_text,
    thousands,
    verdict_line,
)
from archcheck.render.summary import counts_line, rule_ids, summary_rows
from archcheck.report import worst_status

if TYPE_CHECKING:
    from archcheck.report import Report

EMOJI = {"passed": "✅", "failed": "❌", "error": "⚠️"}
# Characters that would start emphasis, links, HTML, entities or table cells.
SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")


def render(reports: list[Report], out: TextIO, err: TextIO, *, verbose: bool) -> None:
    out.write(to_markdown(reports, verbose=verbose))


def to_markdown(reports: list[Report], *, verbose: bool = False) -> str:
    if len(reports) == 1:
        return report_markdown(reports[0], verbose=verbose)
    return summary_markdown(reports)


def md(text: str) -> str:
    """Text from the model or the file system, shown literally on one line."""
    return SPECIAL.sub(r"\\\1", one_line(text))


def table(header: list[str], rows: list[list[str]], right: frozenset[int] = frozenset()) -> list[str]:
    """A GitHub table; cells must already be escaped. ``right``: right-aligned columns."""
    rule = ["--:" if i in right else "---" for i in range(len(header))]
    return ["| " + " | ".join(cells) + " |" for cells in (header, rule, *rows)]


def fenced(text: str) -> list[str]:
    """A code block that the text itself cannot close."""
    fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`+", text))])
    return [fence, text, fence]


def details(summary: str, body: list[str]) -> list[str]:
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>"]


def report_markdown(report: Report, *, verbose: bool) -> str:
    error = report.error
    if error is None:
        lines = [f"### {EMOJI[report.status]} archcheck {md(verdict_line(report))}", "", described(report), ""]
    else:
        lines = [
            f"### {EMOJI['error']} archcheck could not check {md(display_path(report.label))}",
            "",
            md(error.reason),
            "",
        ]
    if verbose:
        for title, text in evidence(report):
            lines += [*details(title.capitalize(), fenced(text)), ""]
    if error is None:
        lines += rules_markdown(report) + layers_markdown(report)
    return "\n".join(lines) + "\n"


def described(report: Report) -> str:
    """What was checked, and how, in one line."""
    text = f"**{md(report.model or 'model')}** in {md(display_path(report.path))}"
    if report.device:
        text += f", traced on {md(report.device)}"
    if report.device_note:
        text += f" ({md(report.device_note)})"
    if report.input_shape is not None:
        text += f" with input shape {md(shape_text(report.input_shape))}"
    applied = settings_line(report)
    if applied:
        text += f"  \n{md(applied)}"
    for note in report.notes:
        text += f"  \n**Note:** {md(note)}"
    if report.params is not None:
        text += (
            f"  \n**Parameters:** {report.params.total:,} total, {report.params.trainable:,} trainable, "
            f"{report.params.frozen:,} frozen"
        )
    if report.macs is not None:
        text += f"  \n**MACs per image:** {report.macs:,}"
    return text


def rules_markdown(report: Report) -> list[str]:
    rows = [
        [
            f"{md(rule.name)} ({md(rule.id)})",
            f"{EMOJI['passed']} pass" if rule.passed else f"{EMOJI['failed']} fail",
            md(rule.measured or ""),
            md(rule.message),
        ]
        for rule in report.rules
    ]
    lines = [*table(["Rule", "Result", "Measured", "Message"], rows), ""]
    for rule in report.failing:
        if rule.findings:
            lines += [f"**{md(rule.id)}** findings:", ""]
            lines += [f"- {md(finding_text(finding, sep=' — '))}" for finding in rule.findings]
            lines.append("")
    return lines


def layers_markdown(report: Report) -> list[str]:
    if not report.layers:
        return []
    columns = layer_columns(report)
    header = ["Layer", "Type", "Output shape", "Param #", *(title for title, _ in columns)]
    rows = [
        [
            "&nbsp;" * 2 * layer.depth + md(layer.path or "(model)"),
            md(layer.type),
            md(shape_text(layer.output_shape)) if layer.called else "*never called*",
            thousands(layer.params),
            *(thousands(value(layer)) for _, value in columns),
        ]
        for layer in report.layers
    ]
    return [
        *details(f"Layers ({len(report.layers)})", table(header, rows, right=frozenset(range(3, len(header))))),
        "",
    ]


def summary_markdown(reports: list[Report]) -> str:
    """The class-wide view, the same table as the text format's."""
    ids = rule_ids(reports)
    rows = [
        [
            md(row.submission),
            f"{EMOJI[row.status]} {VERDICTS[row.status]}",
            thousands(row.params),
            *(mark(row.results.get(i)) for i in ids),
            md(row.reason),
        ]
        for row in summary_rows(reports)
    ]
    lines = [
        f"### {EMOJI[worst_status(reports)]} archcheck: {md(counts_line(reports))}",
        "",
        *table(["Submission", "Verdict", "Params", *map(md, ids), "Reason"], rows, right=frozenset({2})),
    ]
    return "\n".join(lines) + "\n"
