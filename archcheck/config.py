"""Settings: one table, read the same way by every source.

Each setting is declared once, in ``SETTINGS``: its key, the values it takes
(a validator that says what is allowed), its default and its help.  The
command-line flags (``archcheck.arguments`` builds the parser from the table),
``[tool.archcheck]`` in pyproject.toml, the Python API (``archcheck.check``,
``check_file``), the pytest plugin and the GitHub Action (which passes flags)
all go through it, so a bad value fails the same way wherever it was given: one
line naming the setting, where the value came from and what is allowed
(``errors.BadSetting``).

Later sources override earlier ones: the table's defaults, then the preset
(``archcheck.presets``, or ``[tool.archcheck.presets.NAME]``), then
``[tool.archcheck]`` of the nearest pyproject.toml above the model file (or the
one given with ``--config``; ``--no-config`` skips it, which graders should use
so that a submission cannot relax its own rules), then flags or API arguments.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archcheck.errors import BadSetting
from archcheck.presets import BUILTIN_PRESETS, DEFAULT_PRESET
from archcheck.rules import RULE_IDS, Options

if TYPE_CHECKING:
    from archcheck.protocol import Request
    from archcheck.runner import Limits

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


# -- the kinds of value a setting takes ------------------------------------------------------------
#
# A kind turns a value from any source (a flag's text, a TOML value, a Python
# argument) into the setting's value, or raises ValueError saying what is allowed.
# Values it already produced pass through unchanged.

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$", re.IGNORECASE)
_WHOLE = re.compile(r"^\s*\d+(?:[_,]\d{3})*\s*$")


def _not_bool(value: object, expected: str) -> None:
    """True and False are ints to Python, but never a count or a size to a user."""
    if isinstance(value, bool):
        raise ValueError(f"expected {expected}, not a boolean")


def positive_int(value: object) -> int:
    expected = "a whole number above 0"
    _not_bool(value, expected)
    if isinstance(value, str) and _WHOLE.match(value):
        value = int(value.replace(",", "").replace("_", ""))
    if not isinstance(value, int) or value <= 0:
        raise ValueError(f"expected {expected}")
    return value


def positive_number(value: object) -> float:
    expected = "a number above 0"
    _not_bool(value, expected)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"expected {expected}") from None
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"expected {expected}")
    return float(value)


def boolean(value: object) -> bool:
    if not isinstance(value, bool):
        quoted = " (without quotes)" if isinstance(value, str) else ""
        raise ValueError(f"expected true or false{quoted}")
    return value


def parse_shape(value: object) -> tuple[int, ...]:
    """'1,28,28', '1x28x28' or [1, 28, 28] -> (1, 28, 28): positive sizes, without the batch."""
    expected = "positive whole numbers like 1,28,28 (C,H,W, without the batch)"
    if isinstance(value, list | tuple):
        parts = list(value)
    elif isinstance(value, str) and re.fullmatch(r"\d+(?:[,x×]\d+)*", value.replace(" ", "")):
        parts = [int(part) for part in re.split(r"[,x×]", value.replace(" ", ""))]
    else:
        raise ValueError(f"expected {expected}")
    if not parts or not all(isinstance(part, int) and not isinstance(part, bool) and part > 0 for part in parts):
        raise ValueError(f"expected {expected}")
    return tuple(parts)


def parse_size(value: object) -> int:
    """'4GiB', '512M', '2G' or a number of bytes -> bytes."""
    expected = "a size like 4GiB, 512M or 2G (or a number of bytes)"
    _not_bool(value, expected)
    if isinstance(value, str) and (match := _SIZE.match(value)):
        number, unit = float(match[1]), match[2].upper()
        value = int(number * ((1 << (10 * "KMGT".index(unit) + 10)) if unit else 1))
    if not isinstance(value, int) or value <= 0:
        raise ValueError(f"expected {expected}")
    return value


def format_size(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return f"{size / (1 << shift):g} {unit}"
    return f"{size} bytes"


def parse_rule_ids(value: object) -> tuple[str, ...]:
    """'gap,dropout', ['gap', 'dropout'] -> ('gap', 'dropout'), each a registered rule."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
        raise ValueError(f"expected rule ids like 'gap,dropout' (rules: {', '.join(RULE_IDS)})")
    ids = tuple(part.strip() for item in items for part in item.split(",") if part.strip())
    unknown = [rule_id for rule_id in ids if rule_id not in RULE_IDS]
    if unknown:
        raise ValueError(
            f"unknown rule {', '.join(unknown)}{_did_you_mean(unknown[0], RULE_IDS)} (rules: {', '.join(RULE_IDS)})"
        )
    return ids


