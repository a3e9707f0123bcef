"""The trainer and evaluator end to end, on synthetic MNIST files written by the tests.

Which split is evaluated when is checked by recording every evaluation the trainer makes:
validation picks the checkpoint, the test set is evaluated once, after training, on that
checkpoint. One test trains briefly on real MNIST when it is on disk (``$MNIST_ROOT`` or the
workplace's ``../shared/data``) and is skipped, saying where it looked, otherwise.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import gzip
import io
import json
import os
import pickle
import re
import struct
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from rich.console import Console
from torch import nn

from reference_model import evaluate as evaluate_cli
from reference_model import train as train_cli
from reference_model.augment import AugmentConfig
from reference_model.data import RAW_FILES, MnistSplits, Split, load_mnist, make_splits, read_idx, split_train_val
from reference_model.evaluation import MODELS, Evaluation, evaluate
from reference_model.exits import EXIT_BELOW_TARGET, EXIT_OK, EXIT_USAGE
from reference_model.optimizer import NesterovSGD
from reference_model.pruning import InfoBatch
from reference_model.recipes import RECIPE_HELP, RECIPES, format_value, recipe_values
from reference_model.schedule import OneCycle
from reference_model.tiny import TinyNet

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--model", "tiny", "--val-size", "100", "--batch-size", "50", "--epochs", "2", "--device", "cpu"]
NO_AUGMENTATION = AugmentConfig(rotation=0, translate=0, scale=(1, 1), perspective_p=0, brightness=0, contrast=0)


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
    """A --data-dir with 600 training and 200 test images; the test labels are random,
    so a model can do well on validation but not on test."""
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
def finished_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    """A 2-epoch run of the command; its folder, exit status and what it printed."""
    out = tmp_path_factory.mktemp("run") / "tiny"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = train_cli.main([*QUICK, "--validate-last", "2", "--data-dir", str(data_dir), "--out", str(out)])
    return out, code, printed.getvalue()


def test_short_run_writes_checkpoint_metrics_and_plot(finished_run: tuple[Path, int, str]) -> None:
    out, code, _ = finished_run
    assert code == EXIT_OK
    state = torch.load(out / "best.pt", weights_only=True)
    TinyNet().load_state_dict(state)  # a plain state_dict of the chosen model
    metrics = json.loads((out / "metrics.json").read_text())
    assert [epoch["epoch"] for epoch in metrics["history"]] == [1, 2]
    assert metrics["summary"]["parameters"] == sum(p.numel() for p in TinyNet().parameters())
    with open(out / "metrics.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_time"} <= rows[0].keys()
    assert (out / "curves.png").read_bytes().startswith(b"\x89PNG")


def test_reported_validation_accuracy_is_the_checkpoints_on_the_validation_split(
    finished_run: tuple[Path, int, str], data_dir: Path
) -> None:
    """Recomputed independently: best.pt on the held-out split gives the reported figure."""
    out, _, _ = finished_run
    metrics = json.loads((out / "metrics.json").read_text())
    train_full, test = load_mnist(data_dir)
    splits = make_splits(train_full, test, val_size=100, split_seed=0)
    model = TinyNet()
    model.load_state_dict(torch.load(out / "best.pt", weights_only=True))
    tta = RECIPES["tiny"].tta
    assert evaluate(model, splits.val, tta=tta).accuracy == metrics["summary"]["best_val_acc"]
    assert evaluate(model, splits.test, tta=tta).accuracy == metrics["summary"]["test_acc"]


def test_start_up_prints_the_recipe_as_a_table(finished_run: tuple[Path, int, str]) -> None:
    _, _, printed = finished_run
    assert "Recipe(" not in printed and "AugmentConfig(" not in printed
    lines = [" ".join(line.split()) for line in printed.splitlines()]
    assert "epochs 2 (flag; tiny: " + format_value(RECIPES["tiny"].epochs) + ")" in lines
    assert f"lr {format_value(RECIPES['tiny'].lr)}" in lines
    assert f"rotation {format_value(RECIPES['tiny'].augment.rotation)}" in lines


def _recording_evaluate(
    splits: MnistSplits, calls: list[tuple[str, dict[str, torch.Tensor]]], val_accuracies: list[float]
):
    """An evaluate() that records which split it was given and the weights it saw; validation
    returns the scripted accuracies in turn, so the best epoch is known in advance."""

    def which(split: Split) -> str:
        for name in ("train", "val", "test"):
            if torch.equal(split.labels.cpu(), getattr(splits, name).labels):
                return name
        return "other"

    def recording(model: nn.Module, split: Split, **options: object) -> Evaluation:
        name = which(split)
        calls.append((name, {k: v.clone() for k, v in model.state_dict().items()}))
        if name == "val":
            accuracy = val_accuracies[sum(1 for n, _ in calls if n == "val") - 1]
            return Evaluation(accuracy, [accuracy] * 10, 1 - accuracy)
        return evaluate(model, split, **options)

    return recording


@pytest.fixture()
def synthetic_splits(data_dir: Path) -> MnistSplits:
    train_full, test = load_mnist(data_dir)
    return make_splits(train_full, test, val_size=100, split_seed=0)


def test_checkpoint_is_chosen_on_validation_and_test_is_evaluated_once_at_the_end(
    synthetic_splits: MnistSplits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, dict[str, torch.Tensor]]] = []
    monkeypatch.setattr(train_cli, "evaluate", _recording_evaluate(synthetic_splits, calls, [0.5, 0.9, 0.7]))
    recipe = replace(RECIPES["tiny"], epochs=3, validate_last=3, batch_size=50)
    cfg = train_cli.TrainConfig(model="tiny", recipe_name="tiny", recipe=recipe, device="cpu", out_dir=tmp_path)
    result = train_cli.train(cfg, synthetic_splits, Console(file=io.StringIO()))

    assert [name for name, _ in calls] == ["val", "val", "val", "test"]  # test: once, after training
    assert result.best_epoch == 2 and result.best_val_acc == 0.9
    epoch_2_weights, test_weights = calls[1][1], calls[3][1]
    saved = torch.load(tmp_path / "best.pt", weights_only=True)
    for name, tensor in epoch_2_weights.items():
        assert torch.equal(saved[name], tensor), f"best.pt is not the epoch-2 checkpoint ({name})"
        assert torch.equal(test_weights[name], tensor), f"the test set saw other weights than epoch 2's ({name})"
    assert not all(torch.equal(calls[2][1][name], t) for name, t in epoch_2_weights.items())  # training went on


def test_only_the_last_epochs_are_validated(
    synthetic_splits: MnistSplits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, dict[str, torch.Tensor]]] = []
    monkeypatch.setattr(train_cli, "evaluate", _recording_evaluate(synthetic_splits, calls, [0.8, 0.6]))
    recipe = replace(RECIPES["tiny"], epochs=3, validate_last=2, batch_size=50)
    cfg = train_cli.TrainConfig(model="tiny", recipe_name="tiny", recipe=recipe, device="cpu", out_dir=tmp_path)
    result = train_cli.train(cfg, synthetic_splits, Console(file=io.StringIO()))
    assert [name for name, _ in calls] == ["val", "val", "test"]
    assert [m.val_acc for m in result.history] == [None, 0.8, 0.6] and result.best_epoch == 2


class _RecordingBar:
    def __init__(self) -> None:
        self.completed: list[int] = []

    def update(self, task: int, completed: int, **fields: float) -> None:
        self.completed.append(completed)


def _one_epoch(split: Split, recipe_changes: dict, model: nn.Module) -> tuple[train_cli.EpochTotals, _RecordingBar]:
    recipe = replace(RECIPES["fast"], augment=NO_AUGMENTATION, **recipe_changes)
    optimizer = NesterovSGD(model.parameters(), weight_decay=0.0)  # lr 0: the weights stay as they are
    bar = _RecordingBar()
    generator = torch.Generator().manual_seed(0)
    plan = InfoBatch(len(split), 0.0, 1, torch.device("cpu")).next_epoch(generator, recipe.batch_size)
    totals = train_cli.train_one_epoch(model, optimizer, split, plan, recipe, generator, False, (bar, 0))
    return totals, bar


def test_progress_bar_moves_every_step(synthetic_splits: MnistSplits) -> None:
    _, bar = _one_epoch(synthetic_splits.val, {"batch_size": 25}, TinyNet())
    assert bar.completed == [1, 2, 3, 4]  # 100 images in batches of 25


def test_train_loss_is_measured_like_validation_loss(synthetic_splits: MnistSplits) -> None:
    """Label smoothing changes what is optimised, not what is reported: on the same images,
    with weights that do not change (lr 0) and a model that is the same in train and eval mode,
    the epoch's training loss is the validation loss."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    split = synthetic_splits.val
    totals, _ = _one_epoch(split, {"batch_size": len(split), "label_smoothing": 0.5}, model)
    validation = evaluate(model, split)
    assert totals.loss == pytest.approx(validation.loss, rel=1e-5)
    assert totals.accuracy == pytest.approx(validation.accuracy)


