"""Every reason a model cannot be checked, one small class each.

The text lives next to its name (as in pyflakes' ``messages.py``) so that the
wording a user sees is easy to find, test and keep consistent.  Each problem
also names the phase it happened in; the phase decides nothing but helps the
user know where to look.  All of these end the check with exit code 2.
"""

from __future__ import annotations

import signal

from archcheck.protocol import PHASES
from archcheck.report import CheckError


class CannotCheck(Exception):
    """The model could not be checked; ``str(error)`` is the one-line reason."""

    phase: str | None = None  # None: whichever phase it happened in
    message = "{reason}"

    def __init__(self, detail: str | None = None, **fields: object) -> None:
        self.fields = fields
        self.detail = detail
        super().__init__(self.message.format(**fields))

    @property
    def reason(self) -> str:
        return str(self)

    def as_check_error(self, current_phase: str) -> CheckError:
        """The report's form of this problem; ``current_phase`` names where it happened if the class does not."""
        return CheckError(self.phase or current_phase, self.reason, self.detail)


# -- the target ---------------------------------------------------------------------------------


class FileMissing(CannotCheck):
    phase = "load"
    message = "{path}: no such file"


class IsDirectory(CannotCheck):
    phase = "load"
    message = "{path} is a directory without a {entry} in it (name the model file, or use --entry)"


class NotPython(CannotCheck):
    phase = "load"
    message = "{path} is not a Python file (expected a .py file or a .ipynb notebook defining an nn.Module)"


class BadNotebook(CannotCheck):
    phase = "load"
    message = "{path} is not a notebook archcheck can read: {problem}"


class NotReadable(CannotCheck):
    phase = "load"
    message = "{path} cannot be read as UTF-8 Python source: {error}"


class BadTarget(CannotCheck):
    phase = "load"
    message = "{target!r} is not a valid target: use FILE.py or FILE.py::Name"


# -- import ---------------------------------------------------------------------------------


class SyntaxProblem(CannotCheck):
    phase = "import"
    message = "syntax error in {where}: {error}"


class MissingPackage(CannotCheck):
    phase = "import"
    message = (
        "{file} imports {package!r}, which is not installed"
        " (install it, or leave out --no-stub-imports to replace it with an inert stub)"
    )


class MissingTorchPackage(CannotCheck):
    phase = "import"
    message = "{file} imports {package!r}, which is not installed: install it (the model needs the real {package}, never a stub)"


class MissingDependency(CannotCheck):
    phase = "import"
    message = "{importer} (imported by {file}) needs {package!r}, which is not installed: install it"


class NeedsStubbedPackage(CannotCheck):
    message = (
        "{reason} (the model uses {packages}, which is not installed and was replaced by an inert stub: install it)"
    )


class ExitedDuring(CannotCheck):
    message = 'the model code called {call} during {phase_name} (exit code {code}); move it under `if __name__ == "__main__":`'


class Interrupted(CannotCheck):
    message = "the model code raised KeyboardInterrupt during {phase_name}"


class RaisedDuring(CannotCheck):
    message = "{where} raised {error_type}: {error}"


# -- finding the model --------------------------------------------------------------------------


class NoModel(CannotCheck):
    phase = "build"
    message = "no nn.Module subclass, model instance or model factory defined in {file} (found: {found})"


class NoModelOutsideScript(NoModel):
    message = (
        "no nn.Module subclass, model instance or model factory defined in {file} (found: {found});"
        " its top-level script code did not run (--run-top-level runs it)"
    )


class SeveralModels(CannotCheck):
    phase = "build"
    message = "{file} defines several candidate models; name the one to check: {targets}"


class NameNotFound(CannotCheck):
    phase = "build"
    message = "{file} has no class, function or module named {name!r} (candidates: {candidates})"


class NotAModel(CannotCheck):
    phase = "build"
    message = "{name!r} in {file} is a {kind}, not an nn.Module class, factory function or instance"


class NeedsArguments(CannotCheck):
    phase = "build"
    message = "{name}() needs arguments: {missing}; pass them with --model-kwargs '{example}'"


class BadArguments(CannotCheck):
    phase = "build"
    message = "{name}() rejected the arguments {given}: {error}"


class FactoryReturnedNonModule(CannotCheck):
    phase = "build"
    message = "factory {name}() returned {returned}, not an nn.Module"


class NeedsCuda(CannotCheck):
    message = (
        "the model only runs on CUDA ({error}); archcheck traces on the CPU:"
        " remove hard-coded .cuda() / device='cuda' calls or use x.device"
    )


# -- the forward pass -----------------------------------------------------------------------


class ForwardFailed(CannotCheck):
    phase = "trace"
    message = "forward failed for input shape {shape}: {error}{hint}"


