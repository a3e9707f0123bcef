"""``archcheck``: check model files from the command line.

Exit codes: 0 every enabled rule passes, 1 a rule fails, 2 a model could not
be checked (the reason in one line) or the command line is wrong.  This
process never imports torch: the models are imported and traced in child
processes.  The arguments are defined in ``archcheck.arguments``, the work
done by ``archcheck.api``.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Callable, Sequence

from archcheck.api import execute, jobs_from_namespace
from archcheck.arguments import parse_arguments
from archcheck.errors import UsageError
from archcheck.render import formatter, render
from archcheck.report import EXIT_ERROR, EXIT_PASSED, worst_exit_code


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        namespace = parse_arguments(argv)
        if namespace.list_rules or namespace.list_presets:
            from archcheck.render.rule_reference import list_presets, list_rules

            listing = (list_rules if namespace.list_rules else list_presets)(namespace.format)
            return _emit(lambda: sys.stdout.write(listing), EXIT_PASSED)
        if not namespace.targets:
            raise UsageError("give at least one model file (or --list-rules)")
    except ValueError as error:  # errors.UsageError, errors.BadSetting, a listing in a format it lacks
        print(f"archcheck: error: {error} (see archcheck --help)", file=sys.stderr)
        return EXIT_ERROR
    try:
        jobs = jobs_from_namespace(namespace)
        # Import the format's module (rich, for text) while the children import torch.
        threading.Thread(target=formatter, args=(namespace.format,), daemon=True).start()
        reports = execute(jobs, isolate=True, parallel=namespace.jobs)
        code = worst_exit_code(reports)
        if namespace.output:
            with open(namespace.output, "w", encoding="utf-8") as out:
                render(reports, namespace.format, out, sys.stderr, verbose=namespace.verbose)
            return code
        return _emit(lambda: render(reports, namespace.format, sys.stdout, sys.stderr, verbose=namespace.verbose), code)
    except KeyboardInterrupt:
        print("archcheck: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as error:  # archcheck's own failure: one line, the traceback with --verbose
        if namespace.verbose:
            traceback.print_exc()
        print(f"archcheck: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR


def _emit(write: Callable[[], object], code: int) -> int:
    """Write to standard output and return ``code``, also when the reader went away early.

    ``archcheck model.py | head -1`` closes the pipe after one line; the verdict
    (the exit code) stands, and nothing more is written (not even at exit).
    """
    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return code
