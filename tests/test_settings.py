"""One settings table for every source: flags, [tool.archcheck], the Python API, the pytest plugin.

A bad value reads the same from every source: one line naming the setting,
where it came from and what is allowed.  Presets are data, extend each other,
and users add their own in pyproject.toml.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from helpers import PASSING_MODEL

from archcheck import errors
from archcheck.api import Job, Refused, check_file, plan
from archcheck.arguments import build_parser, parse_arguments
from archcheck.config import (
    PRESETS,
    SETTINGS,
    Given,
    Settings,
    Source,
    read_config,
    resolve,
)
from archcheck.presets import BUILTIN_PRESETS
from archcheck.rules import RULE_IDS, Options


def planned(tmp_path: Path, table: str, *flags: str) -> Job | Refused:
    """What a model file beside a pyproject.toml holding ``table`` becomes with ``flags``."""
    (tmp_path / "pyproject.toml").write_text(f"[tool.archcheck]\n{table}\n")
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    namespace = parse_arguments([str(tmp_path / "model.py"), *flags])
    (job,) = plan(namespace.targets, [namespace.given])
    return job


def settings_for(tmp_path: Path, table: str = "", *flags: str) -> Settings:
    job = planned(tmp_path, table, *flags)
    assert isinstance(job, Job), job.error.reason
    return job.settings


def config_error(tmp_path: Path, table: str, *flags: str) -> str:
    """The one line a bad setting gets: raised for a flag, the model's error for the rest."""
    try:
        job = planned(tmp_path, table, *flags)
    except errors.BadSetting as error:
        return str(error)
    assert isinstance(job, Refused) and job.error.phase == "config", job
    return job.error.reason


# -- the table ------------------------------------------------------------------------------------


def test_every_setting_is_a_flag_a_key_and_an_argument() -> None:
    parser_flags = {flag for action in build_parser()._actions for flag in action.option_strings}
    for setting in SETTINGS.values():
        assert setting.help, setting.key
        assert setting.flag in parser_flags, setting.key
        if setting.is_switch:
            assert f"--no-{setting.key}" in parser_flags, setting.key
    assert {field.name for field in dataclasses.fields(Settings)} == {
        *(setting.field for setting in SETTINGS.values()),
        "config",
        "rules",
        "ignored",
    }


def test_rule_options_carry_every_field_the_rules_read(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "preset = 'cifar10'", "--max-params", "1000", "--strict-fc")
    assert settings.rule_options() == Options(
        max_params=1000, strict_fc=True, num_classes=10, min_receptive_field=44, fc_after_gap=True
    )


def test_request_and_limits_take_their_values_from_the_settings(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path,
        "timeout = 12\nmax-memory = '512M'",
        "--batch-size",
        "4",
        "--input-shape",
        "1,32,32",
        "--stub-imports",
        "--device",
        "meta",
        "--model-kwargs",
        '{"width": 3}',
    )
    request = settings.request(path="/abs/model.py", shown_path="model.py", name="Net")
    assert (request.input_shape, request.batch_size, request.stub_imports, request.device) == (
        (1, 32, 32),
        4,
        True,
        "meta",
    )
    assert request.model_kwargs == {"width": 3} and request.memory_label == "512 MiB"
    limits = settings.limits(threads=3)
    assert (limits.timeout, limits.max_memory, limits.threads) == (12.0, 512 << 20, 3)


def test_sources_override_in_order(tmp_path: Path) -> None:
    assert settings_for(tmp_path).max_params == 20_000, "the preset's"
    assert settings_for(tmp_path, "max-params = 500").max_params == 500, "the file beats the preset"
    assert settings_for(tmp_path, "max-params = 500", "--max-params", "600").max_params == 600, "a flag beats the file"
    assert settings_for(tmp_path, "strict-fc = true", "--no-strict-fc").strict_fc is False
    assert settings_for(tmp_path, "preset = 'mnist-8k'", "--ignore", "gap", "--ignore", "dropout,batchnorm").ignore == (
        "gap",
        "dropout",
        "batchnorm",
    )