def _rule_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ValueError("expected a list of rule ids")
    return tuple(value)


def json_object(value: object) -> dict[str, Any]:
    """A JSON object's text (on the command line) or a table / dict: keyword arguments."""
    expected = "a JSON object like '{\"num_classes\": 10}'"
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"not valid JSON ({error.msg}): expected {expected}") from None
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise ValueError(f"expected {expected}")
    return value


def choice(*allowed: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return str(value)

    return parse


def name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a name")
    return value.strip()


def _did_you_mean(word: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


# -- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One setting, as every source sees it."""

    key: str  # the pyproject key; the flag is --KEY and the Python argument KEY with underscores
    parse: Callable[[object], Any]
    default: Any  # None for the preset-level settings: the preset decides
    help: str
    group: str  # the --help section: rules, model or limits
    metavar: str | None = None
    in_preset: bool = False  # a preset may set it
    needed_by: str | None = None  # the rule that reads it: a preset enabling that rule must set it
    for_files: bool = False  # only for model files (isolation, loading), not for archcheck.check(model)
    repeatable: bool = False  # a flag that may be given several times, the values adding up

    @property
    def field(self) -> str:
        return self.key.replace("-", "_")

    @property
    def flag(self) -> str:
        return f"--{self.key}"

    @property
    def is_switch(self) -> bool:
        return self.parse is boolean

    def show(self, value: object) -> str:
        """A value the way it is typed on the command line."""
        if isinstance(value, tuple):
            return ",".join(map(str, value))
        if isinstance(value, dict):
            return json.dumps(value)
        return str(value)


def _settings(*settings: Setting) -> dict[str, Setting]:
    return {setting.key: setting for setting in settings}


SETTINGS: dict[str, Setting] = _settings(
    Setting(
        "preset",
        name,
        DEFAULT_PRESET,
        "the assignment's rule set: a built-in preset"
        f" ({', '.join(BUILTIN_PRESETS)}) or one of [tool.archcheck.presets.NAME] (default {DEFAULT_PRESET})",
        "rules",
        "NAME",
    ),
    Setting(
        "max-params",
        positive_int,
        None,
        "parameter budget: the model must have strictly fewer than N parameters",
        "rules",
        "N",
        in_preset=True,
        needed_by="max-params",
    ),
    Setting(
        "num-classes",
        positive_int,
        None,
        "how many entries per sample the model's output must have",
        "rules",
        "N",
        in_preset=True,
        needed_by="num-classes",
    ),
    Setting(
        "min-receptive-field",
        positive_int,
        None,
        "the receptive field, in input pixels, that the map entering the global pool must reach",
        "rules",
        "PIXELS",
        in_preset=True,
        needed_by="receptive-field",
    ),
    Setting(
        "strict-fc",
        boolean,
        False,
        "also count a convolution on a 1×1 map (the head after GAP) as a fully connected layer",
        "rules",
        in_preset=True,
    ),
    Setting(
        "fc-after-gap",
        boolean,
        False,
        "allow a fully connected head after an executed global average pooling",
        "rules",
        in_preset=True,
    ),
    Setting(
        "ignore",
        parse_rule_ids,
        (),
        f"skip rules (repeat or comma-separate): {', '.join(RULE_IDS)}",
        "rules",
        "RULE",
        repeatable=True,
    ),
    Setting(
        "input-shape",
        parse_shape,
        None,
        "input shape without the batch, as the preset's (1,28,28 for mnist)",
        "model",
        "C,H,W",
        in_preset=True,
    ),
    Setting("batch-size", positive_int, 2, "how many random inputs the traced batch holds (default 2)", "model", "N"),
    Setting(
        "model-kwargs",
        json_object,
        {},
        "keyword arguments for the model's constructor or factory",
        "model",
        "JSON",
        for_files=True,
    ),
    Setting(
        "stub-imports",
        boolean,
        True,
        "replace the packages the model file imports that are not installed (tqdm, torchsummary...) with inert"
        " stubs; never torch, torchvision or torchaudio (default on)",
        "model",
        for_files=True,
    ),
    Setting(
        "run-top-level",
        boolean,
        False,
        "run the model file's whole top-level code (training, downloads, plots) instead of only its definitions"
        " and what the model needs",
        "model",
        for_files=True,
    ),
    Setting(
        "device",
        choice("auto", "meta", "cpu"),
        "auto",
        "where to trace: auto (default) uses meta for models of 10M+ parameters, real CPU tensors below",
        "model",
        "auto|meta|cpu",
        for_files=True,
    ),
    Setting("timeout", positive_number, 60.0, "seconds per model (default 60)", "limits", "SECONDS", for_files=True),
    Setting(
        "max-memory", parse_size, 4 << 30, "memory per model, e.g. 4GiB (default)", "limits", "SIZE", for_files=True
    ),
)
PRESET_KEYS = ("extends", "description", "assignment", "rules")  # a preset's own keys, besides its settings


# -- where a value came from ----------------------------------------------------------------------


def toml_value(value: object) -> str:
    """A value as it is written in pyproject.toml."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + "}"
    return str(value)


@dataclass(frozen=True)
class Source:
    """Where some values came from, so that an error can say it."""

    kind: str  # "flag", "file", "argument" or "preset"
    place: str = ""  # the file and table ("pyproject.toml [tool.archcheck]"), or the function ("archcheck.check")

    def where(self, setting: Setting, value: object) -> str:
        if self.kind == "flag":
            if isinstance(value, bool):
                return setting.flag if value else f"--no-{setting.key}"
            return f"{setting.flag} {setting.show(value)}"
        if self.kind == "argument":
            return f"{self.place}({setting.field}={value!r})"
        return f"{setting.key} = {toml_value(value)} in {self.place}"


FLAGS = Source("flag")


def parse_values(source: Source, given: Mapping[str, object]) -> dict[str, Any]:
    """Validate values keyed by setting key (or Python name); the result is keyed by field."""
    parsed = {}
    for key, value in given.items():
        setting = SETTINGS.get(key.replace("_", "-"))
        if setting is None:
            known = [s.key if source.kind != "argument" else s.field for s in SETTINGS.values()]
            raise BadSetting(
                f"{source.place or 'archcheck'}",
                f"unknown setting {key!r}{_did_you_mean(key, known)} (settings: {', '.join(known)})",
            )
        try:
            parsed[setting.field] = setting.parse(value)
        except ValueError as error:
            raise BadSetting(source.where(setting, value), str(error)) from None
    return parsed


@dataclass(frozen=True)
class Given:
    """Validated values from one source, keyed by field."""

    source: Source
    values: dict[str, Any]

    @classmethod
    def parse(cls, source: Source, raw: Mapping[str, object]) -> Given:
        return cls(source, parse_values(source, raw))


# -- presets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """An assignment's rules and their options, after ``extends`` is followed."""

    name: str
    description: str
    assignment: str
    rules: tuple[str, ...]
    values: dict[str, Any]  # preset-level settings, by field
    origin: str  # "built in", or the file and table that defines it


def _preset_source(preset_name: str, origin: Path | None) -> Source:
    if origin is None:
        return Source("preset", f"the built-in preset {preset_name!r}")
    return Source("file", f"{origin} [tool.archcheck.presets.{preset_name}]")


def resolve_presets(tables: Mapping[str, object], origin: Path | None, base: Mapping[str, Preset]) -> dict[str, Preset]:
    """``base`` and the presets of ``tables`` (``origin``'s ``[tool.archcheck.presets]``, or the built-in ones).

    A preset starts from the one it ``extends`` (in ``base`` or in ``tables``); a
    preset of a file extends ``mnist`` when it names none.
    """
    resolved = dict(base)

    def resolve(preset_name: str, chain: tuple[str, ...]) -> Preset:
        if preset_name in resolved:
            return resolved[preset_name]
        source = _preset_source(preset_name, origin)
        if preset_name in chain:
            cycle = " -> ".join([*chain[chain.index(preset_name) :], preset_name])
            raise BadSetting(source.place, f"presets extend each other in a circle: {cycle}")
        table = tables[preset_name]
        if not isinstance(table, Mapping):
            raise BadSetting(source.place, "expected a table of settings")
        parent_name = table.get("extends", DEFAULT_PRESET if origin is not None else None)
        if parent_name is None:
            parent = None
        elif parent_name in resolved or parent_name in tables:
            parent = resolve(parent_name, (*chain, preset_name))
        else:
            known = sorted({*resolved, *tables} - {preset_name})
            raise BadSetting(
                f"extends = {toml_value(parent_name)} in {source.place}",
                f"unknown preset{_did_you_mean(str(parent_name), known)} (presets: {', '.join(known)})",
            )
        resolved[preset_name] = _preset(preset_name, table, source, parent)
        return resolved[preset_name]

    for preset_name in tables:
        if preset_name in base:
            raise BadSetting(
                _preset_source(preset_name, origin).place,
                f"{preset_name!r} is a built-in preset: give yours another name (it can extend = {preset_name!r})",
            )
        resolve(preset_name, ())
    return resolved


def _preset(preset_name: str, table: Mapping[str, Any], source: Source, parent: Preset | None) -> Preset:
    allowed = [*PRESET_KEYS, *(s.key for s in SETTINGS.values() if s.in_preset)]
    for key in table:
        if key.replace("_", "-") not in allowed:
            raise BadSetting(
                source.place,
                f"unknown preset key {key!r}{_did_you_mean(key, allowed)} (a preset sets {', '.join(allowed)})",
            )
    settings = {key: value for key, value in table.items() if key not in PRESET_KEYS}
    values = {**(parent.values if parent else {}), **parse_values(source, settings)}
    texts = {
        "description": f"{parent.name} with changes" if parent else "",
        "assignment": parent.assignment if parent else "",
    }
    for key in ("description", "assignment"):
        text = table.get(key, texts[key])
        if not isinstance(text, str):
            raise BadSetting(f"{key} = {toml_value(text)} in {source.place}", "expected a string")
        texts[key] = text
    if "rules" in table:
        # The built-in presets are checked against the rule registry by a test, and when one is chosen.
        check = parse_rule_ids if source.kind == "file" else _rule_list
        try:
            rules = check(table["rules"])
        except ValueError as error:
            raise BadSetting(f"rules = {toml_value(table['rules'])} in {source.place}", str(error)) from None
    elif parent is not None:
        rules = parent.rules
    else:
        raise BadSetting(source.place, "a preset that extends none needs rules = [...]")
    return Preset(preset_name, texts["description"], texts["assignment"], rules, values, source.place)


PRESETS: dict[str, Preset] = resolve_presets(BUILTIN_PRESETS, None, {})


# -- pyproject.toml -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigFile:
    """The ``[tool.archcheck]`` table of a file: its settings and the presets it defines."""

    path: Path
    given: Given
    presets: dict[str, Preset]


def find_pyproject(model_file: Path) -> Path | None:
    for directory in model_file.resolve().parents:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_config(path: Path) -> ConfigFile:
    """Read and validate ``[tool.archcheck]`` of ``path``; raises ``BadSetting``."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("archcheck", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise BadSetting(str(path), f"cannot read it: {error}") from None
    place = f"{path} [tool.archcheck]"
    if not isinstance(table, dict):
        raise BadSetting(place, "expected a table")
    values = {key: value for key, value in table.items() if key != "presets"}
    presets = table.get("presets", {})
    if not isinstance(presets, dict):
        raise BadSetting(f"presets in {place}", "expected tables like [tool.archcheck.presets.NAME]")
    return ConfigFile(path, Given.parse(Source("file", place), values), resolve_presets(presets, path, PRESETS))


# -- the resolved settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Everything that decides how a model is checked, every value resolved."""

    preset: str
    config: str | None  # the config file applied, None for none
    rules: tuple[str, ...]  # the rules to run: the preset's, less those ignored
    ignored: tuple[str, ...]  # the preset's rules that the settings switched off
    max_params: int | None
    num_classes: int | None
    min_receptive_field: int | None
    strict_fc: bool
    fc_after_gap: bool
    ignore: tuple[str, ...]
    input_shape: tuple[int, ...]
    batch_size: int
    model_kwargs: dict[str, Any]
    stub_imports: bool
    run_top_level: bool
    device: str
    timeout: float
    max_memory: int

    def rule_options(self) -> Options:
        """What the rules read.  A rule that is off may find 0 in its option: it does not run."""
        return Options(
            max_params=self.max_params or 0,
            strict_fc=self.strict_fc,
            num_classes=self.num_classes or 0,
            min_receptive_field=self.min_receptive_field or 0,
            fc_after_gap=self.fc_after_gap,
        )

    def request(self, path: str, shown_path: str = "", name: str | None = None) -> Request:
        """What the process that runs the model needs to know."""
        from archcheck.protocol import Request

        return Request(
            path=path,
            name=name,
            shown_path=shown_path,
            input_shape=self.input_shape,
            batch_size=self.batch_size,
            model_kwargs=self.model_kwargs,
            stub_imports=self.stub_imports,
            run_top_level=self.run_top_level,
            device=self.device,
            memory_label=format_size(self.max_memory),
        )

    def limits(self, threads: int) -> Limits:
        from archcheck.runner import Limits

        return Limits(timeout=self.timeout, max_memory=self.max_memory, threads=threads)


def resolve(config: ConfigFile | None, *given: Given) -> Settings:
    """The settings for one model: defaults, the preset, the config file, then ``given`` in order.

    Raises ``BadSetting`` for a preset that does not exist and for values that
    do not fit the preset (an input shape of another rank, a rule option missing).
    """
    layers = ([config.given] if config else []) + list(given)
    presets = config.presets if config else PRESETS
    chosen, chosen_from = DEFAULT_PRESET, None
    for layer in layers:
        if "preset" in layer.values:
            chosen, chosen_from = layer.values["preset"], layer.source
    if chosen not in presets:
        where = chosen_from.where(SETTINGS["preset"], chosen) if chosen_from else "preset"
        raise BadSetting(where, f"unknown preset{_did_you_mean(chosen, list(presets))} (presets: {', '.join(presets)})")
    preset = presets[chosen]
    unregistered = [rule for rule in preset.rules if rule not in RULE_IDS]
    if unregistered:
        raise BadSetting(preset.origin, f"rule {', '.join(unregistered)} is not registered in archcheck.rules")
    values = {setting.field: setting.default for setting in SETTINGS.values()}
    values.update(preset.values)
    origins: dict[str, tuple[Source, Any]] = {}
    for layer in layers:
        values.update(layer.values)
        origins.update({field: (layer.source, value) for field, value in layer.values.items()})
    _check_against_preset(preset, values, origins)
    values["preset"] = chosen
    ignored = tuple(rule for rule in preset.rules if rule in values["ignore"])
    return Settings(
        config=str(config.path) if config else None,
        rules=tuple(rule for rule in preset.rules if rule not in ignored),
        ignored=ignored,
        **values,
    )


def _check_against_preset(preset: Preset, values: dict[str, Any], origins: dict[str, tuple[Source, Any]]) -> None:
    shape = values["input_shape"]
    expected = preset.values.get("input_shape")
    if expected is not None and "input_shape" in origins and len(shape) != len(expected):
        source, value = origins["input_shape"]
        form = "C,H,W" if len(expected) == 3 else ",".join(["N"] * len(expected))
        raise BadSetting(
            source.where(SETTINGS["input-shape"], value),
            f"the {preset.name} preset takes {len(expected)} numbers, {form} like"
            f" {SETTINGS['input-shape'].show(expected)} (without the batch)",
        )
    for setting in SETTINGS.values():
        if (
            setting.needed_by in preset.rules
            and setting.needed_by not in values["ignore"]
            and values[setting.field] is None
        ):
            raise BadSetting(preset.origin, f"rule {setting.needed_by} is enabled but no {setting.key} is set")
