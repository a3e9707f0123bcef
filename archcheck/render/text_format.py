"""The default, human format: rich tables like torchinfo's, then the verdict.

The tables are laid out for the width they are printed at (a terminal's, or
``COLUMNS``, or 120 columns when piped), so that nothing breaks mid-word at 80
columns: text wraps between words, paths are shortened from the left (their
end names the file), and the columns that carry the content get the room.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from rich import box
from rich.console import Console, ConsoleOptions, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from archcheck.render.lines import (
    ELLIPSIS,
    VERDICTS,
    display_path,
    evidence,
    finding_text,
    layer_columns,
    mark,
    one_line,
    settings_line,
    shape_text,
    shorten_left,
    thousands,
    verdict_line,
)
from archcheck.render.summary import counts_line, rule_ids, summary_rows

if TYPE_CHECKING:
    from archcheck.report import Report

# Wide enough that tables piped to a file or a CI log are not squeezed.
PIPE_WIDTH = 120
STATUS_STYLES = {"passed": "green", "failed": "bold red", "error": "yellow"}
MESSAGE_MIN = 36  # the rule table drops its Name column before the message gets narrower
TEXT_MIN = 24  # the class-wide table folds its rule columns into one before the reason gets narrower
SUBMISSION_MIN = 16


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


class ReportConsole(Console):
    def on_broken_pipe(self) -> None:
        """Let the caller see the closed pipe: rich would exit with status 1, which is not the verdict's."""
        self.quiet = True
        raise BrokenPipeError


def make_console(out: TextIO) -> Console:
    """Colour and the terminal's width on a terminal; plain text elsewhere, ``COLUMNS`` wide (else 120).

    Rich itself honours NO_COLOR (and FORCE_COLOR), and COLUMNS when no width is given."""
    fixed = not out.isatty() and not os.environ.get("COLUMNS", "").isdigit()
    return ReportConsole(file=out, width=PIPE_WIDTH if fixed else None, highlight=False, emoji=False, markup=False)


def write_error(report: Report, err: TextIO, *, verbose: bool) -> None:
    """One line saying why the model could not be checked; the evidence only on request."""
    assert report.error is not None
    err.write(f"archcheck: cannot check {display_path(report.label)}: {one_line(report.error.reason)}\n")
    if verbose:
        for title, text in evidence(report):
            err.write(f"--- {title} ---\n{text}\n")


def render_report(report: Report, console: Console, *, verbose: bool) -> None:
    if verbose:
        console.print(header(report, console.width))
        console.print()
        for title, text in evidence(report):
            console.rule(title, style="dim")
            console.print(Text(text))
            console.rule(style="dim")
            console.print()
        console.print(ReportView(report, with_header=False))
    else:
        console.print(ReportView(report))


def report_renderable(report: Report) -> ReportView:
    """What ``rich.print(report)`` shows (``Report.__rich__``)."""
    return ReportView(report)


class ReportView:
    """One report as rich renderables, laid out for the width it is printed at."""

    def __init__(self, report: Report, *, with_header: bool = True) -> None:
        self.report = report
        self.with_header = with_header

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        report, width = self.report, options.max_width
        if self.with_header:
            yield header(report, width)
            yield Text()
        if report.error is not None:
            yield Text(verdict_line(report), style=STATUS_STYLES["error"])
            return
        if report.layers:
            yield layer_table(report, width)
            yield Text()
        totals = totals_text(report)
        if totals is not None:
            yield totals
            yield Text()
        yield rule_table(report, width)
        yield Text()
        yield Text(verdict_line(report), style=STATUS_STYLES[report.status])


def header(report: Report, width: int) -> Text:
    text = Text()
    title = report.model or "model"
    text.append(title, style="bold")
    text.append(f"  ({shorten_left(display_path(report.label), max(SUBMISSION_MIN, width - len(title) - 4))})")
    applied = settings_line(report)
    if applied:
        text.append(f"\n{applied}")
    if report.device is not None:
        text.append(f"\nTraced on {report.device}")
        if report.input_shape is not None:
            text.append(f" with input shape {shape_text(report.input_shape)}")
        if report.device_note:
            text.append(f" ({report.device_note})")
    for note in report.notes:
        text.append(f"\nNote: {note}", style="yellow")
    return text


def totals_text(report: Report) -> Text | None:
    lines = []
    if report.params is not None:
        lines += [
            f"Total params: {report.params.total:,}",
            f"Trainable params: {report.params.trainable:,}",
            f"Frozen params: {report.params.frozen:,}",
        ]
    if report.macs is not None:
        lines.append(f"MACs per image: {report.macs:,}")
    return Text("\n".join(lines)) if lines else None


def _overhead(columns: int) -> int:
    """What a SIMPLE_HEAD table without edges adds to its cells: one space each side, one between."""
    return 3 * columns - 1


def _widest(title: str, cells: Iterable[str]) -> int:
    return max([len(title), *(len(cell) for cell in cells)])


