"""Adversarial corpus of small models with hand-derived verdicts.

Every ``tests/corpus/*.py`` file is an ordinary model file whose header says
what archcheck must report for it::

    # expect: max-params=fail batchnorm=pass dropout=pass gap=pass no-linear=pass
    # params: 23760
    # frozen: 18432      (optional: expected frozen-parameter count)
    # unregistered: 170  (optional: learned tensors forward uses that model.parameters() does not list;
    #                     archcheck's total is params + unregistered)
    # args: --strict-fc  (optional: extra CLI arguments)
    # target: Name       (optional: class or factory to check, i.e. FILE::Name)
    # why: one line of explanation
    # also: ARGS => RULE=VERDICT ... ; WHY   (optional, repeatable: the same model checked
    #                                         again with ARGS, these verdicts overriding)

A line ending in ``# <- finding(RULE)`` marks the source line that a finding
of the (failing) rule RULE must point at.

The expectations were derived from the rule definitions and PyTorch
semantics, not from archcheck's implementation.  ``test_hand_count`` checks
the hand-computed ``params`` against plain PyTorch (no archcheck involved),
so a wrong header is caught independently of archcheck.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from helpers import MNIST_RULES

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "corpus"
RULES = MNIST_RULES  # every corpus model is checked by the default preset; its header gives each rule's verdict
VERDICTS = ("pass", "fail")
DEFAULT_INPUT_SHAPE = (1, 28, 28)
BATCH = 2

_MARKER = re.compile(r"#\s*<-\s*finding\(([\w-]+)\)")


@dataclass
class Case:
    path: Path
    expect: dict[str, str]
    params: int
    why: str
    args: list[str] = field(default_factory=list)
    target: str | None = None
    frozen: int | None = None
    unregistered: int = 0
    markers: list[tuple[str, int]] = field(default_factory=list)
    variant: str | None = None  # the extra arguments of an '# also:' line

    @property
    def name(self) -> str:
        return f"{self.path.name} {self.variant}" if self.variant else self.path.name

    @property
    def key(self) -> str:
        return f"{self.path.stem}[{self.variant}]" if self.variant else self.path.stem

    @property
    def spec(self) -> str:
        return f"{self.path}::{self.target}" if self.target else str(self.path)

    @property
    def all_pass(self) -> bool:
        return all(v == "pass" for v in self.expect.values())


class HeaderError(ValueError):
    pass


_ALSO = re.compile(r"#\s*also\s*:\s*(.*?)\s*=>\s*(.*?)\s*;\s*(.*?)\s*$")


def _verdicts(path: Path, tokens: str) -> dict[str, str]:
    verdicts: dict[str, str] = {}
    for token in tokens.split():
        rule, sep, verdict = token.partition("=")
        if not sep or rule not in RULES or verdict not in VERDICTS:
            raise HeaderError(f"{path.name}: bad expect token {token!r}")
        if rule in verdicts:
            raise HeaderError(f"{path.name}: rule {rule} given twice")
        verdicts[rule] = verdict
    return verdicts


def parse_cases(path: Path) -> list[Case]:
    """The file's case, then one case per '# also:' line (same model, other arguments)."""
    text = path.read_text()
    headers: dict[str, str] = {}
    also: list[tuple[str, str, str]] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break  # headers are the leading comment block
        if (variant := _ALSO.match(line)) is not None:
            also.append(variant.groups())
            continue
        m = re.match(r"#\s*(expect|params|frozen|unregistered|args|target|why)\s*:\s*(.*?)\s*$", line)
        if m:
            if m.group(1) in headers:
                raise HeaderError(f"{path.name}: duplicate '# {m.group(1)}:' header")
            headers[m.group(1)] = m.group(2)
    for key in ("expect", "params", "why"):
        if key not in headers:
            raise HeaderError(f"{path.name}: missing '# {key}:' header")

    expect = _verdicts(path, headers["expect"])
    missing = [r for r in RULES if r not in expect]
    if missing:
        raise HeaderError(f"{path.name}: no expectation for {missing}")

    markers = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for m in _MARKER.finditer(line):
            if m.group(1) not in RULES:
                raise HeaderError(f"{path.name}:{lineno}: marker for unknown rule {m.group(1)!r}")
            markers.append((m.group(1), lineno))

    base = Case(
        path=path,
        expect=expect,
        params=int(headers["params"].replace(",", "").replace("_", "")),
        why=headers["why"],
        args=shlex.split(headers.get("args", "")),
        target=headers.get("target") or None,
        frozen=int(headers["frozen"]) if "frozen" in headers else None,
        unregistered=int(headers.get("unregistered", 0)),
        markers=markers,
    )
    variants = [
        replace(
            base,
            expect={**expect, **_verdicts(path, verdicts)},
            why=why,
            args=[*base.args, *shlex.split(args)],
            markers=[],
            variant=args,
        )
        for args, verdicts, why in also
    ]
    return [base, *variants]


