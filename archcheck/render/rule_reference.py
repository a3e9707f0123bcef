"""``--list-rules`` and ``--list-presets``: the rule and preset references, from the registry and the preset tables.

The README's rule reference is ``archcheck --list-rules --format markdown`` and
its preset sections ``archcheck --list-presets --format markdown``; tests keep
both current.
"""

from __future__ import annotations

import json
from typing import Any

from archcheck.config import PRESETS, SETTINGS, Preset, toml_value
from archcheck.rules import RULES, Rule

REFERENCE_FORMATS = ("text", "markdown", "json")


def _check_format(fmt: str, what: str) -> None:
    if fmt not in REFERENCE_FORMATS:
        raise ValueError(f"{what} comes as {', '.join(REFERENCE_FORMATS)}, not {fmt}")


def list_rules(fmt: str = "text") -> str:
    """Every rule's id, name, rationale and example."""
    _check_format(fmt, "--list-rules")
    rules = list(RULES.values())
    if fmt == "json":
        return json.dumps([_rule_dict(rule) for rule in rules], indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        return "\n".join(f"### `{r.id}`: {r.name}\n\n{r.why}\n\n```python\n{r.example}\n```\n" for r in rules)
    blocks = []
    for rule in rules:
        example = "\n".join("    " + line for line in rule.example.splitlines())
        blocks.append(f"{rule.id}: {rule.name}\n\n{rule.why}\n\nExample:\n{example}\n")
    return "\n".join(blocks)


def _rule_dict(rule: Rule) -> dict[str, Any]:
    return {"id": rule.id, "name": rule.name, "why": rule.why, "example": rule.example}


def _settings_of(preset: Preset) -> list[tuple[str, str]]:
    """The preset's settings as (key, value typed on the command line), in the table's order."""
    return [(s.key, s.show(preset.values[s.field])) for s in SETTINGS.values() if s.field in preset.values]


def list_presets(fmt: str = "text") -> str:
    """Every built-in preset: the assignment it encodes, its rules and their options."""
    _check_format(fmt, "--list-presets")
    presets = list(PRESETS.values())
    if fmt == "json":
        data = [
            {
                "name": p.name,
                "description": p.description,
                "assignment": p.assignment,
                "rules": list(p.rules),
                "settings": {s.key: p.values[s.field] for s in SETTINGS.values() if s.field in p.values},
            }
            for p in presets
        ]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "markdown":
        blocks = []
        for p in presets:
            settings = ", ".join(
                f"`{s.key} = {toml_value(p.values[s.field])}`" for s in SETTINGS.values() if s.field in p.values
            )
            rules = ", ".join(f"`{rule}`" for rule in p.rules)
            blocks.append(f"### `{p.name}`\n\n> {p.assignment}\n\nRules: {rules}.  \nSettings: {settings}.\n")
        return "\n".join(blocks)
    return "\n".join(
        f"{p.name}: {p.description}\n\n{p.assignment}\n\nRules: {', '.join(p.rules)}\n"
        + "".join(f"  {key} = {value}\n" for key, value in _settings_of(p))
        for p in presets
    )