def test_plot_epoch_axis_has_whole_numbers_only() -> None:
    history = [
        train_cli.EpochMetrics(
            e, 1.0 / e, 0.98, None if e < 3 else 0.5 / e, None if e < 3 else 0.99, 0.1, 100, 1.0, 1.0, e
        )
        for e in (1, 2, 3)
    ]
    figure = train_cli.curves_figure(history)
    for axes in figure.axes:
        low, high = axes.get_xlim()
        ticks = [t for t in axes.get_xticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_target_requires_validation_and_test(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The synthetic test labels are random: validation can pass 50%, test cannot.
    code = train_cli.main(
        [*QUICK, "--epochs", "3", "--data-dir", str(data_dir), "--out", str(tmp_path), "--target", "0.5"]
    )
    failure = " ".join(capsys.readouterr().out.split("FAIL:")[-1].split())
    assert code == EXIT_BELOW_TARGET
    assert failure.startswith("test accuracy") and "below the target 50.00%" in failure


def test_missing_data_is_one_line_with_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = train_cli.main(["--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")])
    assert code == EXIT_USAGE
    printed = capsys.readouterr().err.strip()
    assert "\n" not in printed and str(tmp_path / "nowhere") in printed and "--download" in printed
    assert not (tmp_path / "run").exists()


def test_corrupt_data_file_is_one_line(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in RAW_FILES:
        (raw / name).write_bytes((data_dir / "MNIST" / "raw" / name).read_bytes())
    (raw / "t10k-images-idx3-ubyte").write_bytes(b"\0\0\x08\x03" + struct.pack(">III", 200, 28, 28) + b"short")
    assert train_cli.main(["--data-dir", str(tmp_path), "--out", str(tmp_path / "run")]) == EXIT_USAGE
    printed = capsys.readouterr().err.strip()
    assert "\n" not in printed and "t10k-images-idx3-ubyte" in printed


def test_gzipped_idx_files_are_read(tmp_path: Path) -> None:
    images = torch.randint(0, 256, (3, 28, 28), dtype=torch.uint8)
    write_idx(tmp_path, "x", images, torch.tensor([1, 2, 3]))
    packed = tmp_path / "x-images-idx3-ubyte.gz"
    packed.write_bytes(gzip.compress((tmp_path / "x-images-idx3-ubyte").read_bytes()))
    assert torch.equal(read_idx(packed), images)


@pytest.mark.parametrize(
    "flags", [["--target", "99.4"], ["--epochs", "0"], ["--validate-last", "0"], ["--model", "huge"]]
)
def test_bad_flags_exit_through_argparse(flags: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        train_cli.main(flags)
    assert exit_info.value.code == EXIT_USAGE


def test_help_shows_each_recipes_values(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        train_cli.main(["--help"])
    text = capsys.readouterr().out
    assert "(default: None)" not in text
    # One entry per option: "--flag METAVAR  help...", however argparse wrapped it.
    entries = {block.split()[0].rstrip(","): " ".join(block.split()) for block in re.split(r"\n  (?=-)", text)[1:]}
    for setting in RECIPE_HELP:
        entry = entries["--" + setting.replace("_", "-")]
        values = {name: format_value(recipe_values(recipe)[setting]) for name, recipe in RECIPES.items()}
        if len(set(values.values())) == 1:
            assert f"(every recipe: {values['classic']})" in entry, entry
        else:
            assert all(f"{name}: {value}" in entry for name, value in values.items()), entry


def test_recipe_flags_override_the_recipe() -> None:
    args = train_cli.build_parser().parse_args(
        ["--recipe", "classic", "--epochs", "3", "--rotation", "0", "--no-tta", "--scale", "0.9", "1.1"]
    )
    cfg = train_cli.config_from_args(args)
    classic = RECIPES["classic"]
    assert cfg.recipe == replace(
        classic, epochs=3, tta=False, augment=replace(classic.augment, rotation=0, scale=(0.9, 1.1))
    )


@pytest.mark.parametrize(("model", "recipe"), [("net", "fast"), ("tiny", "tiny")])
def test_each_model_has_its_default_recipe(model: str, recipe: str) -> None:
    cfg = train_cli.config_from_args(train_cli.build_parser().parse_args(["--model", model]))
    assert cfg.recipe == RECIPES[recipe]
    assert cfg.out_dir.name.startswith(f"{model}-{recipe}-")


def test_split_is_disjoint_complete_and_fixed_by_the_seed() -> None:
    full = Split(torch.zeros(1000, 28, 28, dtype=torch.uint8), torch.arange(1000))
    train, val = split_train_val(full, 200, seed=0)
    assert (len(train), len(val)) == (800, 200)
    train_ids, val_ids = set(train.labels.tolist()), set(val.labels.tolist())
    assert not train_ids & val_ids and len(train_ids | val_ids) == 1000
    assert torch.equal(split_train_val(full, 200, seed=0)[1].labels, val.labels)
    assert not torch.equal(split_train_val(full, 200, seed=1)[1].labels, val.labels)


def test_evaluate_prints_test_accuracy(
    finished_run: tuple[Path, int, str], data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _, _ = finished_run
    assert evaluate_cli.main([str(out / "best.pt"), "--data-dir", str(data_dir), "--device", "cpu"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "tiny" in printed and "test-time augmentation" in printed


@pytest.mark.parametrize("name", sorted(MODELS))
def test_evaluate_finds_which_model_a_checkpoint_holds(name: str, tmp_path: Path) -> None:
    """``tiny`` and ``tiny-6k`` are one class at two widths: the shapes in the file decide."""
    torch.manual_seed(0)
    saved = MODELS[name]()
    torch.save(saved.state_dict(), tmp_path / "best.pt")
    found, model = evaluate_cli.load_checkpoint(tmp_path / "best.pt")
    assert found == name
    torch.testing.assert_close(model.state_dict(), saved.state_dict())


def _not_checkpoints(folder: Path) -> dict[str, Path]:
    """Files a user might pass by mistake, each of which torch.load fails on or misreads differently."""
    files = {
        "empty": folder / "empty.pt",
        "text": folder / "notes.txt",
        "random bytes": folder / "noise.bin",
        "zip": folder / "archive.zip",
        "pickle": folder / "object.pkl",
        "tensor list": folder / "list.pt",
        "foreign state_dict": folder / "other.pt",
    }
    files["empty"].write_bytes(b"")
    files["text"].write_text("hello\n")
    files["random bytes"].write_bytes(bytes(range(256)) * 4)
    with zipfile.ZipFile(files["zip"], "w") as archive:
        archive.writestr("a.txt", "b")
    files["pickle"].write_bytes(pickle.dumps({"a": {1, 2}}))
    torch.save([torch.zeros(2)], files["tensor list"])
    torch.save({"weight": torch.zeros(3)}, files["foreign state_dict"])
    return files


def test_evaluate_says_in_one_line_that_a_file_is_not_a_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for kind, path in _not_checkpoints(tmp_path).items():
        assert evaluate_cli.main([str(path), "--data-dir", str(tmp_path)]) == EXIT_USAGE, kind
        printed = capsys.readouterr().err.strip()
        assert "\n" not in printed and "Traceback" not in printed, (kind, printed)
        assert f"{path} is not a checkpoint written by reference_model.train" in printed, (kind, printed)


@pytest.mark.parametrize("name", ["missing.pt", "."])
def test_evaluate_says_in_one_line_that_a_path_cannot_be_read(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert evaluate_cli.main([str(tmp_path / name), "--data-dir", str(tmp_path)]) == EXIT_USAGE
    printed = capsys.readouterr().err.strip()
    assert "\n" not in printed and printed.startswith("error: cannot read")


def _real_mnist_root() -> Path | None:
    for root in (os.environ.get("MNIST_ROOT"), REPO.parent / "shared" / "data"):
        if root and all((Path(root) / "MNIST" / "raw" / name).is_file() for name in RAW_FILES):
            return Path(root)
    return None


@pytest.mark.skipif(
    _real_mnist_root() is None,
    reason=f"real MNIST not found in $MNIST_ROOT or {REPO.parent / 'shared' / 'data'} (needs MNIST/raw/*-ubyte)",
)
def test_two_epochs_on_a_real_subset_beat_97_percent(tmp_path: Path) -> None:
    root = _real_mnist_root()
    assert root is not None
    train_full, test = load_mnist(root)
    splits = make_splits(train_full, test, val_size=2_000, split_seed=0, train_limit=12_800)
    recipe = replace(RECIPES["fast"], epochs=2, tta=False)
    cfg = train_cli.TrainConfig(recipe=recipe, device="cpu", out_dir=tmp_path)
    threads = torch.get_num_threads()
    # One thread: torch was imported before reference_model could shorten OpenMP's busy-wait,
    # and two spinning threads slow down ~5x whenever other jobs share a 2-core CPU.
    torch.set_num_threads(1)
    printed = io.StringIO()
    try:
        result = train_cli.train(cfg, splits, Console(file=printed))
    finally:
        torch.set_num_threads(threads)
    assert result.best_val_acc > 0.97 and result.test_acc > 0.97, printed.getvalue()


def test_schedule_is_torchs_one_cycle() -> None:
    """The progress-indexed schedule follows OneCycleLR step for step (to within the fraction
    of a step by which the two place the end of the warm-up)."""
    steps, max_lr = 1000, 0.2
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=max_lr, momentum=0.95, nesterov=True)
    reference = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=steps, max_momentum=0.95)
    schedule = OneCycle(max_lr=max_lr, max_momentum=0.95)
    for step in range(steps):
        lr, momentum = schedule.at(step / (steps - 1))
        assert lr == pytest.approx(optimizer.param_groups[0]["lr"], abs=5e-3 * max_lr), step
        assert momentum == pytest.approx(optimizer.param_groups[0]["momentum"], abs=5e-4), step
        optimizer.step()
        reference.step()


def test_pruning_skips_only_well_learned_images_and_weights_the_kept_ones_up() -> None:
    size, ratio = 10_000, 0.5
    selection = InfoBatch(size, ratio, epochs=3, device=torch.device("cpu"))
    generator = torch.Generator().manual_seed(0)
    first = selection.next_epoch(generator, batch_size=100)
    assert sorted(first.order.tolist()) == list(range(size)) and bool((first.weights == 1).all())

    learned = torch.arange(size) % 2 == 0  # half the images with a low loss, half with a high one
    selection.record(torch.arange(size), torch.where(learned, 0.1, 10.0))
    middle = selection.next_epoch(generator, batch_size=100)
    kept = torch.zeros(size, dtype=torch.bool)
    kept[middle.order] = True
    assert len(middle.order) == int(kept.sum())  # each image at most once
    assert bool(kept[~learned].all())  # an image with a loss above the mean is never skipped
    assert 0.45 < 1 - kept[learned].float().mean().item() < 0.55  # ~ratio of the learned ones are
    assert bool((middle.weights[learned] == 1 / (1 - ratio)).all()) and bool((middle.weights[~learned] == 1).all())
    # the weights make up for what was skipped: the epoch's total weight is ~ the split's size
    assert middle.weights[middle.order].sum().item() == pytest.approx(size, rel=0.03)

    last = selection.next_epoch(generator, batch_size=100)
    assert sorted(last.order.tolist()) == list(range(size)) and bool((last.weights == 1).all())


def test_training_with_pruning_skips_images_only_in_the_middle_epochs(
    synthetic_splits: MnistSplits, tmp_path: Path
) -> None:
    recipe = replace(RECIPES["fast"], epochs=3, validate_last=1, batch_size=50, prune=0.5)
    cfg = train_cli.TrainConfig(model="tiny", recipe_name="fast", recipe=recipe, device="cpu", out_dir=tmp_path)
    result = train_cli.train(cfg, synthetic_splits, Console(file=io.StringIO()))
    images = [m.train_images for m in result.history]
    assert images[0] == images[2] == len(synthetic_splits.train) and images[1] < len(synthetic_splits.train)


def test_optimizer_updates_like_torchs_nesterov_sgd() -> None:
    """Step for step the same weights as torch.optim.SGD with Nesterov momentum and weight
    decay, with the learning rate and momentum changed between steps as the schedule does."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(3))
    x, y = torch.randn(8, 1, 6, 6), torch.randint(0, 3, (8,))
    model(x)  # materialise the lazy layer
    twin = copy.deepcopy(model)
    ours = NesterovSGD(model.parameters(), weight_decay=1e-2)
    reference = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)
    for step, (lr, momentum) in enumerate([(0.1, 0.95), (0.3, 0.9), (0.05, 0.85), (0.2, 0.95)]):
        ours.lr, ours.momentum = lr, momentum
        for group in reference.param_groups:
            group["lr"], group["momentum"] = lr, momentum
        for net, optimizer in ((model, ours), (twin, reference)):
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            optimizer.step()
        for (name, ours_p), twin_p in zip(model.named_parameters(), twin.parameters()):
            torch.testing.assert_close(ours_p, twin_p, msg=f"step {step}: {name}")
