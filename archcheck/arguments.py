"""The command line's arguments, built from the settings table (no torch here).

``build_parser`` makes one flag per setting of ``archcheck.config.SETTINGS``
(a boolean gets ``--KEY`` and ``--no-KEY``), plus the options that are not
settings of a model (the targets, ``--config``, ``--format``...).  Flag values
are validated by the same table as every other source (``given_by_flags``).
Used by the command line, ``archcheck.check_file`` and the pytest plugin's
``--archcheck-args``; errors are raised, not printed, so each caller decides
how to show them.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Sequence
from typing import Any, NoReturn

from archcheck import __version__
from archcheck.config import FLAGS, SETTINGS, Given, parse_values, positive_int
from archcheck.errors import UsageError
from archcheck.render import FORMATS
from archcheck.targets import DEFAULT_ENTRY

GROUPS = {
    "rules": "rules (by default the preset's)",
    "model": "model",
    "limits": "limits",
}


class HelpFormatter(argparse.HelpFormatter):
    def _split_lines(self, text: str, width: int) -> list[str]:
        """Wrap between words only: rule ids such as no-maxpool must not break at their hyphen."""
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


class ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Raise instead of printing the usage: the caller shows one line (the CLI exits 2)."""
        raise UsageError(message)


def _count(text: str) -> int:
    try:
        return positive_int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="archcheck",
        formatter_class=HelpFormatter,
        description="Check a PyTorch model's architecture rules by tracing a real forward pass.",
        epilog="Exit codes: 0 all rules pass, 1 a rule fails, 2 a model could not be checked.",
    )
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="FILE[::NAME]",
        help="model files (a class, factory or instance is picked with ::NAME); directories and globs of submissions",
    )
    groups = {key: parser.add_argument_group(title) for key, title in GROUPS.items()}
    for setting in SETTINGS.values():
        options: dict[str, Any] = {"dest": setting.field, "default": None, "help": setting.help}
        if setting.is_switch:
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["metavar"] = setting.metavar
            if setting.repeatable:
                options["action"] = "append"
        groups[setting.group].add_argument(setting.flag, **options)
    groups["model"].add_argument(
        "--entry",
        default=DEFAULT_ENTRY,
        metavar="NAME",
        help=f"model file inside each submission directory (default {DEFAULT_ENTRY})",
    )
    groups["limits"].add_argument(
        "-j", "--jobs", type=_count, default=1, metavar="N", help="check N models in parallel"
    )
    config = parser.add_argument_group("configuration")
    config.add_argument(
        "--config",
        metavar="PYPROJECT",
        help="read [tool.archcheck] from this file instead of the nearest pyproject.toml",
    )
    config.add_argument("--no-config", action="store_true", help="ignore pyproject.toml files (for graders)")
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=FORMATS, default="text", help="report format (default text)")
    output.add_argument("--output", metavar="PATH", help="write the report to PATH instead of standard output")
    output.add_argument(
        "-v", "--verbose", action="store_true", help="show tracebacks and what the model's code printed"
    )
    parser.add_argument(
        "--list-rules", action="store_true", help="describe every rule and exit (--format markdown or json for those)"
    )
    parser.add_argument(
        "--list-presets",
        action="store_true",
        help="describe every preset and exit (--format markdown or json for those)",
    )
    parser.add_argument("--version", action="version", version=f"archcheck {__version__}")
    return parser


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    """Parse and validate; raises ``errors.UsageError`` or ``errors.BadSetting`` (one line each)."""
    namespace = build_parser().parse_args(list(argv))
    namespace.given = given_by_flags(namespace)
    return namespace


def given_by_flags(namespace: argparse.Namespace) -> Given:
    """The settings given as flags, validated: they override pyproject.toml."""
    values: dict[str, Any] = {}
    for setting in SETTINGS.values():
        given = getattr(namespace, setting.field)
        if given is None:
            continue
        if setting.repeatable:
            parts = [parse_values(FLAGS, {setting.key: text})[setting.field] for text in given]
            values[setting.field] = tuple(item for part in parts for item in part)
        else:
            values.update(parse_values(FLAGS, {setting.key: given}))
    return Given(FLAGS, values)