# -- one error for a bad value, whatever its source ----------------------------------------------

BAD_VALUES = [
    # setting, TOML text, flag text, Python value, what the problem says
    ("max-params", "0", "0", 0, "expected a whole number above 0"),
    ("max-params", "true", "ten", True, "expected a whole number above 0"),
    ("num-classes", "-3", "-3", -3, "expected a whole number above 0"),
    ("min-receptive-field", "'44px'", "44px", "44px", "expected a whole number above 0"),
    ("batch-size", "0", "0", 0, "expected a whole number above 0"),
    ("timeout", "-1", "-1", -1, "expected a number above 0"),
    ("timeout", "'nan'", "inf", float("nan"), "expected a number above 0"),
    ("max-memory", "'lots'", "lots", "lots", "expected a size like 4GiB, 512M or 2G"),
    ("input-shape", "'1,x'", "1,x", "1,x", "expected positive whole numbers like 1,28,28"),
    ("input-shape", "[1, 0, 28]", "0,28,28", (1, 0, 28), "expected positive whole numbers like 1,28,28"),
    ("ignore", "['fc']", "fc", ["fc"], "unknown rule fc"),
    ("device", "'gpu'", "gpu", "gpu", "expected one of auto, meta, cpu"),
    ("model-kwargs", "'{oops'", "{oops", "[1]", "expected a JSON object"),
]


@pytest.mark.parametrize(("key", "toml", "flag", "python", "problem"), BAD_VALUES)
def test_a_bad_value_from_pyproject_names_the_file_key_and_what_is_allowed(
    tmp_path: Path, key: str, toml: str, flag: str, python: object, problem: str
) -> None:
    message = config_error(tmp_path, f"{key} = {toml}")
    assert message.startswith(f"{key} = "), message
    assert f" in {tmp_path / 'pyproject.toml'} [tool.archcheck]: " in message
    assert problem in message and "\n" not in message


@pytest.mark.parametrize(("key", "toml", "flag", "python", "problem"), BAD_VALUES)
def test_a_bad_flag_names_the_flag_and_what_is_allowed(
    key: str, toml: str, flag: str, python: object, problem: str
) -> None:
    with pytest.raises(errors.BadSetting) as caught:
        parse_arguments(["model.py", f"--{key}", flag])
    assert str(caught.value).startswith(f"--{key} {flag}: ") and problem in str(caught.value)


@pytest.mark.parametrize(("key", "toml", "flag", "python", "problem"), BAD_VALUES)
def test_a_bad_argument_names_the_argument_and_what_is_allowed(
    tmp_path: Path, key: str, toml: str, flag: str, python: object, problem: str
) -> None:
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    field = key.replace("-", "_")
    with pytest.raises(errors.BadSetting) as caught:
        check_file(str(tmp_path / "model.py"), isolate=False, **{field: python})
    assert str(caught.value).startswith(f"archcheck.check_file({field}={python!r}): ")
    assert problem in str(caught.value)


def test_strict_fc_as_the_string_false_is_refused_not_read_as_true(tmp_path: Path) -> None:
    message = config_error(tmp_path, 'strict-fc = "false"')
    assert (
        message
        == f'strict-fc = "false" in {tmp_path / "pyproject.toml"} [tool.archcheck]: expected true or false (without quotes)'
    )


def test_an_unknown_key_suggests_the_setting_meant(tmp_path: Path) -> None:
    message = config_error(tmp_path, "max_param = 5")
    assert message.startswith(
        f"{tmp_path / 'pyproject.toml'} [tool.archcheck]: unknown setting 'max_param'; did you mean 'max-params'?"
    )


def test_a_bad_config_is_the_models_error_in_its_report(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.archcheck]\ntimeout = -1\n")
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    report = check_file(str(tmp_path / "model.py"), isolate=False)
    assert report.error is not None and report.error.phase == "config" and report.exit_code == 2
    assert (
        report.error.reason
        == f"timeout = -1 in {tmp_path / 'pyproject.toml'} [tool.archcheck]: expected a number above 0"
    )


def test_an_unreadable_config_is_named(tmp_path: Path) -> None:
    message = config_error(tmp_path, "max-params = [")
    assert message.startswith(f"{tmp_path / 'pyproject.toml'}: cannot read it: ")


def test_check_refuses_an_unknown_preset_in_one_line() -> None:
    torch = pytest.importorskip("torch")
    import archcheck

    with pytest.raises(errors.BadSetting) as caught:
        archcheck.check(torch.nn.Conv2d(1, 10, 1), preset="nope")
    assert str(caught.value) == "archcheck.check(preset='nope'): unknown preset (presets: mnist, mnist-8k, cifar10)"
    with pytest.raises(errors.BadSetting, match=r"archcheck.check\(timeout=5\): applies to model files only"):
        archcheck.check(torch.nn.Conv2d(1, 10, 1), timeout=5)
    with pytest.raises(errors.BadSetting, match=r"unknown setting 'max_param'; did you mean 'max_params'\?"):
        archcheck.check(torch.nn.Conv2d(1, 10, 1), max_param=5)


def test_a_flag_preset_that_does_not_exist_is_named_with_the_choices(tmp_path: Path) -> None:
    assert config_error(tmp_path, "", "--preset", "cifar") == (
        "--preset cifar: unknown preset; did you mean 'cifar10'? (presets: mnist, mnist-8k, cifar10)"
    )


@pytest.mark.parametrize(
    ("flags", "table", "message"),
    [
        (["--input-shape", "28,28"], "", "--input-shape 28,28: the mnist preset takes 3 numbers, C,H,W like 1,28,28"),
        (
            ["--input-shape", "1,28"],
            "preset = 'cifar10'",
            "--input-shape 1,28: the cifar10 preset takes 3 numbers, C,H,W like 3,32,32",
        ),
        ([], "input-shape = [28, 28]", "input-shape = [28, 28] in "),
    ],
)
def test_an_input_shape_of_the_wrong_rank_says_the_form_expected(
    tmp_path: Path, flags: list[str], table: str, message: str
) -> None:
    assert config_error(tmp_path, table, *flags).startswith(message)


# -- presets ----------------------------------------------------------------------------------------


def test_every_preset_enables_only_registered_rules() -> None:
    for preset in PRESETS.values():
        unregistered = set(preset.rules) - set(RULE_IDS)
        assert not unregistered, (
            f"preset {preset.name} names rules that archcheck.rules does not register: {unregistered}"
        )


def test_every_builtin_preset_sets_what_its_rules_need() -> None:
    for name in BUILTIN_PRESETS:
        settings = resolve(None, Given(Source("argument", "test"), {"preset": name}))
        assert settings.input_shape and settings.rules == PRESETS[name].rules
        assert PRESETS[name].assignment and PRESETS[name].description


def test_the_builtin_presets_encode_their_assignments() -> None:
    mnist, small, cifar = PRESETS["mnist"], PRESETS["mnist-8k"], PRESETS["cifar10"]
    assert mnist.rules == ("max-params", "batchnorm", "dropout", "gap", "no-linear", "num-classes")
    assert mnist.values == {"input_shape": (1, 28, 28), "max_params": 20_000, "num_classes": 10}
    assert small.rules == mnist.rules and small.values == {**mnist.values, "max_params": 8_000}
    assert set(cifar.rules) == {
        "max-params",
        "no-maxpool",
        "depthwise-separable",
        "dilated-conv",
        "receptive-field",
        "gap",
        "no-linear",
        "num-classes",
    }
    assert cifar.values == {
        "input_shape": (3, 32, 32),
        "max_params": 200_000,
        "num_classes": 10,
        "min_receptive_field": 44,
        "fc_after_gap": True,
    }