CORPUS_FILES = sorted(CORPUS.glob("*.py"))


def _load_cases() -> list[Case]:
    return [case for p in CORPUS_FILES for case in parse_cases(p)]


CASES = _load_cases()
CASES_BY_NAME = {c.name: c for c in CASES}


def _ids(cases):
    return [c.key for c in cases]


# --------------------------------------------------------------------------
# corpus self-checks (no archcheck involved)
# --------------------------------------------------------------------------


def test_corpus_is_broad():
    assert len(CASES) >= 45, f"only {len(CASES)} corpus files"
    for rule in RULES:
        seen = {c.expect[rule] for c in CASES}
        assert seen == {"pass", "fail"}, f"rule {rule} is never expected to {set(VERDICTS) - seen}"
    assert any(c.all_pass for c in CASES)
    seed = CASES_BY_NAME["seed_model.py"]
    assert seed.params == 23760 and seed.expect["max-params"] == "fail"


def _input_shape(case: Case) -> tuple[int, ...]:
    args = case.args
    if "--input-shape" in args:
        return tuple(int(v) for v in args[args.index("--input-shape") + 1].split(","))
    for a in args:
        if a.startswith("--input-shape="):
            return tuple(int(v) for v in a.split("=", 1)[1].split(","))
    return DEFAULT_INPUT_SHAPE


def _build_independently(case: Case):
    """Build the case's model with plain importlib (a tiny stand-in for discovery)."""
    import torch.nn as nn

    spec = importlib.util.spec_from_file_location(f"corpus_oracle_{case.path.stem}", case.path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if case.target:
        return getattr(module, case.target)()
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, nn.Module)
        and obj.__module__ == module.__name__
        and any("forward" in vars(k) for k in obj.__mro__ if k is not nn.Module and issubclass(k, nn.Module))
    ]
    instances = {}
    for cls in classes:
        try:
            instances[cls] = cls()
        except TypeError:  # helper blocks need constructor arguments: never the model
            pass
    used = {type(m) for inst in instances.values() for m in inst.modules() if m is not inst}
    roots = [cls for cls in instances if cls not in used]
    assert len(roots) == 1, f"{case.name}: corpus discovery is ambiguous: {roots}"
    return instances[roots[0]]


FILES = [c for c in CASES if c.variant is None]  # one case per file: the model itself


@pytest.mark.parametrize("case", FILES, ids=_ids(FILES))
def test_hand_count(case: Case):
    """The hand-computed params header agrees with plain PyTorch; the forward runs in train mode."""
    import torch

    torch.manual_seed(0)
    model = _build_independently(case)
    model.train()
    out = model(torch.randn(BATCH, *_input_shape(case)))  # also materialises lazy modules
    if case.expect["num-classes"] == "pass":
        assert tuple(out.shape) == (BATCH, 10), f"{case.name}: output shape {tuple(out.shape)}"
    params = list(model.parameters())  # de-duplicated by identity; excludes buffers
    total = sum(p.numel() for p in params)
    assert total == case.params, f"{case.name}: header says {case.params}, PyTorch counts {total}"
    if case.frozen is not None:
        frozen = sum(p.numel() for p in params if not p.requires_grad)
        assert frozen == case.frozen, f"{case.name}: header says frozen {case.frozen}, PyTorch counts {frozen}"


# --------------------------------------------------------------------------
# archcheck, in-process
# --------------------------------------------------------------------------


@functools.cache
def _report(name: str):
    from archcheck.api import check_file

    case = CASES_BY_NAME[name]
    return check_file(case.spec, args=list(case.args), isolate=False)


def _describe_findings(rule) -> str:
    findings = list(getattr(rule, "findings", None) or [])
    if not findings:
        return "      (no findings)"
    return "\n".join(
        f"      - {f.message} [module={getattr(f, 'module', None)} file={getattr(f, 'file', None)} line={getattr(f, 'line', None)}]"
        for f in findings
    )


def _fail_on_error(case: Case, report) -> None:
    if report.error is not None:
        err = report.error
        pytest.fail(
            f"{case.name} ({case.spec} {' '.join(case.args)}): archcheck reported an error "
            f"instead of verdicts (status={report.status!r}, phase={getattr(err, 'phase', None)!r})\n"
            f"  reason: {getattr(err, 'reason', err)}\n  detail: {getattr(err, 'detail', '')}\n"
            f"  why this file exists: {case.why}",
            pytrace=False,
        )


