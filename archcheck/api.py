"""The Python API: check model files or model objects and get a ``Report``.

``check_file`` is what the command line runs (each model in an isolated child
process by default); ``check`` and ``assert_passes`` are for a project's own
test suite, where the model is already a trusted object in the process.  All
of them take the settings of ``archcheck.config.SETTINGS`` by their Python
names (``max_params=8000``), validated as flags and pyproject.toml are.
Importing this module does not import torch.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archcheck import errors
from archcheck.arguments import parse_arguments
from archcheck.config import (
    SETTINGS,
    ConfigFile,
    Given,
    Settings,
    Source,
    find_pyproject,
    read_config,
    resolve,
)
from archcheck.protocol import Request
from archcheck.records import Trace
from archcheck.render.lines import rule_text
from archcheck.report import CheckError, Report, layer_table
from archcheck.rules import evaluate
from archcheck.runner import Outcome, available_cpus, run_isolated
from archcheck.targets import DEFAULT_ENTRY, Target, expand

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class Job:
    """One model file to check, with its settings."""

    target: Target
    settings: Settings


@dataclass(frozen=True)
class Refused:
    """A target that cannot be checked at all (no such file, a bad setting): its report is the reason."""

    path: str
    name: str | None
    error: CheckError

    def report(self) -> Report:
        return Report(path=self.path, name=self.name, error=self.error)


Planned = Job | Refused


def plan(
    specs: Sequence[str],
    given: Sequence[Given] = (),
    config: Path | None = None,
    *,
    search: bool = True,
    entry: str = DEFAULT_ENTRY,
) -> list[Planned]:
    """Resolve targets and settings; what is wrong with a target becomes its ``Refused``.

    Settings come from ``config`` (else, when ``search``, the nearest pyproject.toml
    above each model file), then from each of ``given`` in order.
    """
    configs: dict[Path, ConfigFile] = {}
    planned: list[Planned] = []
    for spec in specs:
        try:
            expanded = expand([spec], entry)
        except errors.CannotCheck as error:
            planned.append(Refused(spec, None, error.as_check_error("load")))
            continue
        for item in expanded:
            planned.append(_job(item, given, config, search, configs))
    return planned


def _job(
    spec: str, given: Sequence[Given], config: Path | None, search: bool, configs: dict[Path, ConfigFile]
) -> Planned:
    try:
        target = Target.parse(spec)
    except errors.CannotCheck as error:
        return Refused(spec, None, error.as_check_error("load"))
    try:
        target.validate()
        pyproject = config or (find_pyproject(target.path) if search else None)
        if pyproject is not None and pyproject not in configs:
            configs[pyproject] = read_config(pyproject)
        return Job(target, resolve(configs[pyproject] if pyproject else None, *given))
    except errors.CannotCheck as error:
        return Refused(str(target.path), target.name, error.as_check_error("load"))
    except errors.BadSetting as error:
        return Refused(str(target.path), target.name, CheckError("config", str(error)))


def jobs_from_arguments(argv: Sequence[str], *given: Given) -> tuple[list[Planned], argparse.Namespace]:
    """The jobs of a command line ``archcheck ARGV...``, with ``given`` overriding its flags.

    Raises ``errors.UsageError`` or ``errors.BadSetting`` for a bad command line.
    """
    namespace = parse_arguments(argv)
    return jobs_from_namespace(namespace, *given), namespace


def jobs_from_namespace(namespace: argparse.Namespace, *given: Given) -> list[Planned]:
    config = Path(namespace.config) if namespace.config and not namespace.no_config else None
    return plan(
        namespace.targets, [namespace.given, *given], config, search=not namespace.no_config, entry=namespace.entry
    )


def execute(jobs: Sequence[Planned], isolate: bool = True, parallel: int = 1) -> list[Report]:
    """Run every job (in child processes unless ``isolate`` is False) and judge it by its rules."""
    runnable = [job for job in jobs if isinstance(job, Job)]
    threads = max(1, available_cpus() // max(1, min(parallel, len(runnable))))
    if isolate:
        work = [(_request(job), job.settings.limits(threads)) for job in runnable]
        outcomes = iter(run_isolated(work, parallel))
    else:
        outcomes = iter([_run_in_process(_request(job)) for job in runnable])
    reports = []
    for job in jobs:
        if isinstance(job, Refused):
            reports.append(job.report())
            continue
        outcome = next(outcomes)
        if outcome.trace is None:
            report = _report(job.settings, str(job.target.path), job.target.name, error=outcome.error)
        else:
            report = report_of(outcome.trace, job.settings, str(job.target.path), job.target.name)
        report.output = outcome.output
        reports.append(report)
    return reports


def _request(job: Job) -> Request:
    return job.settings.request(
        path=str(job.target.path.resolve()), shown_path=str(job.target.path), name=job.target.name
    )


def _report(settings: Settings, path: str, name: str | None, **fields: Any) -> Report:
    return Report(
        path=path, name=name, preset=settings.preset, config=settings.config, ignored=list(settings.ignored), **fields
    )


def report_of(trace: Trace, settings: Settings, path: str, name: str | None = None) -> Report:
    """Judge a trace by the enabled rules: the one report every format renders."""
    return _report(
        settings,
        path,
        name,
        model=trace.model,
        rules=evaluate(trace, settings.rules, settings.rule_options()),
        params=trace.params,
        device=trace.device,
        device_note=trace.device_note,
        input_shape=trace.input_shape,
        layers=layer_table(trace),
        macs=trace.macs,
        notes=trace.notes,
        stubbed=trace.stubbed,
    )


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


def check_file(target: str, args: Sequence[str] = (), *, isolate: bool = True, **settings: Any) -> Report:
    """Check one model file as ``archcheck TARGET ARGS...`` would, and return its report.

    ``settings`` (``max_params=8000``, ``preset="cifar10"``...) override ``args``;
    a bad one raises ``errors.BadSetting`` naming it.
    """
    given = Given.parse(Source("argument", "archcheck.check_file"), settings)
    jobs, namespace = jobs_from_arguments([target, *args], given)
    return execute(jobs, isolate=isolate, parallel=namespace.jobs)[0]


def check(model: nn.Module, *, config: str | Path | None = None, **settings: Any) -> Report:
    """Trace a model object in this process (on a copy, so its BatchNorm statistics stay as they are).

    ``settings`` are those of the table by their Python names (``preset="cifar10"``,
    ``max_params=8000``, ``input_shape=(3, 32, 32)``, ``ignore=["dropout"]``);
    ``config`` reads ``[tool.archcheck]`` (and its presets) from that pyproject.toml
    first.  A bad setting raises ``errors.BadSetting`` naming it and what is allowed.
    """
    import torch

    from archcheck.tracing.step import copy_to_trace, trace_model

    source = Source("argument", "archcheck.check")
    for key, value in settings.items():
        setting = SETTINGS.get(key.replace("_", "-"))
        if setting is not None and setting.for_files:
            raise errors.BadSetting(
                source.where(setting, value), "applies to model files only (use archcheck.check_file)"
            )
    given = Given.parse(source, settings)
    resolved = resolve(read_config(Path(config)) if config is not None else None, given)
    parameter = next(iter(model.parameters()), None)
    device = parameter.device.type if parameter is not None else "cpu"
    with torch.device(device):
        trace = trace_model(copy_to_trace(model), type(model).__name__, None, resolved.request(path=""), device=device)
    return report_of(trace, resolved, trace.location.file if trace.location else _defining_file(model))


def _defining_file(model: nn.Module) -> str:
    """Where the model's class is defined: the report's path for a model object."""
    try:
        return inspect.getsourcefile(type(model)) or f"<{type(model).__qualname__} object>"
    except TypeError:  # a class without a source file
        return f"<{type(model).__qualname__} object>"


def assert_passes(model_or_report: nn.Module | Report, **settings: Any) -> Report:
    """Check a model (or take a report) and raise ``ArchitectureError`` listing the rules it fails."""
    __tracebackhide__ = True  # pytest shows the caller's line, not this helper
    report = model_or_report if isinstance(model_or_report, Report) else check(model_or_report, **settings)
    if report.error is not None:
        raise errors.ArchitectureError(f"{report.label}: could not be checked: {report.error.reason}")
    if not report.passed:
        lines = [f"{report.model or report.label} fails {len(report.failing)} architecture rule(s):"]
        lines += ["  " + line for rule in report.failing for line in rule_text(rule)]
        raise errors.ArchitectureError("\n".join(lines))
    return report
