"""Settings: a preset, then ``[tool.archcheck]`` from pyproject.toml, then command-line flags.

Later sources override earlier ones.  The nearest ``pyproject.toml`` above the
model file is used (or the one given with ``--config``; ``--no-config`` skips
it, which graders should use so a submission cannot relax its own rules).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from archcheck import errors
from archcheck.rules import RULE_IDS, Options

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib



@dataclass(frozen=True)
class Preset:
    description: str
    rules: tuple[str, ...]
    max_params: int
    input_shape: tuple[int, ...]


PRESETS: dict[str, Preset] = {
    "mnist": Preset(
        "the classic assignment: MNIST, fewer than 20,000 parameters, BatchNorm, Dropout, GAP, no FC layer",
        RULE_IDS, 20_000, (1, 28, 28),
    ),
    "mnist-8k": Preset("the same rules with fewer than 8,000 parameters", RULE_IDS, 8_000, (1, 28, 28)),
}
DEFAULT_PRESET = "mnist"


@dataclass(frozen=True)
class Settings:
    """Everything that decides how a model is checked."""

    preset: str = DEFAULT_PRESET
    max_params: int | None = None  # None: the preset's
    ignore: tuple[str, ...] = ()
    input_shape: tuple[int, ...] | None = None  # None: the preset's
    strict_fc: bool = False
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    stub_imports: bool = False
    device: str = "auto"
    timeout: float = 60.0
    max_memory: int = 4 << 30
    batch_size: int = 2

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(r for r in PRESETS[self.preset].rules if r not in self.ignore)

    @property
    def resolved_max_params(self) -> int:
        return self.max_params if self.max_params is not None else PRESETS[self.preset].max_params

    @property
    def resolved_input_shape(self) -> tuple[int, ...]:
        return self.input_shape or PRESETS[self.preset].input_shape

    def rule_options(self) -> Options:
        return Options(
            max_params=self.resolved_max_params,
            strict_fc=self.strict_fc,
            num_classes=10,
            min_receptive_field=0,
            fc_after_gap=False,
        )

    def merged(self, overrides: dict[str, Any]) -> Settings:
        return replace(self, **overrides)


# -- parsing values (shared by pyproject and the command line) ------------------------------------

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)


def parse_shape(text: str | list | tuple) -> tuple[int, ...]:
    """'1,28,28', '1x28x28' or [1, 28, 28] -> (1, 28, 28)."""
    if isinstance(text, list | tuple):
        parts = [str(part) for part in text]
    else:
        compact = str(text).replace(" ", "")
        parts = re.split(r"[,x×]", compact) if re.fullmatch(r"\d+(?:[,x×]\d+)*", compact) else ["?"]
    if not all(part.isdigit() for part in parts) or any(int(part) == 0 for part in parts):
        raise ValueError(f"input shape {text!r} is not a list of positive integers like 1,28,28 (without the batch)")
    return tuple(int(part) for part in parts)


def parse_size(text: str | int) -> int:
    """'4GiB', '512M', '2G' or a number of bytes -> bytes."""
    if isinstance(text, int):
        return text
    match = _SIZE.match(str(text))
    if not match:
        raise ValueError(f"memory size {text!r} is not like 4GiB, 512M or 2G")
    number, unit = float(match[1]), match[2].upper()
    return int(number * ((1 << (10 * "KMGT".index(unit) + 10)) if unit else 1))


def format_size(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):g} {unit}"
    return f"{size} bytes"


def parse_rule_ids(values: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    items = [values] if isinstance(values, str) else list(values)
    ids = tuple(part.strip() for item in items for part in item.split(",") if part.strip())
    unknown = [rule_id for rule_id in ids if rule_id not in RULE_IDS]
    if unknown:
        raise ValueError(f"unknown rule {', '.join(unknown)} (rules: {', '.join(RULE_IDS)})")
    return ids


DEVICES = ("auto", "meta", "cpu")


def check_device(name: str) -> str:
    if name not in DEVICES:
        raise ValueError(f"unknown device {name!r} (devices: {', '.join(DEVICES)})")
    return name


def check_preset(name: str) -> str:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r} (presets: {', '.join(PRESETS)})")
    return name


# -- pyproject.toml -------------------------------------------------------------------------------

_KEYS = {
    "preset": check_preset,
    "max-params": int,
    "ignore": parse_rule_ids,
    "input-shape": parse_shape,
    "strict-fc": bool,
    "model-kwargs": dict,
    "stub-imports": bool,
    "device": check_device,
    "timeout": float,
    "max-memory": parse_size,
}


def find_pyproject(model_file: Path) -> Path | None:
    for directory in model_file.resolve().parents:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def from_pyproject(path: Path) -> dict[str, Any]:
    """The ``[tool.archcheck]`` table of ``path`` as Settings fields."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("archcheck", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise errors.BadConfig(where=str(path), problem=f"cannot read it: {error}") from None
    fields: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("_", "-")
        if name not in _KEYS:
            raise errors.BadConfig(
                where=f"{path} [tool.archcheck]", problem=f"unknown key {key!r} (known: {', '.join(_KEYS)})"
            )
        try:
            fields[name.replace("-", "_")] = _KEYS[name](value)
        except (TypeError, ValueError) as error:
            raise errors.BadConfig(where=f"{path} [tool.archcheck] {key}", problem=str(error)) from None
    return fields
