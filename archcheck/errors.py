"""Every reason a model cannot be checked, one small class each.

The text lives next to its name (as in pyflakes' ``messages.py``) so that the
wording a user sees is easy to find, test and keep consistent.  Each problem
also names the phase it happened in; the phase decides nothing but helps the
user know where to look.  All of these end the check with exit code 2.
"""

from __future__ import annotations

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
    message = "{path} is not a Python file (expected a .py file defining an nn.Module)"


class NotReadable(CannotCheck):
    phase = "load"
    message = "{path} cannot be read as UTF-8 Python source: {error}"


class BadTarget(CannotCheck):
    phase = "load"
    message = "{target!r} is not a valid target: use FILE.py or FILE.py::Name"


# -- configuration ------------------------------------------------------------------------------


class BadConfig(CannotCheck):
    phase = "config"
    message = "{where}: {problem}"


# -- import ---------------------------------------------------------------------------------


class SyntaxProblem(CannotCheck):
    phase = "import"
    message = "syntax error in {file}:{line}: {error}"


class MissingPackage(CannotCheck):
    phase = "import"
    message = (
        "{file} imports {package!r}, which is not installed"
        " (install it, or pass --stub-imports to replace non-torch imports with inert stubs)"
    )


class ExitedDuring(CannotCheck):
    message = "the model code called {call} during {phase_name} (exit code {code}); move it under `if __name__ == \"__main__\":`"


class Interrupted(CannotCheck):
    message = "the model code raised KeyboardInterrupt during {phase_name}"


class RaisedDuring(CannotCheck):
    message = "{where} raised {error_type}: {error}"


# -- finding the model --------------------------------------------------------------------------


class NoModel(CannotCheck):
    phase = "build"
    message = "no nn.Module subclass, model instance or model factory defined in {file} (found: {found})"


class SeveralModels(CannotCheck):
    phase = "build"
    message = "{file} defines several candidate models: {names}; pick one with {example}"


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


class BadOutput(CannotCheck):
    phase = "trace"
    message = "forward returned {returned}; archcheck expects a tensor or a tuple of tensors"


# -- limits -------------------------------------------------------------------------------------


class TimedOut(CannotCheck):
    message = "timed out after {seconds:g}s during {phase_name}{hint} (raise the limit with --timeout)"


class OutOfMemory(CannotCheck):
    message = "exceeded the memory limit of {limit} during {phase_name} (raise it with --max-memory)"


class WorkerDied(CannotCheck):
    phase = "internal"
    message = "the checking process ended without a result during {phase_name} ({how})"
