"""The pytest plugin: ``pytest --archcheck model.py`` and the in-test helpers."""

from __future__ import annotations

import textwrap

import pytest
import torch  # noqa: F401 - see below
from helpers import MNIST_RULES, PASSING_MODEL

# pytester's in-process runs restore sys.modules afterwards; torch must already be imported
# here, or a later test would import it a second time over its loaded C extension and crash.
pytest_plugins = ["pytester"]

WITH_LINEAR = PASSING_MODEL.replace("self.head = nn.Conv2d(width, 10, 1)", "self.head = nn.Linear(width, 10)").replace(
    "self.head(F.adaptive_avg_pool2d(x, 1)).flatten(1)", "self.head(F.adaptive_avg_pool2d(x, 1).flatten(1))"
)
RULES = len(MNIST_RULES)


def test_one_item_per_rule_named_after_the_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(model=PASSING_MODEL)
    result = pytester.runpytest("--archcheck", "model.py", "-v")
    result.assert_outcomes(passed=RULES)
    for rule in MNIST_RULES:
        result.stdout.fnmatch_lines([f"model.py::archcheck::{rule} PASSED*"])


def test_a_failing_rule_fails_with_its_message_only(pytester: pytest.Pytester) -> None:
    model = pytester.makepyfile(model=WITH_LINEAR)
    line = 1 + next(i for i, text in enumerate(model.read_text().splitlines()) if "nn.Linear" in text)
    result = pytester.runpytest("--archcheck", "model.py")
    result.assert_outcomes(passed=RULES - 1, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"collected {RULES} items",
            "*no-linear: 1 fully connected layer*: head (Linear)*",
            f"*  model.py:{line}  head  head (Linear)*fully connected layer*",
            "FAILED model.py::archcheck::no-linear*",
        ]
    )
    assert "pytest_plugin.py" not in result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_runs_alongside_the_projects_own_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(model=PASSING_MODEL, test_own="def test_own():\n    assert True\n")
    result = pytester.runpytest("--archcheck", "model.py")
    result.assert_outcomes(passed=RULES + 1)


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
    result.assert_outcomes(passed=RULES - 2, failed=1)
    result.stdout.fnmatch_lines([f"collected {RULES - 1} items", "max-params: 178 parameters*must be fewer than 100*"])


@pytest.mark.parametrize("spelling", [["--archcheck-args", "--strict-fc"], ["--archcheck-args=--strict-fc"]])
def test_extra_args_may_start_with_a_dash_in_both_spellings(pytester: pytest.Pytester, spelling: list[str]) -> None:
    pytester.makepyfile(model=PASSING_MODEL)
    result = pytester.runpytest("--archcheck", "model.py", *spelling, "-v")
    result.assert_outcomes(passed=RULES - 1, failed=1)
    result.stdout.fnmatch_lines(["*model.py::archcheck::no-linear FAILED*"])


def test_a_bad_extra_arg_is_a_usage_error_naming_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(model=PASSING_MODEL)
    result = pytester.runpytest("--archcheck", "model.py", "--archcheck-args=--max-params 0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--archcheck-args: --max-params 0: expected a whole number above 0*"])


def test_items_follow_the_preset(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(model=PASSING_MODEL)
    pytester.makepyprojecttoml("[tool.archcheck.presets.two]\nrules = ['max-params', 'gap']\nmax-params = 1000\n")
    result = pytester.runpytest("--archcheck", "model.py", "--archcheck-args", "--preset two", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*model.py::archcheck::max-params PASSED*", "*model.py::archcheck::gap PASSED*"])


def test_a_model_that_cannot_be_checked_fails_every_item_with_the_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        model=PASSING_MODEL.replace("super().__init__()", "super().__init__()\n        raise ValueError('boom')")
    )
    result = pytester.runpytest("--archcheck", "model.py")
    result.assert_outcomes(failed=RULES)
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
    result.stdout.fnmatch_lines(
        [
            "*ArchitectureError: Net fails 2 architecture rule(s):",
            "*  max-params: 178 parameters (178 trainable, 0 frozen): must be fewer than 100*",
            "*  no-linear: 1 fully connected layer*",
            "*    model.py:*  head  head (Linear)*fully connected layer*",
        ]
    )
    assert "api.py" not in result.stdout.str()
