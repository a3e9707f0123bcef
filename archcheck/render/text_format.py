"""The default, human format: rich tables like torchinfo's, then the verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from archcheck.render.common import (
    VERDICTS,
    counts_line,
    display_path,
    evidence,
    finding_text,
    mark,
    one_line,
    rule_ids,
    shape_text,
    summary_rows,
    thousands,
    verdict_line,
)

if TYPE_CHECKING:
    from archcheck.report import Report

# Wide enough that tables piped to a file or a CI log are not squeezed.
PIPE_WIDTH = 120
STATUS_STYLES = {"passed": "green", "failed": "bold red", "error": "yellow"}


def render(reports: list[Report], out: TextIO, err: TextIO, *, verbose: bool) -> None:
    if len(reports) == 1 and reports[0].error is not None:
        write_error(reports[0], err, verbose=verbose)
        return
    console = make_console(out)
    if len(reports) == 1:
        render_report(reports[0], console, verbose=verbose)
        return
    render_summary(reports, console)
    if verbose:
        for report in reports:
            if report.error is not None:
                write_error(report, err, verbose=True)


def make_console(out: TextIO) -> Console:
    """Colour and the terminal's width on a terminal; plain text, fixed width elsewhere.

    Rich itself honours NO_COLOR (and FORCE_COLOR)."""
    terminal = out.isatty()
    return Console(file=out, width=None if terminal else PIPE_WIDTH, highlight=False, emoji=False, markup=False)


def write_error(report: Report, err: TextIO, *, verbose: bool) -> None:
    """One line saying why the model could not be checked; the evidence only on request."""
    assert report.error is not None
    err.write(f"archcheck: cannot check {display_path(report.file)}: {one_line(report.error.reason)}\n")
    if verbose:
        for title, text in evidence(report):
            err.write(f"--- {title} ---\n{text}\n")


def render_report(report: Report, console: Console, *, verbose: bool) -> None:
    console.print(header(report))
    console.print()
    if verbose:
        for title, text in evidence(report):
            console.rule(title, style="dim")
            console.print(Text(text))
            console.rule(style="dim")
            console.print()
    if report.layers:
        console.print(layer_table(report))
        console.print()
    if report.params is not None:
        console.print(
            Text(
                f"Total params: {report.params.total:,}\n"
                f"Trainable params: {report.params.trainable:,}\n"
                f"Frozen params: {report.params.frozen:,}"
            )
        )
        console.print()
    console.print(rule_table(report))
    console.print()
    console.print(Text(verdict_line(report), style=STATUS_STYLES[report.status]))


def header(report: Report) -> Text:
    text = Text()
    text.append(report.model or "model", style="bold")
    text.append(f"  ({display_path(report.path)})\n")
    text.append(f"Traced on {report.device}")
    if report.device_note:
        text.append(f" ({report.device_note})")
    if report.input_shape is not None:
        text.append(f" with input shape {shape_text(report.input_shape)}")
    for note in report.notes:
        text.append(f"\nNote: {note}", style="yellow")
    return text


def layer_table(report: Report) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("Layer", overflow="fold")
    table.add_column("Type")
    table.add_column("Output shape")
    table.add_column("Param #", justify="right")
    for layer in report.layers:
        name = "  " * layer.depth + (layer.path or "(model)")
        shape = shape_text(layer.output_shape) if layer.called else "never called"
        table.add_row(
            Text(name),
            Text(layer.type),
            Text(shape),
            Text(thousands(layer.params)),
            style=None if layer.called else "dim",
        )
    return table


def rule_table(report: Report) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("")
    table.add_column("Rule", no_wrap=True)
    table.add_column("Name")
    table.add_column("Measured")
    table.add_column("Message", overflow="fold")
    for rule in report.rules:
        table.add_row(
            Text(mark(rule.passed), style="green" if rule.passed else "bold red"),
            Text(rule.id),
            Text(rule.name),
            Text(rule.measured or ""),
            Text(rule.message),
        )
        if not rule.passed:
            for finding in rule.findings:
                table.add_row("", "", "", "", Text(finding_text(finding)))
    return table


def render_summary(reports: list[Report], console: Console) -> None:
    """The class-wide view: one row per submission, one column per rule."""
    ids = rule_ids(reports)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("Submission", overflow="fold")
    table.add_column("Verdict")
    table.add_column("Params", justify="right")
    for rule_id in ids:
        table.add_column(rule_id, justify="center")
    table.add_column("Reason", overflow="fold")
    for row in summary_rows(reports):
        table.add_row(
            Text(row.submission),
            Text(VERDICTS[row.status], style=STATUS_STYLES[row.status]),
            Text(thousands(row.params)),
            *(Text(mark(row.results.get(i))) for i in ids),
            Text(row.reason),
        )
    console.print(table)
    console.print(Text(counts_line(reports)))