def _verdict(passed: bool) -> str:
    return "pass" if passed else "fail"


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_corpus_verdicts(case: Case):
    report = _report(case.name)
    _fail_on_error(case, report)
    problems = []
    for rule_id in RULES:
        try:
            rule = report.rule(rule_id)
        except (KeyError, LookupError) as exc:  # pragma: no cover - depends on archcheck
            problems.append(f"  {case.name}: rule {rule_id}: missing from report ({exc!r})")
            continue
        if rule is None:
            problems.append(f"  {case.name}: rule {rule_id}: missing from report")
            continue
        actual = _verdict(bool(rule.passed))
        if actual != case.expect[rule_id]:
            problems.append(
                f"  {case.name}: rule {rule_id}: expected {case.expect[rule_id]}, got {actual}\n"
                f"    archcheck says: {rule.message}\n{_describe_findings(rule)}"
            )
    total = report.params.total
    if total != case.params + case.unregistered:
        problems.append(
            f"  {case.name}: params.total: expected {case.params + case.unregistered} (hand count), got {total}"
        )
    if report.params.unregistered != case.unregistered:
        problems.append(
            f"  {case.name}: params.unregistered: expected {case.unregistered}, got {report.params.unregistered}"
        )
    if case.frozen is not None:
        frozen = getattr(report.params, "frozen", None)
        if frozen != case.frozen:
            problems.append(f"  {case.name}: params.frozen: expected {case.frozen}, got {frozen}")
    expected_status = "passed" if case.all_pass else "failed"
    if report.status != expected_status:
        problems.append(f"  {case.name}: status: expected {expected_status!r}, got {report.status!r}")
    if problems:
        pytest.fail(
            f"{case.name} ({case.spec} {' '.join(case.args)}) disagrees with its header:\n"
            + "\n".join(problems)
            + f"\n  why: {case.why}",
            pytrace=False,
        )


MARKED = [c for c in CASES if c.markers]


def _same_file(reported: str | None, expected: Path) -> bool:
    """The finding names the model file itself: its full path (findings carry absolute paths)."""
    return reported is not None and Path(reported).resolve() == expected.resolve()


@pytest.mark.parametrize("case", MARKED, ids=_ids(MARKED))
def test_finding_lines(case: Case):
    """Failing findings point at the responsible line (construction line / functional call line)."""
    report = _report(case.name)
    _fail_on_error(case, report)
    lines = case.path.read_text().splitlines()
    for rule_id, lineno in case.markers:
        assert case.expect[rule_id] == "fail", f"{case.name}: marker on a rule expected to pass"
        rule = report.rule(rule_id)
        hits = [f for f in rule.findings if f.line == lineno and _same_file(f.file, case.path)]
        assert hits, (
            f"{case.name}: rule {rule_id} (passed={rule.passed}, message={rule.message!r}) has no finding "
            f"at line {lineno}:\n    {lines[lineno - 1].strip()}\n  findings:\n{_describe_findings(rule)}"
        )


# --------------------------------------------------------------------------
# the real CLI, end to end
# --------------------------------------------------------------------------

E2E = ["clean_pass.py", "fc_linear.py", "params_frozen.py"]


@pytest.mark.parametrize("name", E2E)
def test_cli_json_end_to_end(name: str):
    case = CASES_BY_NAME[name]
    cmd = [sys.executable, "-m", "archcheck", case.spec, *case.args, "--format", "json"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    context = f"{' '.join(cmd)}\n--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(f"stdout is not JSON ({exc}):\n{context}", pytrace=False)

    for key in ("status", "passed", "exit_code", "params", "rules", "layers"):
        assert key in data, f"JSON lacks {key!r}:\n{context}"
    expected_code = 0 if case.all_pass else 1
    assert proc.returncode == expected_code, f"exit code {proc.returncode}, expected {expected_code}:\n{context}"
    assert data["exit_code"] == proc.returncode
    assert data["passed"] is case.all_pass
    assert data["status"] == ("passed" if case.all_pass else "failed")

    params = data["params"]
    assert {"total", "trainable", "frozen"} <= set(params), params
    assert params["total"] == case.params
    assert params["trainable"] + params["frozen"] == params["total"]
    if case.frozen is not None:
        assert params["frozen"] == case.frozen

    assert isinstance(data["layers"], list) and data["layers"], "layers should list the traced layers"

    rules = {r["id"]: r for r in data["rules"]}
    assert set(RULES) <= set(rules), f"rules in JSON: {sorted(rules)}"
    for rule_id in RULES:
        r = rules[rule_id]
        for key in ("id", "name", "passed", "message", "measured", "findings"):
            assert key in r, f"rule {rule_id} lacks {key!r}: {r}"
        assert isinstance(r["passed"], bool)
        assert _verdict(r["passed"]) == case.expect[rule_id], f"{name}: {rule_id}: {r}"
        for f in r["findings"]:
            assert {"message", "module", "file", "line"} <= set(f), f
    for rule_id, lineno in case.markers:
        assert any(f["line"] == lineno for f in rules[rule_id]["findings"]), (
            f"{name}: {rule_id}: no finding at line {lineno}: {rules[rule_id]['findings']}"
        )
