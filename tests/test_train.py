"""The trainer and evaluator end to end, on synthetic MNIST files written by the tests.

One test trains briefly on real MNIST when it is on disk (``$MNIST_ROOT`` or the
workplace's ``../shared/data``) and is skipped, saying where it looked, otherwise.
"""

from __future__ import annotations

import csv
import json
import os
import struct
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from reference_model import evaluate as evaluate_cli
from reference_model import train as train_cli
from reference_model.data import RAW_FILES, Split, load_mnist, make_splits, split_train_val
from reference_model.tiny import TinyNet

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--model", "tiny", "--val-size", "100", "--batch-size", "50", "--epochs", "2", "--device", "cpu"]


def write_idx(raw: Path, prefix: str, images: torch.Tensor, labels: torch.Tensor) -> None:
    """MNIST's IDX format: big-endian magic and sizes, then the uint8 data."""
    (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
        struct.pack(">IIII", 0x803, *images.shape) + images.to(torch.uint8).numpy().tobytes()
    )
    (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
        struct.pack(">II", 0x801, len(labels)) + labels.to(torch.uint8).numpy().tobytes()
    )


def synthetic_images(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Noise with a bright block whose position encodes the label, so the task is learnable."""
    images = torch.randint(0, 60, (len(labels), 28, 28), generator=generator, dtype=torch.uint8)
    for i, label in enumerate(labels.tolist()):
        row, col = 4 + 10 * (label // 5), 2 + 5 * (label % 5)
        images[i, row : row + 8, col : col + 5] = 255
    return images


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A --data-dir with 600 training and 200 test images; the test labels are random."""
    root = tmp_path_factory.mktemp("mnist")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    generator = torch.Generator().manual_seed(0)
    train_labels = torch.arange(600) % 10
    write_idx(raw, "train", synthetic_images(train_labels, generator), train_labels)
    test_labels = torch.randint(0, 10, (200,), generator=generator)
    write_idx(raw, "t10k", synthetic_images(torch.randint(0, 10, (200,), generator=generator), generator), test_labels)
    return root


@pytest.fixture(scope="module")
def finished_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    out = tmp_path_factory.mktemp("run") / "tiny"
    code = train_cli.main([*QUICK, "--data-dir", str(data_dir), "--out", str(out), "--target", "0"])
    return out, code


def test_short_run_writes_checkpoint_metrics_and_plot(finished_run: tuple[Path, int]) -> None:
    out, code = finished_run
    assert code == 0
    state = torch.load(out / "best.pt", weights_only=True)
    TinyNet().load_state_dict(state)  # a plain state_dict of the chosen model
    metrics = json.loads((out / "metrics.json").read_text())
    assert [epoch["epoch"] for epoch in metrics["history"]] == [1, 2]
    assert metrics["summary"]["parameters"] == 7_442
    assert 0 <= metrics["summary"]["test_acc"] <= 1
    with open(out / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and {"train_loss", "train_acc", "val_acc", "lr", "epoch_time"} <= rows[0].keys()
    assert (out / "curves.png").read_bytes().startswith(b"\x89PNG")


def test_evaluate_prints_test_accuracy(finished_run: tuple[Path, int], data_dir: Path, capsys) -> None:
    out, _ = finished_run
    assert evaluate_cli.main([str(out / "best.pt"), "--data-dir", str(data_dir), "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "tiny" in printed


def test_evaluate_rejects_a_foreign_checkpoint(tmp_path: Path, capsys) -> None:
    torch.save({"weight": torch.zeros(3)}, tmp_path / "other.pt")
    assert evaluate_cli.main([str(tmp_path / "other.pt"), "--data-dir", str(tmp_path)]) == 2
    assert "not a state_dict of any of" in capsys.readouterr().out


def test_target_below_reached_accuracy_fails(data_dir: Path, tmp_path: Path, capsys) -> None:
    # The synthetic test labels are random, so 100% is out of reach.
    code = train_cli.main([*QUICK, "--epochs", "1", "--data-dir", str(data_dir), "--out", str(tmp_path), "--target", "1"])
    assert code == train_cli.EXIT_BELOW_TARGET
    assert "FAIL" in capsys.readouterr().out


def test_missing_data_is_one_line_with_the_fix(tmp_path: Path, capsys) -> None:
    code = train_cli.main(["--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")])
    assert code == train_cli.EXIT_USAGE
    printed = capsys.readouterr().out.strip()
    assert "\n" not in printed and str(tmp_path / "nowhere") in printed and "--download" in printed
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("flags", [["--target", "99.4"], ["--epochs", "0"], ["--model", "huge"]])
def test_bad_flags_exit_through_argparse(flags: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train_cli.main(flags)
    assert exit_info.value.code == 2


def test_recipe_flags_override_the_recipe() -> None:
    args = train_cli.build_parser().parse_args(["--recipe", "classic", "--epochs", "3", "--rotation", "0"])
    cfg = train_cli.config_from_args(args)
    classic = train_cli.RECIPES["classic"]
    assert cfg.recipe == replace(classic, epochs=3, augment=replace(classic.augment, rotation=0))


@pytest.mark.parametrize(("model", "recipe"), [("net", "fast"), ("tiny", "tiny")])
def test_each_model_has_its_default_recipe(model: str, recipe: str) -> None:
    cfg = train_cli.config_from_args(train_cli.build_parser().parse_args(["--model", model]))
    assert cfg.recipe == train_cli.RECIPES[recipe]
    assert cfg.out_dir.name.startswith(f"{model}-{recipe}-")


def test_split_is_disjoint_complete_and_fixed_by_the_seed() -> None:
    full = Split(torch.zeros(1000, 28, 28, dtype=torch.uint8), torch.arange(1000))
    train, val = split_train_val(full, 200, seed=0)
    assert (len(train), len(val)) == (800, 200)
    train_ids, val_ids = set(train.labels.tolist()), set(val.labels.tolist())
    assert not train_ids & val_ids and len(train_ids | val_ids) == 1000
    assert torch.equal(split_train_val(full, 200, seed=0)[1].labels, val.labels)
    assert not torch.equal(split_train_val(full, 200, seed=1)[1].labels, val.labels)


def _real_mnist_root() -> Path | None:
    for root in (os.environ.get("MNIST_ROOT"), REPO.parent / "shared" / "data"):
        if root and all((Path(root) / "MNIST" / "raw" / name).is_file() for name in RAW_FILES):
            return Path(root)
    return None


@pytest.mark.skipif(
    _real_mnist_root() is None,
    reason=f"real MNIST not found in $MNIST_ROOT or {REPO.parent / 'shared' / 'data'} (needs MNIST/raw/*-ubyte)",
)
def test_one_epoch_on_a_real_subset_beats_97_percent(tmp_path: Path, capsys) -> None:
    root = _real_mnist_root()
    assert root is not None
    train_full, test = load_mnist(root)
    splits = make_splits(train_full, test, val_size=2_000, split_seed=0, train_limit=12_800)
    cfg = train_cli.TrainConfig(
        recipe=replace(train_cli.RECIPES["fast"], epochs=1), device="cpu", out_dir=tmp_path
    )
    threads = torch.get_num_threads()
    # One thread: torch was imported before reference_model could shorten OpenMP's busy-wait,
    # and two spinning threads slow down ~5x whenever other jobs share a 2-core CPU.
    torch.set_num_threads(1)
    try:
        result = train_cli.train(cfg, splits)
    finally:
        torch.set_num_threads(threads)
    assert result.test_acc > 0.97, capsys.readouterr().out
