"""pytest plugin (installed with archcheck, registered through the ``pytest11`` entry point).

``pytest --archcheck path/to/model.py`` adds one test item per rule the
preset enables, ``model.py::archcheck::max-params`` and so on, next to the
project's own tests; each passes or fails with the rule's message.  Settings
come from ``[tool.archcheck]`` as for the command line, plus
``--archcheck-args``.  Without ``--archcheck`` the plugin does nothing.  In a
test, use ``archcheck.check(model)`` and ``archcheck.assert_passes(model)``.

Importing this module must stay cheap (pytest loads it in every run): no torch.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from archcheck.report import Report

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr

ARGS_OPTION = "--archcheck-args"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("archcheck", "architecture rules of PyTorch models")
    group.addoption(
        "--archcheck",
        action="append",
        default=[],
        metavar="FILE[::NAME]",
        help="check the architecture of a model file: one test item per rule (repeatable)",
    )
    group.addoption(
        ARGS_OPTION,
        default="",
        metavar="ARGS",
        help="extra archcheck options for those items, e.g. '--max-params 8000 --strict-fc'",
    )
    _accept_dashed_value(parser)


def _accept_dashed_value(parser: pytest.Parser) -> None:
    """Let ``--archcheck-args --strict-fc`` mean ``--archcheck-args=--strict-fc``.

    argparse reads a lone value that starts with a dash as the next option, and
    pytest parses its command line before any hook of ours could rewrite it; so
    the parser's own methods join the option to its value first.  Both spellings
    are tested (tests/test_plugin.py).
    """

    def joined(args: Any) -> list[Any]:
        items = list(args)
        result = []
        while items:
            item = items.pop(0)
            if os.fspath(item) == ARGS_OPTION and items and os.fspath(items[0]).startswith("-"):
                item = f"{ARGS_OPTION}={os.fspath(items.pop(0))}"
            result.append(item)
        return result

    def wrapped(method: Callable[..., Any]) -> Callable[..., Any]:
        def parse(args: Any, *rest: Any, **options: Any) -> Any:
            return method(joined(args), *rest, **options)

        return parse

    for name in ("parse", "parse_known_args", "parse_known_and_unknown_args", "parse_setoption"):
        if hasattr(parser, name):
            setattr(parser, name, wrapped(getattr(parser, name)))


def pytest_report_header(config: pytest.Config) -> str | None:
    targets = config.getoption("archcheck")
    return f"archcheck: {', '.join(targets)}" if targets else None


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    targets = config.getoption("archcheck")
    if not targets:
        return
    from archcheck.api import Job, jobs_from_arguments

    try:
        jobs, _ = jobs_from_arguments([*targets, *shlex.split(config.getoption("archcheck_args"))])
    except ValueError as error:  # a bad option or setting: errors.UsageError, errors.BadSetting
        raise pytest.UsageError(f"{ARGS_OPTION}: {error}") from None
    for job in jobs:
        path = job.target.path if isinstance(job, Job) else Path(job.path)
        model = ArchcheckModel.from_parent(session, path=path.resolve())
        model.job = job
        items.extend(session.genitems(model))  # reports the collection as pytest's own collectors do


class ArchcheckModel(pytest.File):
    """A model file; it is checked once, when its first rule item runs."""

    job: Any = None  # api.Job or api.Refused, set right after from_parent
    _report: Report | None = None

    def collect(self) -> list[pytest.Collector]:
        return [ArchcheckGroup.from_parent(self, name="archcheck")]

    def report(self) -> Report:
        if self._report is None:
            from archcheck.api import execute

            self._report = execute([self.job])[0]
        return self._report


def _model_of(node: pytest.Item | pytest.Collector) -> ArchcheckModel:
    """The model file a group or a rule item belongs to."""
    model = node.getparent(ArchcheckModel)
    assert model is not None, node
    return model


class ArchcheckGroup(pytest.Collector):
    """``model.py::archcheck``: the rules enabled for this model, or one ``load`` item if it cannot be loaded."""

    def collect(self) -> list[pytest.Item]:
        from archcheck.api import Job

        job = _model_of(self).job
        rules = job.settings.rules if isinstance(job, Job) else ("load",)
        return [RuleItem.from_parent(self, name=rule_id) for rule_id in rules]


class RuleFailed(Exception):
    """A rule failed, or the model could not be checked; the text is all the user needs."""


class RuleItem(pytest.Item):
    def runtest(self) -> None:
        from archcheck.render.lines import display_path, rule_text

        report = _model_of(self).report()
        if report.error is not None:
            raise RuleFailed(f"could not check {display_path(report.label)}: {report.error.reason}")
        result = report.rule(self.name)
        if not result.passed:
            raise RuleFailed("\n".join(rule_text(result)))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, RuleFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"archcheck {self.name}"
