"""pytest plugin (installed with archcheck, registered through the ``pytest11`` entry point).

``pytest --archcheck path/to/model.py`` adds one test item per enabled rule,
``model.py::archcheck::max-params`` and so on, next to the project's own
tests; each passes or fails with the rule's message.  Settings come from
``[tool.archcheck]`` as for the command line, plus ``--archcheck-args``.
Without ``--archcheck`` the plugin does nothing.  In a test, use
``archcheck.check(model)`` and ``archcheck.assert_passes(model)``.

Importing this module must stay cheap (pytest loads it in every run): no torch.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest

from archcheck.report import Report, RuleResult


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("archcheck", "architecture rules of PyTorch models")
    group.addoption(
        "--archcheck", action="append", default=[], metavar="FILE[::NAME]",
        help="check the architecture of a model file: one test item per rule (repeatable)",
    )
    group.addoption(
        "--archcheck-args", default="", metavar="ARGS",
        help="extra archcheck options for those items, e.g. '--max-params 8000 --strict-fc'",
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    targets = config.getoption("archcheck")
    return f"archcheck: {', '.join(targets)}" if targets else None


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    targets = config.getoption("archcheck")
    if not targets:
        return
    from archcheck.cli import jobs_from_arguments

    jobs, _ = jobs_from_arguments([*targets, *shlex.split(config.getoption("archcheck_args"))])
    for job in jobs:
        model = ArchcheckModel.from_parent(session, path=Path(job.target.path if job.target else job.label).resolve())
        model.job = job
        items.extend(session.genitems(model))  # reports the collection as pytest's own collectors do


class ArchcheckModel(pytest.File):
    """A model file; it is checked once, when its first rule item runs."""

    job: Any = None
    _report: Report | None = None

    def collect(self) -> list[pytest.Collector]:
        return [ArchcheckGroup.from_parent(self, name="archcheck")]

    def report(self) -> Report:
        if self._report is None:
            from archcheck.api import execute

            self._report = execute([self.job])[0]
        return self._report


class ArchcheckGroup(pytest.Collector):
    """``model.py::archcheck``: the rules enabled for this model, or one ``load`` item if it cannot be loaded."""

    def collect(self) -> list[pytest.Item]:
        job = self.parent.job
        rules = job.settings.rules if job.error is None else ("load",)
        return [RuleItem.from_parent(self, name=rule_id) for rule_id in rules]


class RuleFailed(Exception):
    """A rule failed, or the model could not be checked; the text is all the user needs."""


class RuleItem(pytest.Item):
    def runtest(self) -> None:
        model: ArchcheckModel = self.parent.parent  # type: ignore[assignment]
        report = model.report()
        if report.error is not None:
            raise RuleFailed(f"could not check {report.file}: {report.error.reason}")
        result = report.rule(self.name)
        if not result.passed:
            raise RuleFailed(_describe(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, RuleFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"archcheck {self.name}"


def _describe(result: RuleResult) -> str:
    lines = [f"{result.id} ({result.name}): {result.message}"]
    lines += [
        f"  {finding.file}:{finding.line}: {finding.message}" if finding.file else f"  {finding.message}"
        for finding in result.findings
    ]
    return "\n".join(lines)
