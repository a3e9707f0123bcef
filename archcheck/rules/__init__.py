"""The architecture rules: one module per rule, one registry everything derives from.

Each rule module defines ``RULE``: a stable id, a name, the rationale shown to
users (the module's docstring), an example, and ``check(trace, options)``.  The
rule ids, ``--ignore``, the presets' validation, the README's rule reference,
``--list-rules``, the pytest items and the Action all come from ``RULES``
below: adding a rule is a new module in this folder and one line in
``_MODULES``.  Rules read only the trace records (``archcheck.records``) --
never torch objects, never output formats -- so importing this package is
cheap and the parent process can run them.
"""

from __future__ import annotations

import importlib
from dataclasses import replace

from archcheck.records import Trace
from archcheck.report import RuleResult
from archcheck.rules._shared import Options, Rule, Verdict

__all__ = ["RULES", "RULE_IDS", "Options", "Rule", "Verdict", "evaluate"]


# The order rules are run and reported in.
_MODULES = (
    "max_params",
    "batchnorm",
    "dropout",
    "gap",
    "no_linear",
    "num_classes",
    "no_maxpool",
    "depthwise_separable",
    "dilated_conv",
    "receptive_field",
)

RULES: dict[str, Rule] = {}
for _name in _MODULES:
    _rule: Rule = importlib.import_module(f"archcheck.rules.{_name}").RULE
    RULES[_rule.id] = _rule

RULE_IDS: tuple[str, ...] = tuple(RULES)


def evaluate(trace: Trace, rule_ids: tuple[str, ...], options: Options) -> list[RuleResult]:
    """Run the given rules on a trace, in registry order."""
    results = []
    for rule in RULES.values():
        if rule.id in rule_ids:
            verdict = _judged(rule, trace, options)
            results.append(
                RuleResult(rule.id, rule.name, verdict.passed, verdict.message, verdict.measured, verdict.findings)
            )
    return results


def _judged(rule: Rule, trace: Trace, options: Options) -> Verdict:
    """The rule's verdict on the training step; a rule that forbids a layer also judges the eval-mode pass."""
    verdict = rule.check(trace, options)
    if not (rule.forbids and verdict.passed and trace.eval_ops is not None):
        return verdict
    evaluated = rule.check(replace(trace, ops=trace.eval_ops, calls=trace.eval_calls), options)
    if evaluated.passed:
        return verdict
    return replace(evaluated, message=f"in eval mode (as accuracy is measured, under no_grad): {evaluated.message}")
