"""Train a reference model on MNIST: ``python -m reference_model.train [--model tiny] [--recipe classic]``.

The data is held as tensors and augmented a whole batch at a time (see augment.py), so an
epoch is CPU-bound by the model itself. The best checkpoint by validation accuracy is saved
as a plain state_dict, its test accuracy is reported once at the end, and ``--target``
turns that into an exit code for CI. See reference_model/README.md for measured results.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from pathlib import Path

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .augment import AugmentConfig, augment
from .data import DataNotFoundError, MnistSplits, batches, load_mnist, make_splits, normalize, to_unit
from .engine import DEVICES, MODELS, as_layout, count_parameters, evaluate, pick_device

EXIT_BELOW_TARGET = 1
EXIT_USAGE = 2


@dataclass(frozen=True)
class Recipe:
    """Optimisation and augmentation settings; every field is also a command-line flag."""

    epochs: int
    batch_size: int
    lr: float  # OneCycleLR max_lr
    momentum: float  # SGD (Nesterov) momentum, OneCycle's max_momentum
    weight_decay: float
    label_smoothing: float
    augment: AugmentConfig


RECIPES: dict[str, Recipe] = {
    # The assignment's classic recipe, unchanged.
    "classic": Recipe(
        epochs=19, batch_size=64, lr=0.1, momentum=0.95, weight_decay=1e-4, label_smoothing=0.0,
        augment=AugmentConfig(),
    ),
    # Same rules, 18 epochs instead of 19 and ~20% more images/s: no perspective distortion
    # (with it the model underfits: training accuracy stayed below validation accuracy),
    # label smoothing, batch 128 with twice the learning rate. Measurements: README.md.
    "fast": Recipe(
        epochs=18, batch_size=128, lr=0.2, momentum=0.95, weight_decay=1e-4, label_smoothing=0.1,
        augment=AugmentConfig(perspective_p=0.0),
    ),
}
# The 7,442-parameter model underfits even more: "fast" with 24 epochs and half the translation.
RECIPES["tiny"] = replace(
    RECIPES["fast"], epochs=24, augment=replace(RECIPES["fast"].augment, translate=0.05)
)
DEFAULT_RECIPES = {"net": "fast", "tiny": "tiny"}  # --recipe's default for each --model


@dataclass
class TrainConfig:
    model: str = "net"
    recipe: Recipe = RECIPES["fast"]
    seed: int = 0
    split_seed: int = 0
    val_size: int = 10_000
    train_limit: int | None = None
    device: str = "auto"
    channels_last: bool = True
    out_dir: Path = Path("runs")


@dataclass
class EpochMetrics:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    lr: float  # learning rate of the epoch's last step
    epoch_time: float  # seconds, training and validation
    train_images_per_s: float


@dataclass
class TrainResult:
    parameters: int
    history: list[EpochMetrics]
    best_epoch: int
    best_val_acc: float
    test_acc: float
    test_per_class: list[float]
    train_time: float  # seconds, from model creation to the test evaluation's end
    checkpoint: Path


def train(cfg: TrainConfig, splits: MnistSplits, console: Console | None = None) -> TrainResult:
    """Train, keep the best checkpoint by validation accuracy, and test that checkpoint."""
    console = console or Console()
    recipe = cfg.recipe
    start = time.perf_counter()
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)  # shuffling and augmentation
    model = MODELS[cfg.model]().to(device)
    if cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    train_split, val_split = splits.train.to(device), splits.val.to(device)
    steps = len(train_split) // recipe.batch_size
    if steps == 0:
        raise ValueError(f"{len(train_split)} training images is fewer than one batch of {recipe.batch_size}")
    optimizer = torch.optim.SGD(
        model.parameters(), lr=recipe.lr, momentum=recipe.momentum, nesterov=True, weight_decay=recipe.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=recipe.lr, epochs=recipe.epochs, steps_per_epoch=steps, max_momentum=recipe.momentum
    )
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = cfg.out_dir / "best.pt"
    parameters = count_parameters(model)
    console.print(
        f"[bold]{cfg.model}[/] ({parameters:,} parameters) on {device}, {len(train_split):,} train / "
        f"{len(val_split):,} val / {len(splits.test):,} test images, recipe: {recipe}"
    )
    console.print(_row("epoch", "loss", "train", "val", "lr", "time", "img/s"), style="bold")

    history: list[EpochMetrics] = []
    best = EpochMetrics(0, 0, 0, 0, -1.0, 0, 0, 0)
    for epoch in range(1, recipe.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.long, device=device)
        seen = 0
        with _progress(console) as progress:
            task = progress.add_task(f"epoch {epoch}/{recipe.epochs}", total=steps, loss=0.0, acc=0.0, ips=0.0)
            for step, (images, labels) in enumerate(batches(train_split, recipe.batch_size, generator), 1):
                x = as_layout(normalize(augment(to_unit(images), recipe.augment, generator)), cfg.channels_last)
                logits = model(x)
                loss = F.cross_entropy(logits, labels, label_smoothing=recipe.label_smoothing)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                loss_sum += loss.detach() * len(labels)
                correct += (logits.argmax(1) == labels).sum()
                seen += len(labels)
                if step % 20 == 0 or step == steps:  # .item() syncs; no need to do it every step
                    elapsed = time.perf_counter() - epoch_start
                    progress.update(
                        task, completed=step, loss=loss_sum.item() / seen, acc=correct.item() / seen, ips=seen / elapsed
                    )
        train_seconds = time.perf_counter() - epoch_start
        val = evaluate(model, val_split, channels_last=cfg.channels_last)
        metrics = EpochMetrics(
            epoch=epoch,
            train_loss=loss_sum.item() / seen,
            train_acc=correct.item() / seen,
            val_loss=val.loss,
            val_acc=val.accuracy,
            lr=optimizer.param_groups[0]["lr"],
            epoch_time=time.perf_counter() - epoch_start,
            train_images_per_s=seen / train_seconds,
        )
        history.append(metrics)
        improved = metrics.val_acc > best.val_acc
        if improved:
            best = metrics
            torch.save(model.state_dict(), checkpoint)
        console.print(
            _row(
                f"{epoch}/{recipe.epochs}", f"{metrics.train_loss:.4f}", f"{metrics.train_acc:.2%}",
                f"{metrics.val_acc:.2%}" + (" *" if improved else ""), f"{metrics.lr:.5f}",
                f"{metrics.epoch_time:.1f}s", f"{metrics.train_images_per_s:,.0f}",
            )
        )

    model.load_state_dict(torch.load(checkpoint, map_location=device, weights_only=True))
    test = evaluate(model, splits.test.to(device), channels_last=cfg.channels_last)
    return TrainResult(
        parameters=parameters,
        history=history,
        best_epoch=best.epoch,
        best_val_acc=best.val_acc,
        test_acc=test.accuracy,
        test_per_class=test.per_class,
        train_time=time.perf_counter() - start,
        checkpoint=checkpoint,
    )


def _row(*cells: str) -> str:
    widths = (7, 8, 8, 9, 9, 7, 8)
    return "  ".join(cell.rjust(width) for cell, width in zip(cells, widths))


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.2%}  {task.fields[ips]:,.0f} img/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # logs get the per-epoch rows only
    )


def write_outputs(cfg: TrainConfig, result: TrainResult, wall_time: float) -> list[Path]:
    """metrics.json (config, summary, history), metrics.csv (history) and curves.png."""
    out = cfg.out_dir
    summary = {
        "model": cfg.model,
        "parameters": result.parameters,
        "best_epoch": result.best_epoch,
        "best_val_acc": result.best_val_acc,
        "test_acc": result.test_acc,
        "test_per_class": result.test_per_class,
        "wall_time_s": wall_time,
        "train_time_s": result.train_time,
        "device": str(pick_device(cfg.device)),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "checkpoint": result.checkpoint.name,
    }
    config = {**asdict(cfg), "out_dir": str(cfg.out_dir)}
    history = [asdict(m) for m in result.history]
    (out / "metrics.json").write_text(json.dumps({"config": config, "summary": summary, "history": history}, indent=2))
    with open(out / "metrics.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[f.name for f in fields(EpochMetrics)])
        writer.writeheader()
        writer.writerows(history)
    plot_curves(result.history, out / "curves.png")
    return [result.checkpoint, out / "metrics.json", out / "metrics.csv", out / "curves.png"]


def plot_curves(history: list[EpochMetrics], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt

    epochs = [m.epoch for m in history]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot(epochs, [m.train_loss for m in history], marker="o", label="train")
    loss_ax.plot(epochs, [m.val_loss for m in history], marker="o", label="validation")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss", yscale="log")
    acc_ax.plot(epochs, [100 * m.train_acc for m in history], marker="o", label="train (augmented)")
    acc_ax.plot(epochs, [100 * m.val_acc for m in history], marker="o", label="validation")
    acc_ax.axhline(99.4, color="grey", linestyle="--", linewidth=1, label="99.4%")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy", ylim=(97, 100))
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reference_model.train",
        description="Train a reference MNIST model (>=99.4% test accuracy, see reference_model/README.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model", choices=sorted(MODELS), default="net", help="net: <20K parameters, tiny: <=8K")
    parser.add_argument(
        "--recipe", choices=sorted(RECIPES),
        help="defaults for the flags below (default: fast for net, tiny for tiny)",
    )
    recipe = parser.add_argument_group("recipe overrides (default: the chosen recipe's value)")
    recipe.add_argument("--epochs", type=int)
    recipe.add_argument("--batch-size", type=int)
    recipe.add_argument("--lr", type=float, help="OneCycleLR max_lr")
    recipe.add_argument("--momentum", type=float, help="SGD Nesterov momentum (OneCycle's max_momentum)")
    recipe.add_argument("--weight-decay", type=float)
    recipe.add_argument("--label-smoothing", type=float)
    recipe.add_argument("--rotation", type=float, help="degrees, per image")
    recipe.add_argument("--translate", type=float, help="fraction of the side, per image")
    recipe.add_argument("--scale", type=float, nargs=2, metavar=("MIN", "MAX"))
    recipe.add_argument("--perspective-p", type=float, help="probability of a perspective distortion")
    recipe.add_argument("--perspective-distortion", type=float, help="torchvision's distortion_scale")
    recipe.add_argument("--brightness", type=float)
    recipe.add_argument("--contrast", type=float)
    data = parser.add_argument_group("data")
    data.add_argument("--data-dir", type=Path, default=Path("data"), help="folder holding MNIST/raw/")
    data.add_argument("--download", action="store_true", help="download MNIST into --data-dir if missing")
    data.add_argument("--val-size", type=int, default=10_000, help="validation images split off the 60,000")
    data.add_argument("--split-seed", type=int, default=0, help="seed of the train/validation split")
    data.add_argument("--train-limit", type=int, help="train on only this many images (quick runs)")
    run = parser.add_argument_group("run")
    run.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling and augmentation")
    run.add_argument("--device", choices=DEVICES, default="auto")
    run.add_argument(
        "--channels-last", action=argparse.BooleanOptionalAction, default=True,
        help="channels_last memory format (faster with oneDNN on CPU)",
    )
    run.add_argument("--out", type=Path, help="output folder (default: runs/<model>-<recipe>-<timestamp>)")
    run.add_argument("--target", type=float, help="exit 1 if the test accuracy is below this, e.g. 0.994")
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    recipe_name = args.recipe or DEFAULT_RECIPES[args.model]
    base = RECIPES[recipe_name]

    def pick(name: str, default: object) -> object:
        value = getattr(args, name)
        return default if value is None else value

    aug = base.augment
    augment_cfg = AugmentConfig(
        **{f.name: pick(f.name, getattr(aug, f.name)) for f in fields(AugmentConfig) if f.name != "scale"},
        scale=tuple(args.scale) if args.scale else aug.scale,
    )
    recipe = Recipe(
        **{f.name: pick(f.name, getattr(base, f.name)) for f in fields(Recipe) if f.name != "augment"},
        augment=augment_cfg,
    )
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return TrainConfig(
        model=args.model,
        recipe=recipe,
        seed=args.seed,
        split_seed=args.split_seed,
        val_size=args.val_size,
        train_limit=args.train_limit,
        device=args.device,
        channels_last=args.channels_last,
        out_dir=args.out or Path("runs") / f"{args.model}-{recipe_name}-{stamp}",
    )


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.target is not None and not 0 <= args.target <= 1:
        parser.error(f"--target is a fraction between 0 and 1 (e.g. 0.994), got {args.target}")
    for name in ("epochs", "batch_size", "val_size", "train_limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    if args.device == "mps" and not torch.backends.mps.is_available():
        parser.error("--device mps: MPS is not available")


def main(argv: list[str] | None = None) -> int:
    start = time.perf_counter()
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    cfg = config_from_args(args)
    console = Console()
    try:
        train_full, test = load_mnist(args.data_dir, download=args.download)
        splits = make_splits(train_full, test, cfg.val_size, cfg.split_seed, cfg.train_limit)
        result = train(cfg, splits, console)
    except (DataNotFoundError, ValueError) as error:
        console.print(f"[red]error:[/] {error}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    wall = time.perf_counter() - start
    files = write_outputs(cfg, result, wall)
    console.print(
        f"best validation accuracy {result.best_val_acc:.2%} (epoch {result.best_epoch}), "
        f"test accuracy of that checkpoint {result.test_acc:.2%}, total wall time {wall:.1f}s"
    )
    console.print("wrote " + ", ".join(str(path) for path in files), highlight=False, soft_wrap=True)
    if args.target is not None and result.test_acc < args.target:
        console.print(f"[red]FAIL:[/] test accuracy {result.test_acc:.2%} is below the target {args.target:.2%}")
        return EXIT_BELOW_TARGET
    if args.target is not None:
        console.print(f"[green]PASS:[/] test accuracy {result.test_acc:.2%} >= target {args.target:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
