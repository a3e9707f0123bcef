"""The Python API: check model files or model objects and get a ``Report``.

``check_file`` is what the command line runs (each model in an isolated child
process by default); ``check`` and ``assert_passes`` are for a project's own
test suite, where the model is already a trusted object in the process.
Importing this module does not import torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archcheck import errors
from archcheck.config import (
    Settings,
    find_pyproject,
    format_size,
    from_pyproject,
    parse_rule_ids,
    parse_shape,
)
from archcheck.protocol import Request
from archcheck.records import Trace
from archcheck.report import CheckError, Report, layer_table
from archcheck.rules import evaluate
from archcheck.runner import Limits, Outcome, available_cpus, run_isolated
from archcheck.targets import Target, expand

if TYPE_CHECKING:
    from torch import nn

USE_NEAREST = "nearest"  # config=... : the nearest pyproject.toml above each model file


@dataclass
class Job:
    """One model to check, with its settings, or the reason it cannot be checked at all."""

    label: str
    target: Target | None = None
    settings: Settings | None = None
    error: CheckError | None = None

    def request(self) -> Request:
        assert self.target is not None and self.settings is not None
        return Request(
            path=str(self.target.path.resolve()),
            shown_path=str(self.target.path),
            name=self.target.name,
            input_shape=self.settings.resolved_input_shape,
            batch_size=self.settings.batch_size,
            model_kwargs=self.settings.model_kwargs,
            stub_imports=self.settings.stub_imports,
            device=self.settings.device,
            memory_label=format_size(self.settings.max_memory),
        )


def plan(
    specs: Sequence[str], overrides: dict[str, Any], config: Path | str | None = USE_NEAREST, entry: str = "model.py"
) -> list[Job]:
    """Resolve targets and settings; what is wrong with a target becomes that job's error."""
    jobs = []
    for spec in specs:
        try:
            expanded = expand([spec], entry)
        except errors.CannotCheck as error:
            jobs.append(Job(spec, error=error.as_check_error("load")))
            continue
        jobs.extend(_job(item, overrides, config) for item in expanded)
    return jobs


def _job(spec: str, overrides: dict[str, Any], config: Path | str | None) -> Job:
    job = Job(label=spec)
    try:
        target = Target.parse(spec)
        job.label = target.label
        target.validate()
        pyproject = find_pyproject(target.path) if config == USE_NEAREST else (Path(config) if config else None)
        from_file = from_pyproject(pyproject) if pyproject else {}
        job.target, job.settings = target, Settings().merged({**from_file, **overrides})
    except errors.CannotCheck as error:
        job.error = error.as_check_error("load")
    return job


def execute(jobs: list[Job], isolate: bool = True, parallel: int = 1) -> list[Report]:
    """Run every runnable job (in child processes unless ``isolate`` is False) and evaluate its rules."""
    runnable = [job for job in jobs if job.error is None]
    threads = max(1, available_cpus() // max(1, min(parallel, len(runnable))))
    if isolate:
        work = [(job.request(), _limits(job.settings, threads)) for job in runnable]
        outcomes = iter(run_isolated(work, parallel))
    else:
        outcomes = iter([_run_in_process(job.request()) for job in runnable])
    reports = []
    for job in jobs:
        if job.error is not None:
            reports.append(Report(file=job.label, error=job.error))
            continue
        outcome = next(outcomes)
        if outcome.trace is None:
            reports.append(Report(file=job.label, model=job.target.name, error=outcome.error, output=outcome.output))
        else:
            report = report_of(outcome.trace, job.settings, job.label)
            report.output = outcome.output
            reports.append(report)
    return reports


def report_of(trace: Trace, settings: Settings, label: str) -> Report:
    """Judge a trace by the enabled rules: the one report every format renders."""
    return Report(
        file=label,
        model=trace.model,
        rules=evaluate(trace, settings.rules, settings.rule_options()),
        params=trace.params,
        device=trace.device,
        device_note=trace.device_note,
        input_shape=trace.input_shape,
        layers=layer_table(trace),
        notes=trace.notes,
    )


def _limits(settings: Settings, threads: int) -> Limits:
    return Limits(settings.timeout, settings.max_memory, threads)


def _run_in_process(request: Request) -> Outcome:
    from archcheck.tracing.inspection import inspect_file
    from archcheck.tracing.loader import leaving_no_trace

    phase = "import"

    def enter(name: str) -> None:
        nonlocal phase
        phase = name

    try:
        with leaving_no_trace(Path(request.path)):
            return Outcome(inspect_file(request, phase=enter), None)
    except errors.CannotCheck as error:
        return Outcome(None, error.as_check_error(phase))


def check_file(target: str, args: Sequence[str] = (), *, isolate: bool = True) -> Report:
    """Check one model file as ``archcheck TARGET ARGS...`` would, and return its report."""
    from archcheck.cli import jobs_from_arguments

    jobs, namespace = jobs_from_arguments([target, *args])
    return execute(jobs, isolate=isolate, parallel=namespace.jobs)[0]


def check(
    model: nn.Module,
    *,
    input_shape: Sequence[int] | str | None = None,
    preset: str = "mnist",
    max_params: int | None = None,
    ignore: Sequence[str] | str = (),
    strict_fc: bool = False,
    batch_size: int = 2,
) -> Report:
    """Trace a model object in this process (on a copy, so its BatchNorm statistics stay as they are)."""
    import copy

    import torch

    from archcheck.tracing.inspection import trace_model

    settings = Settings(
        preset=preset,
        max_params=max_params,
        ignore=parse_rule_ids(ignore),
        input_shape=parse_shape(input_shape) if input_shape is not None else None,
        strict_fc=strict_fc,
        batch_size=batch_size,
    )
    request = Request(path="", input_shape=settings.resolved_input_shape, batch_size=batch_size)
    parameter = next(iter(model.parameters()), None)
    device = parameter.device.type if parameter is not None else "cpu"
    with torch.device(device):
        trace = trace_model(copy.deepcopy(model), None, request, device=device)
    return report_of(trace, settings, type(model).__qualname__)


class ArchitectureError(AssertionError):
    """A model broke architecture rules; the message lists each failing rule."""


def assert_passes(model_or_report: nn.Module | Report, **options: Any) -> Report:
    """Check a model (or take a report) and raise ``ArchitectureError`` listing the rules it fails."""
    __tracebackhide__ = True  # pytest shows the caller's line, not this helper
    report = model_or_report if isinstance(model_or_report, Report) else check(model_or_report, **options)
    if report.error is not None:
        raise ArchitectureError(f"{report.file}: could not be checked: {report.error.reason}")
    if not report.passed:
        lines = [f"{report.model or report.file} fails {len(report.failing)} architecture rule(s):"]
        lines += [f"  {rule.id}: {rule.message}" for rule in report.failing]
        raise ArchitectureError("\n".join(lines))
    return report
