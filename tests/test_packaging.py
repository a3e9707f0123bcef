"""What a `pip install` gets: the wheel and the sdist as built for a release, and a front door without torch."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from importlib.metadata import version
from pathlib import Path

import pytest

import archcheck

ROOT = Path(__file__).resolve().parent.parent
DIST_NAME = "torch-archcheck"  # "archcheck" is taken on PyPI
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "*.egg-info",
    "build",
    "dist",
    "__pycache__",
    "*.pyc",
    ".*_cache",
    ".hypothesis",
    ".benchmarks",
    "data",
    "runs",
)


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sdist, and the wheel built from it, as `python -m build` makes them (offline: --no-isolation)."""
    pytest.importorskip("build", reason="the `build` package builds the distributions (pip install -e '.[dev]')")
    work = tmp_path_factory.mktemp("dists")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)  # nothing is written into the checkout
    built = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(work / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (sdist,) = (work / "dist").glob("*.tar.gz")
    (wheel,) = (work / "dist").glob("*.whl")
    return sdist, wheel


def source_files(folder: str) -> set[str]:
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def wheel_metadata(wheel: Path) -> tuple[set[str], Message, str]:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(archive.read(f"{info}/METADATA"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    return names, metadata, entry_points


def test_the_wheel_ships_the_archcheck_package_only(dists: tuple[Path, Path]) -> None:
    names, _, _ = wheel_metadata(dists[1])
    tops = {name.split("/")[0] for name in names}
    assert tops == {"archcheck", f"torch_archcheck-{archcheck.__version__}.dist-info"}
    package = {name for name in names if name.startswith("archcheck/")}
    assert package == {name for name in source_files("archcheck") if name.endswith((".py", "py.typed"))}
    assert "archcheck/py.typed" in package and "archcheck/tracing/worker.py" in package


def test_the_wheel_metadata(dists: tuple[Path, Path]) -> None:
    from packaging.requirements import Requirement

    names, metadata, entry_points = wheel_metadata(dists[1])
    assert metadata["Name"] == DIST_NAME
    assert metadata["Version"] == archcheck.__version__  # the one version source
    assert metadata["License-Expression"] == "MIT"
    assert f"torch_archcheck-{archcheck.__version__}.dist-info/licenses/LICENSE" in names
    classifiers = set(metadata.get_all("Classifier"))
    assert {
        "Operating System :: Microsoft :: Windows",
        "Operating System :: MacOS",
        "Operating System :: POSIX :: Linux",
        "Typing :: Typed",
    } <= classifiers
    assert {f"Programming Language :: Python :: 3.{minor}" for minor in range(10, 14)} <= classifiers
    assert metadata["Requires-Python"] == ">=3.10"
    assert {"Homepage", "Source", "Issues"} <= {url.split(",")[0] for url in metadata.get_all("Project-URL")}
    requirements = {Requirement(text).name: Requirement(text) for text in metadata.get_all("Requires-Dist")}
    for package in ("torch", "torchvision"):  # the range admits what the tests run on, and says where it ends
        assert version(package) in requirements[package].specifier, (package, requirements[package])
        assert "<" in str(requirements[package].specifier)
    assert "archcheck = archcheck.cli:main" in entry_points
    assert "[pytest11]\narchcheck = archcheck.pytest_plugin" in entry_points


def test_the_sdist_carries_what_its_tests_need(dists: tuple[Path, Path]) -> None:
    with tarfile.open(dists[0]) as archive:
        prefix = f"torch_archcheck-{archcheck.__version__}/"
        names = {name.removeprefix(prefix) for name in archive.getnames()}
    assert {"LICENSE", "README.md", "pyproject.toml", "MANIFEST.in", ".ci/run"} <= names
    for folder in ("archcheck", "tests", "reference_model", ".github"):
        missing = source_files(folder) - names
        assert not missing, f"the sdist lacks {sorted(missing)[:5]}"
    assert "tests/helpers.py" in names and any(name.startswith("tests/corpus/") for name in names)
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_the_front_door_does_not_import_torch() -> None:
    """The command line, the API and the pytest plugin start without torch (start-up time is the product)."""
    code = (
        "import sys, archcheck.cli, archcheck.api, archcheck.pytest_plugin, archcheck.runner; "
        "print(sorted(name for name in sys.modules if name == 'torch' or name.startswith('torch.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