class HiddenOutput(CannotCheck):
    phase = "trace"
    message = (
        "the output does not depend on the input as far as archcheck can see: it was computed where archcheck's"
        " recorder cannot look (torch's dispatch modes and autograd both switched off), so the model cannot be checked"
    )


class BadOutput(CannotCheck):
    phase = "trace"
    message = "forward returned {returned}; archcheck expects a tensor, or a tuple, list or dict of tensors (the logits first)"


# -- limits -------------------------------------------------------------------------------------


class TimedOut(CannotCheck):
    """The deadline passed; each phase's subclass adds what usually takes that long there."""

    message = "timed out after {seconds:g}s during {phase_name}{hint} (raise the limit with --timeout)"
    hint = ""

    def __init__(self, seconds: float, phase: str) -> None:
        super().__init__(seconds=seconds, phase_name=PHASES.get(phase, phase), hint=self.hint)


class StartTimedOut(TimedOut):
    phase = "start"
    hint = " (the machine may be overloaded)"


class ImportTimedOut(TimedOut):
    phase = "import"
    hint = ' (does the file train or download data at import time? keep that under `if __name__ == "__main__":`)'


class BuildTimedOut(TimedOut):
    phase = "build"
    hint = " (does the constructor load data or train?)"


class TraceTimedOut(TimedOut):
    phase = "trace"
    hint = " (does forward loop forever, or is the model too large for a CPU forward pass?)"


def timed_out(phase: str, seconds: float) -> TimedOut:
    """The timeout of ``phase``, with that phase's hint."""
    kinds = {kind.phase: kind for kind in (StartTimedOut, ImportTimedOut, BuildTimedOut, TraceTimedOut)}
    return kinds.get(phase, TimedOut)(seconds, phase)


class OutOfMemory(CannotCheck):
    message = "exceeded the memory limit of {limit} during {phase_name} (raise it with --max-memory)"


# What an allocation failure says: Python, glibc's errno text, the dynamic loader mapping torch's
# libraries under RLIMIT_AS, and torch's CPU allocator (on Windows, under a job object's limit).
_OUT_OF_MEMORY_TEXTS = (
    "cannot allocate memory",
    "can't allocate memory",
    "out of memory",
    "not enough memory",
    "failed to map segment",
)


def is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, MemoryError) or any(text in str(error).lower() for text in _OUT_OF_MEMORY_TEXTS)


# -- the checking process itself ----------------------------------------------------------------


class WorkerDied(CannotCheck):
    """The checking process ended without answering; the subclasses say how."""

    message = "the checking process ended without a result during {phase_name} ({how})"


class KilledBySignal(WorkerDied):
    message = "the checking process ended without a result during {phase_name} (killed by {signal}{hint})"


class ExitedWithoutAnswer(WorkerDied):
    message = (
        "the checking process ended without a result during {phase_name}"
        " (exit code {code}: does the model code call os._exit()?)"
    )


class ClosedAnswerChannel(WorkerDied):
    message = "the checking process ended without a result during {phase_name} (it closed archcheck's answer channel)"


def worker_died(phase: str, exit_code: int | None) -> WorkerDied:
    """Why the worker gave no answer, from its exit code (negative: the signal that killed it; None: unknown)."""
    phase_name = PHASES.get(phase, phase)
    if exit_code is None:
        return ClosedAnswerChannel(phase_name=phase_name)
    if exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        hint = ", probably for using too much memory" if name == "SIGKILL" else ""
        return KilledBySignal(phase_name=phase_name, signal=name, hint=hint)
    return ExitedWithoutAnswer(phase_name=phase_name, code=exit_code)


class UnreadableAnswer(CannotCheck):
    message = "the checking process sent an unreadable answer during {phase_name}"


class InternalError(CannotCheck):
    """archcheck's own failure, still told in one line (the traceback is the detail, for --verbose)."""

    message = "internal error in archcheck: {error}"

    def __init__(self, error: BaseException, detail: str | None = None) -> None:
        super().__init__(detail, error=f"{type(error).__name__}: {error}".splitlines()[0])


# -- settings and verdicts raised to the caller (not reasons a model cannot be checked) -----------


class BadSetting(ValueError):
    """A setting's value is not allowed.

    The one line names the setting, where the value came from (a flag, a
    config file's table, an argument of the Python API) and what is allowed,
    so the same bad value reads the same whichever way it was given.
    """

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}")


class ArchitectureError(AssertionError):
    """A model broke architecture rules (``archcheck.assert_passes``); the message lists each failing rule."""


class UsageError(ValueError):
    """The command line is wrong (an unknown option, a missing value); the text is one line."""