def shorten_right(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + ELLIPSIS


def layer_table(report: Report, width: int) -> Table:
    """Layer, type, output shape, parameters (and RF, jump, MACs when measured).

    When the table is too wide, it tightens step by step: one space of indent per
    level instead of two, shapes without spaces, then types cut at the right and
    layer names at the left (their end names the layer)."""
    measures = layer_columns(report)
    titles = ["Layer", "Type", "Output shape", "Param #", *(title for title, _ in measures)]
    names = [layer.path or "(model)" for layer in report.layers]
    types = [layer.type for layer in report.layers]
    numbers = [
        [thousands(layer.params) for layer in report.layers],
        *([thousands(value(layer)) for layer in report.layers] for _, value in measures),
    ]
    for indent_width, shape_separator in [(2, ", "), (1, ", "), (1, ",")]:
        indents = [" " * indent_width * layer.depth for layer in report.layers]
        shapes = [
            shape_text(layer.output_shape, shape_separator) if layer.called else "never called"
            for layer in report.layers
        ]
        fixed = [shapes, *numbers]
        room = width - _overhead(len(titles)) - sum(_widest(t, c) for t, c in zip(titles[2:], fixed))
        name_need = _widest("Layer", (indent + name for indent, name in zip(indents, names)))
        if name_need + _widest("Type", types) <= room:
            break
    type_width = min(_widest("Type", types), max(8, room - name_need))
    name_width = max(room - type_width, 12)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("Layer", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("Output shape", no_wrap=True)
    for title in titles[3:]:
        table.add_column(title, justify="right", no_wrap=True)
    for row, layer in enumerate(report.layers):
        indent = indents[row][: max(0, name_width - 8)]
        table.add_row(
            Text(indent + shorten_left(names[row], name_width - len(indent))),
            Text(shorten_right(types[row], type_width)),
            *(Text(column[row]) for column in fixed),
            style=None if layer.called else "dim",
        )
    return table


def rule_table(report: Report, width: int) -> Table:
    """Mark, rule id, name, measured figure, message; a failing rule's findings below it.

    The message gets the room: the name column goes first when the width is short."""
    ids = [rule.id for rule in report.rules]
    names = [rule.name for rule in report.rules]
    measured = [rule.measured or "" for rule in report.rules]
    used = 1 + _widest("Rule", ids) + _widest("Measured", measured)
    with_names = width - used - _widest("Name", names) - _overhead(5) >= MESSAGE_MIN
    message_width = width - used - _overhead(4) - (_widest("Name", names) + 3 if with_names else 0)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("")
    table.add_column("Rule", no_wrap=True)
    if with_names:
        table.add_column("Name")
    table.add_column("Measured")
    table.add_column("Message", overflow="ellipsis", min_width=min(message_width, MESSAGE_MIN))
    blank = [""] * (4 if with_names else 3)
    for rule in report.rules:
        table.add_row(
            Text(mark(rule.passed), style="green" if rule.passed else "bold red"),
            Text(rule.id),
            *([Text(rule.name)] if with_names else []),
            Text(rule.measured or ""),
            Text(one_line(rule.message)),
        )
        if not rule.passed:
            for finding in rule.findings:
                table.add_row(*blank, Text(finding_text(finding, path_width=max(SUBMISSION_MIN, message_width // 2))))
    return table


def render_summary(reports: list[Report], console: Console) -> None:
    """The class-wide view: one row per submission, a column per rule and the reason beside it.

    When that does not fit, the rules fold into one column of marks and each reason
    goes under its submission, so that both keep most of the width."""
    ids = rule_ids(reports)
    rows = summary_rows(reports)
    verdicts = [VERDICTS[row.status] for row in rows]
    params = [thousands(row.params) for row in rows]
    fixed = _widest("Verdict", verdicts) + _widest("Params", params)
    width = console.width
    room = width - fixed - sum(len(i) for i in ids) - _overhead(4 + len(ids))
    spread = room >= 2 * TEXT_MIN
    if not spread:
        room = width - fixed - _widest("Rules", [" " * len(ids)]) - _overhead(4)
    submission_width = min(
        _widest("Submission", (row.submission for row in rows)), max(SUBMISSION_MIN, room * 2 // 5 if spread else room)
    )
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("Submission", width=submission_width, overflow="ellipsis")
    table.add_column("Verdict", no_wrap=True)
    table.add_column("Params", justify="right", no_wrap=True)
    for title in ids if spread else ["Rules"]:
        table.add_column(title, justify="center" if spread else "left", no_wrap=True)
    if spread:
        table.add_column("Reason", overflow="ellipsis", min_width=min(TEXT_MIN, max(1, room - submission_width)))
    for row, verdict, count in zip(rows, verdicts, params):
        marks = [mark(row.results.get(i)) for i in ids]
        cells = [
            Text(shorten_left(row.submission, submission_width)),
            Text(verdict, style=STATUS_STYLES[row.status]),
            Text(count),
            *((Text(m) for m in marks) if spread else [Text("".join(marks))]),
        ]
        if spread:
            table.add_row(*cells, Text(row.reason))
        else:
            table.add_row(*cells)
            if row.reason:
                reason = Padding(Text(row.reason, overflow="ellipsis"), (0, 0, 0, 2))
                table.add_row(reason, *[""] * (len(cells) - 1))
    console.print(table)
    if not spread:
        console.print(Text(f"Rules, in order: {' '.join(ids)}"))
    console.print(Text(counts_line(reports)))
