"""From a trace to a report: run the enabled rules and lay out the layer table."""

from __future__ import annotations

from archcheck.config import Settings
from archcheck.records import Trace
from archcheck.report import Layer, Report, RuleResult
from archcheck.rules import RULES, Options


def evaluate(trace: Trace, settings: Settings, file: str) -> Report:
    options = Options(max_params=settings.resolved_max_params, strict_fc=settings.strict_fc)
    results = []
    for rule_id in settings.rules:
        rule = RULES[rule_id]
        verdict = rule.check(trace, options)
        results.append(RuleResult(rule.id, rule.name, verdict.passed, verdict.message, verdict.measured, verdict.findings))
    return Report(
        file=file,
        model=trace.model,
        rules=results,
        params=trace.params,
        device=trace.device,
        device_note=trace.device_note,
        input_shape=trace.input_shape,
        layers=layer_table(trace),
        notes=trace.notes,
    )


def layer_table(trace: Trace) -> list[Layer]:
    """Module calls in execution order, then the modules that never ran.

    A module's parameters are shown on its first call only, so the column adds
    up to the total even when a layer is called twice.
    """
    params = {m.path: m.params for m in trace.modules}
    shown: set[str] = set()
    rows = []
    for call in trace.calls:
        first = call.path not in shown
        shown.add(call.path)
        output = call.output_shapes[0] if call.output_shapes else None
        rows.append(Layer(call.path, call.type, call.depth, output, params.get(call.path, 0) if first else 0, True))
    for module in trace.modules:
        if module.calls == 0:
            depth = module.path.count(".") + 1 if module.path else 0
            rows.append(Layer(module.path, module.type, depth, None, module.params, False))
    return rows
