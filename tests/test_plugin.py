"""The pytest plugin: ``pytest --archcheck model.py`` and the in-test helpers."""

from __future__ import annotations

import textwrap

import pytest
import torch  # noqa: F401 - see below
from helpers import PASSING_MODEL

# pytester's in-process runs restore sys.modules afterwards; torch must already be imported
# here, or a later test would import it a second time over its loaded C extension and crash.
pytest_plugins = ["pytester"]

WITH_LINEAR = PASSING_MODEL.replace("self.head = nn.Conv2d(width, 10, 1)", "self.head = nn.Linear(width, 10)").replace(
    "self.head(F.adaptive_avg_pool2d(x, 1)).flatten(1)", "self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))"
)
RULES = ["max-params", "batchnorm", "dropout", "gap", "no-linear"]


def test_one_item_per_rule_named_after_the_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(model=PASSING_MODEL)
    result = pytester.runpytest("--archcheck", "model.py", "-v")
    result.assert_outcomes(passed=5)
    for rule in RULES:
        result.stdout.fnmatch_lines([f"model.py::archcheck::{rule} PASSED*"])


def test_a_failing_rule_fails_with_its_message_only(pytester: pytest.Pytester) -> None:
    model = pytester.makepyfile(model=WITH_LINEAR)
    line = 1 + next(i for i, text in enumerate(model.read_text().splitlines()) if "nn.Linear" in text)
    result = pytester.runpytest("--archcheck", "model.py")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines([
        "collected 5 items",
        "*no-linear (No fully connected layer executes): 1 fully connected layer executed: head (Linear)*",
        f"*model.py:{line}: head (Linear) is a fully connected layer*",
        "FAILED model.py::archcheck::no-linear*",
    ])
    assert "pytest_plugin.py" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_runs_alongside_the_projects_own_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(model=PASSING_MODEL, test_own="def test_own():\n    assert True\n")
    result = pytester.runpytest("--archcheck", "model.py")
    result.assert_outcomes(passed=6)


def test_does_nothing_without_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(model=WITH_LINEAR, test_own="def test_own():\n    assert True\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "::archcheck::" not in result.stdout.str()
    assert "archcheck: " not in result.stdout.str()


def test_honours_tool_archcheck_config_and_extra_args(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(model=WITH_LINEAR)
    pytester.makepyprojecttoml('[tool.archcheck]\nignore = ["no-linear"]\n')
    result = pytester.runpytest("--archcheck", "model.py", "--archcheck-args", "--max-params 100")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["collected 4 items", "max-params (Parameter budget): 178 parameters*must be fewer than 100*"])


def test_a_model_that_cannot_be_checked_fails_every_item_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(model=PASSING_MODEL.replace("super().__init__()", "super().__init__()\n        raise ValueError('boom')"))
    result = pytester.runpytest("--archcheck", "model.py")
    result.assert_outcomes(failed=5)
    result.stdout.fnmatch_lines(["*could not check model.py: Net() raised ValueError: boom*"])


def test_a_missing_file_is_one_failing_item(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--archcheck", "nope.py")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*could not check nope.py: nope.py: no such file*"])


def test_assert_passes_lists_the_failing_rules(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        model=WITH_LINEAR,
        test_arch=textwrap.dedent(
            """
            import archcheck
            from model import Net

            def test_architecture():
                archcheck.assert_passes(Net(), max_params=100)

            def test_report():
                report = archcheck.check(Net(), ignore=["no-linear"])
                assert report.passed
                assert report.params.total == 72 + 16 + 90
            """
        ),
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*ArchitectureError: Net fails 2 architecture rule(s):",
        "*max-params: 178 parameters (178 trainable, 0 frozen): must be fewer than 100*",
        "*no-linear: 1 fully connected layer executed*",
    ])
    assert "api.py" not in result.stdout.str()
