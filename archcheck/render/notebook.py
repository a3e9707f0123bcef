"""A report as HTML, for notebooks (``Report._repr_html_``): the verdict and the tables, not a dataclass dump."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from archcheck.render.lines import (
    display_path,
    finding_text,
    layer_columns,
    mark,
    one_line,
    settings_line,
    shape_text,
    thousands,
    verdict_line,
)

if TYPE_CHECKING:
    from archcheck.report import Report

COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "error": "#9a6700"}


def _table(header: list[str], rows: list[list[str]], right: frozenset[int] = frozenset()) -> str:
    """Cells must already be escaped."""

    def cell(tag: str, index: int, text: str) -> str:
        align = ' style="text-align:right"' if index in right else ' style="text-align:left"'
        return f"<{tag}{align}>{text}</{tag}>"

    head = "".join(cell("th", i, text) for i, text in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, text) for i, text in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def report_html(report: Report) -> str:
    verdict = f'<p style="color:{COLOURS[report.status]}"><strong>{escape(verdict_line(report))}</strong></p>'
    about = [f"<strong>{escape(report.model or 'model')}</strong> in {escape(display_path(report.label))}"]
    applied = settings_line(report)
    if applied:
        about.append(escape(applied))
    if report.device is not None and report.input_shape is not None:
        about.append(f"traced on {escape(report.device)} with input shape {escape(shape_text(report.input_shape))}")
    if report.params is not None:
        about.append(
            f"{report.params.total:,} parameters ({report.params.trainable:,} trainable, {report.params.frozen:,} frozen)"
        )
    if report.macs is not None:
        about.append(f"{report.macs:,} MACs per image")
    about += [f"Note: {escape(note)}" for note in report.notes]
    parts = [verdict, "<p>" + "<br/>".join(about) + "</p>"]
    if report.rules:
        rows = []
        for rule in report.rules:
            message = escape(one_line(rule.message))
            if not rule.passed and rule.findings:
                items = "".join(f"<li>{escape(finding_text(finding))}</li>" for finding in rule.findings)
                message += f"<ul>{items}</ul>"
            rows.append([mark(rule.passed), escape(rule.id), escape(rule.name), escape(rule.measured or ""), message])
        parts.append(_table(["", "Rule", "Name", "Measured", "Message"], rows))
    if report.layers:
        measures = layer_columns(report)
        rows = [
            [
                "&nbsp;" * 2 * layer.depth + escape(layer.path or "(model)"),
                escape(layer.type),
                escape(shape_text(layer.output_shape)) if layer.called else "<em>never called</em>",
                thousands(layer.params),
                *(thousands(value(layer)) for _, value in measures),
            ]
            for layer in report.layers
        ]
        header = ["Layer", "Type", "Output shape", "Param #", *(title for title, _ in measures)]
        table = _table(header, rows, right=frozenset(range(3, len(header))))
        parts.append(f"<details><summary>Layers ({len(report.layers)})</summary>{table}</details>")
    return '<div class="archcheck-report">' + "".join(parts) + "</div>"
