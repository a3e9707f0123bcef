"""``archcheck``: check model files from the command line.

Exit codes: 0 every enabled rule passes, 1 a rule fails, 2 a model could not
be checked (the reason in one line).  This process never imports torch: the
models are imported and traced in child processes.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from archcheck import __version__
from archcheck.api import USE_NEAREST, Job, execute, plan
from archcheck.config import (
    DEFAULT_PRESET,
    PRESETS,
    check_device,
    check_preset,
    parse_rule_ids,
    parse_shape,
    parse_size,
)
from archcheck.render import FORMATS, formatter, render
from archcheck.report import EXIT_ERROR, worst_exit_code
from archcheck.rules import RULE_IDS
from archcheck.targets import DEFAULT_ENTRY


def _argument(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """Wrap a parser so argparse shows our message, not 'invalid parse_x value'."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = parse.__name__
    return convert


def _model_kwargs(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--model-kwargs is not valid JSON ({error.msg}): {text!r}") from None
    if not isinstance(value, dict):
        raise ValueError("--model-kwargs must be a JSON object, like '{\"num_classes\": 10}'")
    return value


def _positive(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
        if value <= 0:
            raise ValueError(f"{text!r} must be positive")
        return value

    return parse


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not the whole usage: bad input gets a clear one-line error and exit code 2."""
        self.exit(EXIT_ERROR, f"archcheck: error: {message} (see archcheck --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="archcheck",
        description="Check a PyTorch model's architecture rules by tracing a real forward pass.",
        epilog="Exit codes: 0 all rules pass, 1 a rule fails, 2 a model could not be checked.",
    )
    parser.add_argument(
        "targets", nargs="*", metavar="FILE[::NAME]",
        help="model files (a class, factory or instance is picked with ::NAME); directories and globs of submissions",
    )
    rules = parser.add_argument_group("rules")
    rules.add_argument("--preset", type=_argument(check_preset), help=f"rule set: {', '.join(PRESETS)} (default {DEFAULT_PRESET})")
    rules.add_argument("--max-params", type=_argument(_positive(int)), metavar="N", help="parameter limit (strictly fewer than N)")
    rules.add_argument("--ignore", type=_argument(parse_rule_ids), action="append", metavar="RULE",
                       help=f"skip rules (repeat or comma-separate): {', '.join(RULE_IDS)}")
    rules.add_argument("--strict-fc", action="store_true", default=None,
                       help="also count a convolution on a 1×1 map (the head after GAP) as a fully connected layer")
    model = parser.add_argument_group("model")
    model.add_argument("--input-shape", type=_argument(parse_shape), metavar="C,H,W", help="input shape without the batch (default 1,28,28)")
    model.add_argument("--model-kwargs", type=_argument(_model_kwargs), metavar="JSON", help="keyword arguments for the model's constructor or factory")
    model.add_argument("--stub-imports", action="store_true", default=None,
                       help="replace missing non-torch imports (tqdm, torchsummary, matplotlib...) with inert stubs")
    model.add_argument("--device", type=_argument(check_device), metavar="auto|meta|cpu",
                       help="where to trace: auto (default) uses meta for models of 10M+ parameters, real CPU tensors below")
    model.add_argument("--entry", default=DEFAULT_ENTRY, metavar="NAME", help="model file inside each submission directory (default model.py)")
    limits = parser.add_argument_group("limits")
    limits.add_argument("--timeout", type=_argument(_positive(float)), metavar="SECONDS", help="per model (default 60)")
    limits.add_argument("--max-memory", type=_argument(parse_size), metavar="SIZE", help="per model, e.g. 4GiB (default)")
    limits.add_argument("-j", "--jobs", type=_argument(_positive(int)), default=1, metavar="N", help="check N models in parallel")
    config = parser.add_argument_group("configuration")
    config.add_argument("--config", metavar="PYPROJECT", help="read [tool.archcheck] from this file instead of the nearest pyproject.toml")
    config.add_argument("--no-config", action="store_true", help="ignore pyproject.toml files (for graders)")
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=FORMATS, default="text", help="report format (default text)")
    output.add_argument("--output", metavar="PATH", help="write the report to PATH instead of standard output")
    output.add_argument("-v", "--verbose", action="store_true", help="show tracebacks and what the model's code printed")
    parser.add_argument("--list-rules", action="store_true", help="describe every rule and exit (with --format markdown: as Markdown)")
    parser.add_argument("--version", action="version", version=f"archcheck {__version__}")
    return parser


_OVERRIDES = (
    "preset", "max_params", "strict_fc", "input_shape", "model_kwargs", "stub_imports", "device", "timeout", "max_memory",
)


def overrides_from(namespace: argparse.Namespace) -> dict[str, Any]:
    """The settings given on the command line (they override pyproject.toml)."""
    given = {name: getattr(namespace, name) for name in _OVERRIDES if getattr(namespace, name) is not None}
    if namespace.ignore:
        given["ignore"] = tuple(rule for group in namespace.ignore for rule in group)
    return given


def jobs_from_arguments(argv: Sequence[str]) -> tuple[list[Job], argparse.Namespace]:
    namespace = build_parser().parse_args(list(argv))
    return jobs_from_namespace(namespace), namespace


def jobs_from_namespace(namespace: argparse.Namespace) -> list[Job]:
    config = None if namespace.no_config else (namespace.config or USE_NEAREST)
    return plan(namespace.targets, overrides_from(namespace), config, namespace.entry)


def list_rules(markdown: bool = False) -> str:
    """Every rule's id, name, rationale and example (the README's rule reference is this, in Markdown)."""
    from archcheck.rules import RULES

    blocks = []
    for rule in RULES.values():
        if markdown:
            blocks.append(f"### `{rule.id}`: {rule.name}\n\n{rule.why}\n\n```python\n{rule.example}\n```\n")
        else:
            example = "\n".join("    " + line for line in rule.example.splitlines())
            blocks.append(f"{rule.id}: {rule.name}\n\n{rule.why}\n\nExample:\n{example}\n")
    return "\n".join(blocks)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    namespace = build_parser().parse_args(argv)
    if namespace.list_rules:
        print(list_rules(markdown=namespace.format == "markdown"), end="")
        return 0
    if not namespace.targets:
        build_parser().error("give at least one model file (or --list-rules)")
    try:
        jobs = jobs_from_namespace(namespace)
        # Import the format's module (rich, for text) while the children import torch.
        threading.Thread(target=formatter, args=(namespace.format,), daemon=True).start()
        reports = execute(jobs, isolate=True, parallel=namespace.jobs)
        if namespace.output:
            with open(namespace.output, "w", encoding="utf-8") as out:
                render(reports, namespace.format, out, sys.stderr, verbose=namespace.verbose)
        else:
            render(reports, namespace.format, sys.stdout, sys.stderr, verbose=namespace.verbose)
        return worst_exit_code(reports)
    except KeyboardInterrupt:
        print("archcheck: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:  # archcheck's own failure: one line, the traceback with --verbose
        if namespace.verbose:
            traceback.print_exc()
        print(f"archcheck: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR
