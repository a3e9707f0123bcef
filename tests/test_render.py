"""The output formats, rendered from hand-built reports."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from archcheck.records import ParamCount
from archcheck.render import FORMATS, render
from archcheck.report import CheckError, Finding, Layer, Report, RuleResult

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a clean directory, with no CI or colour settings leaking in from outside."""
    for name in (
        "GITHUB_WORKSPACE",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_OUTPUT",
        "NO_COLOR",
        "FORCE_COLOR",
        "TTY_COMPATIBLE",
        "COLUMNS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def passing(root: Path) -> Report:
    return Report(
        path=str(root / "models" / "net.py"),
        model="Net",
        device="meta",
        input_shape=(1, 1, 28, 28),
        params=ParamCount(total=5226, trainable=5194, frozen=32),
        layers=[
            Layer("", "Net", 0, (1, 10), 0, True),
            Layer("features", "Sequential", 1, (1, 10, 1, 1), 0, True),
            Layer("features.0", "Conv2d", 2, (1, 16, 28, 28), 160, True),
            Layer("features.1", "BatchNorm2d", 2, (1, 16, 28, 28), 32, True),
            Layer("spare", "Linear", 1, None, 330, False),
        ],
        rules=[
            RuleResult("max-params", "Parameter budget", True, "5,226 of 20,000 parameters", "5,226"),
            RuleResult("batchnorm", "Batch normalisation", True, "2 BatchNorm layers ran", "2 executed"),
            RuleResult("no-linear", "No fully connected layer", True, "no Linear layer ran", "0 executed"),
        ],
        output="epoch 0: hello from the model\n",
    )


def failing(root: Path) -> Report:
    """A failing report whose text needs escaping in every format."""
    path = str(root / "models" / "bad, v2.py")
    return Report(
        path=path,
        model="Bad",
        device="cpu",
        device_note="meta tensors unsupported: .item() called",
        input_shape=(1, 1, 28, 28),
        params=ParamCount(total=30000, trainable=30000, frozen=0),
        rules=[
            RuleResult(
                "max-params", "Parameter budget", False, "30,000 > 20,000 parameters (150%: too many)", "30,000"
            ),
            RuleResult("batchnorm", "Batch normalisation", True, "1 BatchNorm layer ran", "1 executed"),
            RuleResult(
                "no-linear",
                "No fully connected layer",
                False,
                "2 Linear layers ran",
                "2 executed",
                [
                    Finding("fc maps 32 → 10: 100% dense,\nnot allowed", "fc", path, 12),
                    Finding("head | uses *F.linear*", "head.1", None, None),
                ],
            ),
        ],
    )


def broken(root: Path) -> Report:
    return Report(
        path=str(root / "models" / "broken.py"),
        error=CheckError(
            "import",
            "SyntaxError: invalid syntax\n(broken.py, line 3)",
            'Traceback (most recent call last):\n  File "broken.py", line 3\nSyntaxError',
        ),
        output="::error::printed by the model\n",
    )


def rendered(
    reports: list[Report], fmt: str, *, verbose: bool = False, out: io.StringIO | None = None
) -> tuple[str, str]:
    out = out or io.StringIO()
    err = io.StringIO()
    render(reports, fmt, out, err, verbose=verbose)
    return out.getvalue(), err.getvalue()


def lines_of(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def line_with(text: str, needle: str) -> str:
    matches = [line for line in lines_of(text) if needle in line]
    assert len(matches) == 1, f"{needle!r} in {len(matches)} lines of:\n{text}"
    return matches[0]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# --- dispatch -----------------------------------------------------------------


def test_unknown_format_is_refused(workspace: Path) -> None:
    with pytest.raises(ValueError, match="yaml"):
        rendered([passing(workspace)], "yaml")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_every_kind_of_report(workspace: Path, fmt: str) -> None:
    for reports in (
        [passing(workspace)],
        [failing(workspace)],
        [broken(workspace)],
        [passing(workspace), failing(workspace), broken(workspace)],
    ):
        out, err = rendered(reports, fmt, verbose=True)
        assert out or err


def test_importing_render_loads_neither_torch_nor_rich() -> None:
    code = "import sys, archcheck.render; print(sorted({'torch', 'rich'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- text ---------------------------------------------------------------------


def test_text_shows_header_layers_totals_rules_and_verdict(workspace: Path) -> None:
    out, err = rendered([passing(workspace)], "text")
    assert err == ""
    assert not ANSI.search(out), "no colour codes when the output is not a terminal"
    lines = lines_of(out)
    assert lines[0].split() == ["Net", "(models/net.py)"]
    assert "Traced on meta with input shape [1, 1, 28, 28]" in lines[1]
    assert line_with(out, "features.0").split() == ["features.0", "Conv2d", "[1,", "16,", "28,", "28]", "160"]
    assert line_with(out, "BatchNorm2d").split()[-1] == "32"
    assert line_with(out, "Total params").endswith("5,226")
    assert line_with(out, "Trainable params").endswith("5,194")
    assert line_with(out, "Frozen params").endswith("32")
    assert line_with(out, "max-params").split()[:2] == ["✓", "max-params"]
    assert "5,226 of 20,000 parameters" in line_with(out, "max-params")
    assert lines[-1] == "PASSED: all 3 rules pass"


def test_text_indents_layers_by_depth_and_marks_unused_ones(workspace: Path) -> None:
    out, _ = rendered([passing(workspace)], "text")

    def indent(needle: str) -> int:
        line = line_with(out, needle)
        return len(line) - len(line.lstrip())

    assert indent("(model)") < indent("features ") < indent("features.0")
    assert "never called" in line_with(out, "spare")


def test_text_dims_unused_layers_on_a_terminal(workspace: Path) -> None:
    out, _ = rendered([passing(workspace)], "text", out=Terminal())
    assert "\x1b[2m" in line_with(out, "spare")
    assert "\x1b[2m" not in line_with(out, "features.0")


def test_text_respects_no_color(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    colour = re.compile(r"\x1b\[[0-9;]*3[0-9]m")
    assert colour.search(rendered([failing(workspace)], "text", out=Terminal())[0])
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour.search(rendered([failing(workspace)], "text", out=Terminal())[0])


def test_text_lists_findings_under_the_failing_rule(workspace: Path) -> None:
    out, _ = rendered([failing(workspace)], "text")
    lines = lines_of(out)
    rule_line = next(i for i, line in enumerate(lines) if line.split()[:2] == ["✗", "no-linear"])
    findings = " ".join(line.strip() for line in lines[rule_line + 1 : rule_line + 4])
    assert (
        findings == "models/bad, v2.py:12  fc  fc maps 32 → 10: 100% dense, not allowed head.1  head | uses *F.linear*"
    )
    assert line_with(out, "batchnorm").split()[0] == "✓"
    assert "(meta tensors unsupported: .item() called)" in lines[1]
    assert lines[-1] == "FAILED: 2 of 3 rules fail: max-params, no-linear"


def test_text_verdict_grammar_for_a_single_rule(workspace: Path) -> None:
    report = failing(workspace)
    report.rules = report.rules[:1]
    assert lines_of(rendered([report], "text")[0])[-1] == "FAILED: 1 of 1 rule fails: max-params"
    report.rules[0].passed = True
    assert lines_of(rendered([report], "text")[0])[-1] == "PASSED: 1 rule passes"


def test_text_error_is_one_line_on_err(workspace: Path) -> None:
    out, err = rendered([broken(workspace)], "text")
    assert out == ""
    assert err == "archcheck: cannot check models/broken.py: SyntaxError: invalid syntax (broken.py, line 3)\n"


def test_text_error_verbose_adds_traceback_and_output(workspace: Path) -> None:
    _, err = rendered([broken(workspace)], "text", verbose=True)
    lines = err.splitlines()
    assert lines[0].startswith("archcheck: cannot check models/broken.py: ")
    assert lines[1:3] == ["--- details ---", "Traceback (most recent call last):"]
    assert lines[-2:] == ["--- output of the model's code ---", "::error::printed by the model"]


def test_text_verbose_shows_the_model_output_before_the_tables(workspace: Path) -> None:
    assert "hello from the model" not in rendered([passing(workspace)], "text")[0]
    out, _ = rendered([passing(workspace)], "text", verbose=True)
    assert out.index("epoch 0: hello from the model") < out.index("features.0")


def test_text_several_reports_make_one_table(workspace: Path) -> None:
    out, err = rendered([passing(workspace), failing(workspace), broken(workspace)], "text")
    assert err == ""
    header = line_with(out, "Submission").split()
    assert header == ["Submission", "Verdict", "Params", "max-params", "batchnorm", "no-linear", "Reason"]
    assert line_with(out, "models/net.py").split() == ["models/net.py", "passed", "5,226", "✓", "✓", "✓"]
    assert line_with(out, "models/bad, v2.py").split()[2:7] == ["FAILED", "30,000", "✗", "✓", "✗"]
    assert "max-params: 30,000 > 20,000" in line_with(out, "models/bad, v2.py")
    assert line_with(out, "models/broken.py").split()[1:6] == ["error", "-", "-", "-", "SyntaxError:"]
    assert lines_of(out)[-1] == "3 models: 1 passed, 1 failed, 1 error"
    assert "Layer" not in out, "no per-model tables in the class-wide view"


def test_a_model_picked_by_name_points_at_its_file(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A target's label may be `file.py::Name`; annotations and file columns need the file alone."""
    picked = failing(workspace)
    picked.name = "Bad"
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    github, _ = rendered([picked], "github")
    assert github.startswith("::error file=models/bad%2C v2.py,title=archcheck max-params::")
    assert "archcheck models/bad, v2.py (Bad): FAILED" in github
    rows = list(csv.reader(io.StringIO(rendered([picked, passing(workspace)], "csv")[0])))
    assert rows[1][:2] == ["models/bad, v2.py", "Bad"]
    assert "models/bad, v2.py::Bad" in rendered([picked, passing(workspace)], "text")[0]
    suite = ET.fromstring(rendered([picked], "junit")[0]).find("testsuite")
    assert suite is not None and suite.get("name") == "archcheck: models/bad, v2.py::Bad"
    assert {case.get("classname") for case in suite} == {"archcheck.bad, v2"}


# --- json ---------------------------------------------------------------------


def test_json_one_report_round_trips(workspace: Path) -> None:
    for report in (passing(workspace), failing(workspace), broken(workspace)):
        out, _ = rendered([report], "json")
        assert out.endswith("}\n") and out.startswith("{\n  ")
        data = json.loads(out)
        assert data["status"] == report.status and data["exit_code"] == report.exit_code
        report.output = ""  # not part of the schema
        assert Report.from_dict(data) == report


def test_json_several_reports_are_wrapped_with_a_summary(workspace: Path) -> None:
    reports = [passing(workspace), failing(workspace), broken(workspace)]
    data = json.loads(rendered(reports, "json")[0])
    assert data["schema_version"] == 1
    assert data["summary"] == {"passed": 1, "failed": 1, "errors": 1}
    assert [Report.from_dict(item).path for item in data["reports"]] == [report.path for report in reports]
    assert [item["file"] for item in data["reports"]] == [report.label for report in reports]


# --- github -------------------------------------------------------------------


def test_github_annotations_are_escaped_exactly(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    monkeypatch.chdir("/")
    out, _ = rendered([failing(workspace)], "github")
    assert [line for line in out.splitlines() if line.startswith("::")] == [
        "::error file=models/bad%2C v2.py,title=archcheck max-params::30,000 > 20,000 parameters (150%25: too many)",
        "::error file=models/bad%2C v2.py,line=12,title=archcheck no-linear::"
        "fc maps 32 → 10: 100%25 dense,%0Anot allowed",
        "::error file=models/bad%2C v2.py,title=archcheck no-linear::head | uses *F.linear*",
    ]


def test_github_escapes_property_values(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    report = failing(workspace)
    report.rules = [RuleResult("odd:id,x", "Odd", False, "100%\r\ndone")]
    report.path = str(workspace / "a:b%c,d.py")
    out, _ = rendered([report], "github")
    assert out.splitlines()[0] == "::error file=a%3Ab%25c%2Cd.py,title=archcheck odd%3Aid%2Cx::100%25%0D%0Adone"


def test_github_passing_and_error_reports(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    out, _ = rendered([passing(workspace), broken(workspace)], "github")
    lines = out.splitlines()
    assert "::notice file=models/net.py,title=archcheck passed::PASSED: all 3 rules pass" in lines
    assert (
        "::error file=models/broken.py,title=archcheck could not check the model::"
        "SyntaxError: invalid syntax%0A(broken.py, line 3)"
    ) in lines


def test_github_job_log_has_readable_verdicts(workspace: Path) -> None:
    out, _ = rendered([failing(workspace)], "github")
    lines = out.splitlines()
    assert "archcheck models/bad, v2.py (Bad): FAILED: 2 of 3 rules fail: max-params, no-linear" in lines
    assert "  ✗ no-linear: 2 Linear layers ran" in lines
    assert "      models/bad, v2.py:12  fc  fc maps 32 → 10: 100% dense, not allowed" in lines


def test_github_paths_default_to_the_current_directory(workspace: Path) -> None:
    out, _ = rendered([passing(workspace)], "github")
    assert out.startswith("::notice file=models/net.py,")


def test_github_verbose_output_cannot_issue_workflow_commands(workspace: Path) -> None:
    out, _ = rendered([broken(workspace)], "github", verbose=True)
    lines = out.splitlines()
    printed = lines.index("::error::printed by the model")
    stop = [line for line in lines[:printed] if line.startswith("::stop-commands::")]
    assert len(stop) == 2, "the traceback and the output are each fenced"
    token = stop[-1].removeprefix("::stop-commands::")
    assert len(token) >= 16 and lines[printed + 1] == f"::{token}::"


def test_github_writes_summary_and_outputs(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary, outputs = workspace / "summary.md", workspace / "output.txt"
    summary.write_text("earlier step\n", encoding="utf-8")
    outputs.write_text("other=1\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    rendered([failing(workspace)], "github")
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n### ❌ archcheck FAILED: 2 of 3 rules fail: max-params, no-linear\n")
    assert outputs.read_text(encoding="utf-8") == "other=1\npassed=false\nparams=30000\nstatus=failed\n"


def test_github_outputs_for_one_passing_and_for_several(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = workspace / "output.txt"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    rendered([passing(workspace)], "github")
    assert outputs.read_text(encoding="utf-8") == "passed=true\nparams=5226\nstatus=passed\n"
    outputs.unlink()
    rendered([passing(workspace), failing(workspace), broken(workspace)], "github")
    assert outputs.read_text(encoding="utf-8") == "passed=false\nparams=30000\nstatus=error\n"
    outputs.unlink()
    rendered([broken(workspace)], "github")
    assert outputs.read_text(encoding="utf-8") == "passed=false\nparams=\nstatus=error\n"


# --- markdown -----------------------------------------------------------------


def cells(row: str) -> list[str]:
    """A Markdown table row's cells, honouring escaped pipes."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row.strip())[1:-1]]


def test_markdown_report(workspace: Path) -> None:
    out, _ = rendered([failing(workspace)], "markdown")
    lines = out.splitlines()
    assert lines[0] == "### ❌ archcheck FAILED: 2 of 3 rules fail: max-params, no-linear"
    assert "30,000 total, 30,000 trainable, 0 frozen" in out
    table = [line for line in lines if line.startswith("|")]
    assert cells(table[0]) == ["Rule", "Result", "Measured", "Message"]
    assert cells(table[2]) == [
        "Parameter budget (max-params)",
        "❌ fail",
        "30,000",
        r"30,000 \> 20,000 parameters (150%: too many)",
    ]
    assert cells(table[3])[1] == "✅ pass"
    assert r"- head.1 — head \| uses \*F.linear\*" in lines


def test_markdown_layers_are_folded(workspace: Path) -> None:
    out, _ = rendered([passing(workspace)], "markdown")
    assert out.startswith("### ✅ archcheck PASSED: all 3 rules pass\n")
    details = out[out.index("<details>") : out.index("</details>")]
    rows = [cells(line) for line in details.splitlines() if line.startswith("|")]
    assert rows[0] == ["Layer", "Type", "Output shape", "Param #"]
    assert ["&nbsp;" * 4 + "features.0", "Conv2d", r"\[1, 16, 28, 28\]", "160"] in rows
    assert ["&nbsp;" * 2 + "spare", "Linear", "*never called*", "330"] in rows


def test_markdown_error_is_a_short_paragraph(workspace: Path) -> None:
    out, _ = rendered([broken(workspace)], "markdown")
    assert out == (
        "### ⚠️ archcheck could not check models/broken.py\n\nSyntaxError: invalid syntax (broken.py, line 3)\n\n"
    )


def test_markdown_several_reports(workspace: Path) -> None:
    out, _ = rendered([passing(workspace), failing(workspace), broken(workspace)], "markdown")
    lines = out.splitlines()
    assert lines[0] == "### ⚠️ archcheck: 3 models: 1 passed, 1 failed, 1 error"
    rows = [cells(line) for line in lines if line.startswith("|")]
    assert rows[0] == ["Submission", "Verdict", "Params", "max-params", "batchnorm", "no-linear", "Reason"]
    assert rows[2] == ["models/net.py", "✅ passed", "5,226", "✓", "✓", "✓", ""]
    assert rows[3][:6] == ["models/bad, v2.py", "❌ FAILED", "30,000", "✗", "✓", "✗"]
    assert rows[4][:6] == ["models/broken.py", "⚠️ error", "", "-", "-", "-"]


# --- junit --------------------------------------------------------------------


def test_junit_counts_and_failures(workspace: Path) -> None:
    out, _ = rendered([passing(workspace), failing(workspace), broken(workspace)], "junit")
    root = ET.fromstring(out)
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "2", "1")
    good, bad, error = root.findall("testsuite")
    assert good.get("name") == "archcheck: models/net.py"
    assert (good.get("tests"), good.get("failures"), good.get("errors")) == ("3", "0", "0")
    assert [case.get("name") for case in bad.findall("testcase")] == ["max-params", "batchnorm", "no-linear"]
    assert {case.get("classname") for case in bad.findall("testcase")} == {"archcheck.bad, v2"}
    failure = bad.find("testcase[@name='no-linear']/failure")
    assert failure is not None and failure.get("message") == "2 Linear layers ran"
    assert "models/bad, v2.py:12  fc  fc maps 32 → 10" in (failure.text or "")
    assert bad.find("testcase[@name='batchnorm']/failure") is None
    case = error.find("testcase")
    assert case is not None and case.get("name") == "load" and case.get("classname") == "archcheck.broken"
    error_element = case.find("error")
    assert error_element is not None and error_element.get("message", "").startswith("SyntaxError")
    assert (error.get("tests"), error.get("errors")) == ("1", "1")


def test_junit_survives_control_characters(workspace: Path) -> None:
    report = broken(workspace)
    report.output = "\x1b[31mred\x1b[0m\x00"
    root = ET.fromstring(rendered([report], "junit")[0])
    assert "red" in (root.findtext("testsuite/system-out") or "")


# --- csv ----------------------------------------------------------------------


def test_csv_for_gradebooks(workspace: Path) -> None:
    out, _ = rendered([passing(workspace), failing(workspace), broken(workspace)], "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["file", "model", "status", "params", "max-params", "batchnorm", "no-linear", "reason"]
    assert rows[1] == ["models/net.py", "Net", "passed", "5226", "pass", "pass", "pass", ""]
    assert rows[2][:7] == ["models/bad, v2.py", "Bad", "failed", "30000", "fail", "pass", "fail"]
    assert rows[2][7] == "max-params: 30,000 > 20,000 parameters (150%: too many); no-linear: 2 Linear layers ran"
    assert rows[3] == [
        "models/broken.py",
        "",
        "error",
        "",
        "",
        "",
        "",
        "SyntaxError: invalid syntax (broken.py, line 3)",
    ]


def test_csv_has_a_column_for_every_rule_seen(workspace: Path) -> None:
    other = passing(workspace)
    other.rules = [RuleResult("gap", "Global average pooling", True, "ok")]
    rows = list(csv.DictReader(io.StringIO(rendered([failing(workspace), other], "csv")[0])))
    assert list(rows[0]) == [
        "file",
        "model",
        "status",
        "params",
        "max-params",
        "batchnorm",
        "no-linear",
        "gap",
        "reason",
    ]
    assert (rows[0]["gap"], rows[1]["gap"], rows[1]["no-linear"]) == ("", "pass", "")


# --- the settings that applied ----------------------------------------------------------------------


def configured(root: Path) -> Report:
    report = passing(root)
    report.preset, report.config, report.ignored = "mnist-8k", str(root / "pyproject.toml"), ["dropout", "gap"]
    return report


def test_every_format_names_the_preset_the_config_and_the_rules_switched_off(workspace: Path) -> None:
    expected = "Preset mnist-8k, config pyproject.toml; switched off: dropout, gap"
    assert lines_of(rendered([configured(workspace)], "text")[0])[1] == expected
    assert expected in rendered([configured(workspace)], "markdown")[0]
    assert f"  {expected}" in lines_of(rendered([configured(workspace)], "github")[0])
    data = json.loads(rendered([configured(workspace)], "json")[0])
    assert (data["preset"], data["config"], data["ignored"]) == (
        "mnist-8k",
        str(workspace / "pyproject.toml"),
        ["dropout", "gap"],
    )
    unconfigured = configured(workspace)
    unconfigured.config, unconfigured.ignored = None, []
    assert lines_of(rendered([unconfigured], "text")[0])[1] == "Preset mnist-8k, no config"


# --- receptive field and MACs ---------------------------------------------------------------------


def measured(root: Path) -> Report:
    """The reference layout: a receptive field, jump and MACs for each layer that has one."""
    report = passing(root)
    report.macs = 1_461_344
    values = {"features.0": (3, 1, 97_344), "features.1": (3, 1, 12_544), "features": (28, 1, 109_888)}
    for layer in report.layers:
        layer.receptive_field, layer.jump, layer.macs = values.get(layer.path, (None, None, None))
    return report


def test_text_shows_receptive_field_jump_and_macs(workspace: Path) -> None:
    out, _ = rendered([measured(workspace)], "text")
    header = line_with(out, "Output shape").split()
    assert header == ["Layer", "Type", "Output", "shape", "Param", "#", "RF", "Jump", "MACs"]
    assert line_with(out, "features.0").split()[-4:] == ["160", "3", "1", "97,344"]
    assert line_with(out, "spare").split()[-2:] == ["called", "330"], "no figures for a layer that never ran"
    assert line_with(out, "MACs per image").endswith("1,461,344")


def test_layer_measures_are_left_out_when_the_trace_has_none(workspace: Path) -> None:
    out, _ = rendered([passing(workspace)], "text")
    assert "RF" not in line_with(out, "Output shape") and "MACs" not in out
    assert "MACs" not in rendered([passing(workspace)], "markdown")[0]


def test_markdown_and_the_job_summary_show_receptive_field_and_macs(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _ = rendered([measured(workspace)], "markdown")
    rows = [cells(line) for line in out.splitlines() if line.startswith("|")]
    layers = rows[rows.index(["Layer", "Type", "Output shape", "Param #", "RF", "Jump", "MACs"]) :]
    assert ["&nbsp;" * 4 + "features.0", "Conv2d", r"\[1, 16, 28, 28\]", "160", "3", "1", "97,344"] in layers
    assert "**MACs per image:** 1,461,344" in out
    summary = workspace / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    rendered([measured(workspace)], "github")
    assert "| RF | Jump | MACs |" in summary.read_text(encoding="utf-8")


def test_json_layers_carry_receptive_field_jump_and_macs(workspace: Path) -> None:
    data = json.loads(rendered([measured(workspace)], "json")[0])
    assert data["macs"] == 1_461_344
    conv = next(layer for layer in data["layers"] if layer["path"] == "features.0")
    assert (conv["receptive_field"], conv["jump"], conv["macs"]) == (3, 1, 97_344)
    spare = next(layer for layer in data["layers"] if layer["path"] == "spare")
    assert (spare["receptive_field"], spare["jump"], spare["macs"]) == (None, None, None)
    assert Report.from_dict(data) == without_output(measured(workspace))


def without_output(report: Report) -> Report:
    report.output = ""  # not part of the schema
    return report


# --- width: 80 and 120 columns ----------------------------------------------------------------------


def words(text: str) -> set[str]:
    return set(text.split())


def long_winded(root: Path) -> list[Report]:
    """A class of submissions with deep paths and long reasons, under a preset of many rules."""
    ids = ["max-params", "batchnorm", "dropout", "gap", "no-linear", "num-classes"]
    reports = []
    for number in range(3):
        report = failing(root)
        report.path = str(
            root / "submissions" / "section-b" / f"a-student-with-a-long-name-{number}" / "homework" / "model.py"
        )
        report.rules = [
            RuleResult(
                rule_id,
                rule_id,
                rule_id != "gap",
                f"{rule_id} was checked carefully and found wanting in this submission",
            )
            for rule_id in ids
        ]
        reports.append(report)
    return reports


@pytest.mark.parametrize("columns", [80, 120])
def test_the_class_table_fits_the_width_and_never_breaks_a_word(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    reports = long_winded(workspace)
    out, _ = rendered(reports, "text")
    assert max(len(line) for line in out.splitlines()) <= columns
    for row in range(len(reports)):
        shown = line_with(out, f"name-{row}/homework/model.py").split()[0]
        full = f"submissions/section-b/a-student-with-a-long-name-{row}/homework/model.py"
        assert shown == full if columns == 120 else (shown.startswith("…") and full.endswith(shown[1:])), shown
    reason = "gap: gap was checked carefully and found wanting in this submission"
    assert words(reason) <= words(out), "the reason wraps between words"
    assert "✗" in out and "FAILED" in out


def test_the_class_table_folds_its_rule_columns_when_narrow(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out, _ = rendered(long_winded(workspace), "text")
    assert line_with(out, "Submission").split()[:4] == ["Submission", "Verdict", "Params", "Rules"]
    assert "✓✓✓✗✓✓" in line_with(out, "name-0/homework")
    assert "Rules, in order: max-params batchnorm dropout gap no-linear num-classes" in out


@pytest.mark.parametrize("columns", [80, 120])
def test_one_report_fits_the_width_and_never_breaks_a_word(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    report = measured(workspace)
    report.path = str(workspace / "submissions" / "a-student-with-a-long-name" / "homework-two" / "final" / "model.py")
    report.rules = failing(workspace).rules + [
        RuleResult(
            "depthwise-separable",
            "A depthwise-separable convolution executes",
            False,
            "no depthwise convolution (groups equal to the input channels) executed anywhere in the model",
        )
    ]
    report.rules[2].findings[0].file = str(
        workspace / "submissions" / "a-student-with-a-long-name" / "homework-two" / "final" / "layers.py"
    )
    out, _ = rendered([report], "text")
    assert max(len(line) for line in out.splitlines()) <= columns, out
    for rule in report.rules:
        assert words(rule.message.replace("\n", " ")) <= words(out), rule.id
    assert "final/layers.py:12" in out, "a finding's path keeps its end"
    assert "model.py)" in lines_of(out)[0]


def test_a_narrow_rule_table_gives_the_message_the_room(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out, _ = rendered([failing(workspace)], "text")
    assert line_with(out, "Measured").split() == ["Rule", "Measured", "Message"]
    monkeypatch.setenv("COLUMNS", "120")
    out, _ = rendered([failing(workspace)], "text")
    assert line_with(out, "Measured").split() == ["Rule", "Name", "Measured", "Message"]


# --- notebooks ------------------------------------------------------------------------------------


def test_a_report_shows_as_a_table_in_a_notebook(workspace: Path) -> None:
    html = failing(workspace)._repr_html_()
    assert html.startswith('<div class="archcheck-report">')
    assert "FAILED: 2 of 3 rules fail: max-params, no-linear" in html
    assert '<th style="text-align:left">Rule</th>' in html and "30,000 &gt; 20,000 parameters" in html
    assert "head | uses *F.linear*" in html
    assert "Report(" not in html
    ET.fromstring(html.replace("&nbsp;", " "))  # well-formed


def test_rich_prints_a_report_as_the_text_format_does(workspace: Path) -> None:
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=120, color_system=None).print(measured(workspace))
    assert out.getvalue() == rendered([measured(workspace)], "text")[0]


# --- notebooks as model files ---------------------------------------------------------------------


def in_a_notebook(root: Path) -> Report:
    report = failing(root)
    report.path = str(root / "S5.ipynb")
    report.stubbed = ["torchsummary"]
    report.rules[2].findings = [Finding("fc (Linear) is a fully connected layer", "fc", report.path, 6, cell=3)]
    return report


def test_a_finding_in_a_notebook_names_its_cell(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = in_a_notebook(workspace)
    assert "S5.ipynb:cell 3:6  fc  fc (Linear) is a fully connected layer" in rendered([report], "text")[0]
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    github = rendered([report], "github")[0].splitlines()
    assert (
        "::error file=S5.ipynb,title=archcheck no-linear::cell 3, line 6: fc (Linear) is a fully connected layer"
        in github
    )
    data = json.loads(rendered([report], "json")[0])
    assert data["stubbed"] == ["torchsummary"] and data["rules"][2]["findings"][0]["cell"] == 3
    assert Report.from_dict(data) == report


def test_a_deep_layer_table_tightens_at_80_columns_before_cutting_names(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = measured(workspace)
    report.layers = [Layer("", "Net", 0, (2, 10), 0, True, 28, 8, 0)] + [
        Layer(f"features.{block}.{part}", kind, 3, (2, 16, 24, 24), 1_152, True, 5, 1, 663_552)
        for block in range(3)
        for part, kind in enumerate(["Conv2d", "BatchNorm2d", "AdaptiveAvgPool2d"])
    ]
    monkeypatch.setenv("COLUMNS", "120")
    wide, _ = rendered([report], "text")
    assert "[2, 16, 24, 24]" in wide and "      features.2.1   BatchNorm2d" in wide
    monkeypatch.setenv("COLUMNS", "80")
    narrow, _ = rendered([report], "text")
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert "[2,16,24,24]" in narrow, "shapes lose their spaces before names are cut"
    for layer in report.layers[1:]:
        name, kind = line_with(narrow, layer.path).split()[:2]
        assert name == layer.path, "a layer name is whole when the types can give way"
        assert kind == layer.type if layer.type != "AdaptiveAvgPool2d" else layer.type.startswith(kind.rstrip("…"))