def test_a_users_preset_extends_a_builtin_one_and_is_picked_by_name(tmp_path: Path) -> None:
    table = "[tool.archcheck.presets.small-cifar]\nextends = 'cifar10'\nmax-params = 100000\n"
    by_flag = settings_for(tmp_path, table, "--preset", "small-cifar")
    assert (by_flag.preset, by_flag.max_params, by_flag.input_shape) == ("small-cifar", 100_000, (3, 32, 32))
    assert by_flag.rules == PRESETS["cifar10"].rules and by_flag.fc_after_gap
    by_key = settings_for(tmp_path, "preset = 'small-cifar'\n" + table)
    assert by_key == by_flag


def test_a_users_preset_extends_mnist_by_default_and_another_users_preset(tmp_path: Path) -> None:
    tables = (
        "preset = 'tiny'\n"
        "[tool.archcheck.presets.tiny]\nextends = 'lenient'\nmax-params = 5000\n"
        "[tool.archcheck.presets.lenient]\nrules = ['max-params', 'gap']\nmax-params = 50000\n"
    )
    settings = settings_for(tmp_path, tables)
    assert (settings.rules, settings.max_params, settings.input_shape) == (("max-params", "gap"), 5000, (1, 28, 28))


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        (
            "[tool.archcheck.presets.a]\nextends = 'cifar'\n",
            "extends = \"cifar\" in {file} [tool.archcheck.presets.a]: unknown preset; did you mean 'cifar10'?",
        ),
        (
            "[tool.archcheck.presets.a]\nextends = 'b'\n[tool.archcheck.presets.b]\nextends = 'a'\n",
            "presets extend each other in a circle: a -> b -> a",
        ),
        ("[tool.archcheck.presets.mnist]\nmax-params = 5\n", "'mnist' is a built-in preset: give yours another name"),
        (
            "[tool.archcheck.presets.a]\ntimeout = 5\n",
            "unknown preset key 'timeout' (a preset sets extends, description",
        ),
        (
            "[tool.archcheck.presets.a]\nrules = ['fc']\n",
            'rules = ["fc"] in {file} [tool.archcheck.presets.a]: unknown rule fc',
        ),
        (
            "[tool.archcheck.presets.a]\nmax-params = 0\n",
            "max-params = 0 in {file} [tool.archcheck.presets.a]: expected a whole number above 0",
        ),
        (
            "[tool.archcheck.presets.a]\nrules = ['receptive-field']\n",
            "[tool.archcheck.presets.a]: rule receptive-field is enabled but no min-receptive-field is set",
        ),
    ],
)
def test_a_bad_preset_is_named_with_its_file_and_table(tmp_path: Path, tables: str, message: str) -> None:
    found = config_error(tmp_path, "preset = 'a'\n" + tables)
    assert message.format(file=tmp_path / "pyproject.toml") in found, found


def test_presets_are_read_from_the_named_config_file(tmp_path: Path) -> None:
    (tmp_path / "course.toml").write_text("[tool.archcheck.presets.hw2]\nextends = 'mnist-8k'\nmax-params = 7000\n")
    config = read_config(tmp_path / "course.toml")
    settings = resolve(config, Given(Source("flag"), {"preset": "hw2"}))
    assert settings.max_params == 7000 and settings.config == str(tmp_path / "course.toml")


# -- what the report says about the settings ---------------------------------------------------------


def test_the_report_names_the_preset_the_config_and_the_rules_switched_off(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.archcheck]\npreset = "mnist-8k"\nignore = ["dropout"]\n')
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    report = check_file(str(tmp_path / "model.py"), ["--ignore", "gap"], isolate=False)
    assert (report.preset, report.config, report.ignored) == ("mnist-8k", str(tmp_path / "pyproject.toml"), ["gap"])
    plain = check_file(str(tmp_path / "model.py"), ["--no-config"], isolate=False)
    assert (plain.preset, plain.config, plain.ignored) == ("mnist", None, [])


def test_plan_keeps_refused_targets_in_order(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(PASSING_MODEL)
    jobs = plan([str(tmp_path / "missing.py"), str(tmp_path / "model.py"), "x.py::1bad"], search=False)
    assert [type(job) for job in jobs] == [Refused, Job, Refused]
    assert jobs[0].error.phase == "load" and "no such file" in jobs[0].error.reason
