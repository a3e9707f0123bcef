"""``--format github``: for a GitHub Actions step.

Writes workflow commands (annotations on the offending lines), readable
verdict lines for the job log, the Markdown job summary
(``$GITHUB_STEP_SUMMARY``) and the step outputs ``passed``, ``params`` and
``status`` (``$GITHUB_OUTPUT``).
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, TextIO

from archcheck.render.lines import (
    display_path,
    evidence,
    mark,
    rule_text,
    settings_line,
    verdict_line,
)
from archcheck.render.markdown_format import to_markdown
from archcheck.report import worst_status

if TYPE_CHECKING:
    from archcheck.report import Report


def render(reports: list[Report], out: TextIO, err: TextIO, *, verbose: bool) -> None:
    # The summary and the step outputs first: they must not be lost if the log's reader goes away.
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        append(os.environ["GITHUB_STEP_SUMMARY"], to_markdown(reports, verbose=verbose))
    if os.environ.get("GITHUB_OUTPUT"):
        append(os.environ["GITHUB_OUTPUT"], "".join(f"{key}={value}\n" for key, value in outputs(reports).items()))
    base = os.environ.get("GITHUB_WORKSPACE") or None
    for report in reports:
        lines = report_annotations(report, base) + log_lines(report, base)
        if verbose:
            lines += folded_evidence(report, base)
        out.write("".join(line + "\n" for line in lines))


def escape(value: str, *, prop: bool = False) -> str:
    """Escape a workflow command's message, or (``prop``) one of its property values,
    as the runner decodes them."""
    value = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return value.replace(":", "%3A").replace(",", "%2C") if prop else value


def command(name: str, message: str, **props: str | int | None) -> str:
    """``::name key=value,...::message``, leaving out properties that are None."""
    given = ",".join(f"{key}={escape(str(value), prop=True)}" for key, value in props.items() if value is not None)
    return f"::{name}{' ' + given if given else ''}::{escape(message)}"


def report_annotations(report: Report, base: str | None) -> list[str]:
    """One annotation per finding, on the line it blames; else one on the model file."""
    model_file = display_path(report.path, base)
    if report.error is not None:
        return [command("error", report.error.reason, file=model_file, title="archcheck could not check the model")]
    if report.passed:
        return [command("notice", verdict_line(report), file=model_file, title="archcheck passed")]
    lines = []
    for rule in report.failing:
        title = f"archcheck {rule.id}"
        if not rule.findings:
            lines.append(command("error", rule.message, file=model_file, title=title))
        for finding in rule.findings:
            where = display_path(finding.file, base) if finding.file else model_file
            if finding.cell is not None:  # GitHub cannot point into a notebook's cell: the message says where
                message = f"cell {finding.cell}, line {finding.line}: {finding.message}"
                lines.append(command("error", message, file=where, title=title))
            else:
                lines.append(command("error", finding.message, file=where, line=finding.line, title=title))
    return lines


def log_lines(report: Report, base: str | None) -> list[str]:
    """Plain lines for the job log, where workflow commands do not show as text."""
    name = f" ({report.model})" if report.model else ""
    lines = [f"archcheck {display_path(report.path, base)}{name}: {verdict_line(report)}"]
    applied = settings_line(report)
    if applied:
        lines.append(f"  {applied}")
    for rule in report.rules:
        first, *findings = rule_text(rule, base)
        lines.append(f"  {mark(rule.passed)} {first}")
        if not rule.passed:
            lines += [f"    {finding}" for finding in findings]
    return lines


def folded_evidence(report: Report, base: str | None) -> list[str]:
    """The traceback and the model's output, folded, with workflow commands in them disabled:
    they come from the submission, which must not be able to write annotations or masks."""
    lines = []
    for title, text in evidence(report):
        token = secrets.token_hex(16)
        lines += [
            command("group", f"archcheck {title}: {display_path(report.path, base)}"),
            command("stop-commands", token),
            text,
            f"::{token}::",
            command("endgroup", ""),
        ]
    return lines


def outputs(reports: list[Report]) -> dict[str, str]:
    """``passed``: every model passed; ``status``: the worst status; ``params``: the
    parameter count, with several models the largest (empty when none was counted)."""
    counted = [report.params.total for report in reports if report.params is not None]
    return {
        "passed": "true" if all(report.passed for report in reports) else "false",
        "params": str(max(counted)) if counted else "",
        "status": worst_status(reports),
    }


def append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8") as file:
        file.write(text)
