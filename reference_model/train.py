"""Train a reference model on MNIST: ``python -m reference_model.train [--model tiny] [--recipe classic]``.

The data is held as tensors on the training device and augmented a whole batch at a time
(augment.py); images the model has already learned are skipped in the middle epochs
(pruning.py), under the one-cycle schedule (schedule.py) and Nesterov SGD (optimizer.py).
10,000 of the official 60,000 training images are held out for validation;
the best checkpoint by validation accuracy is saved as a plain state_dict, and the test
set is evaluated once, at the end, on that checkpoint. ``--target`` turns both
accuracies into an exit status for CI. Measured results: README.md.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from torch import nn

from .augment import augment
from .data import DataNotFoundError, MnistSplits, Split, as_layout, load_mnist, make_splits, normalize, to_unit
from .evaluation import DEVICES, MODELS, Evaluation, evaluate, parameter_count, pick_device
from .exits import EXIT_BELOW_TARGET, EXIT_OK, EXIT_USAGE
from .optimizer import NesterovSGD
from .pruning import EpochPlan, InfoBatch
from .recipes import (
    DEFAULT_RECIPES,
    RECIPE_HELP,
    RECIPES,
    Recipe,
    format_value,
    recipe_table,
    recipe_values,
    with_values,
)
from .schedule import OneCycle

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PROGRESS_REFRESH_S = 0.25  # how often the progress bar's loss and accuracy are read (a sync on GPUs)


@dataclass
class TrainConfig:
    model: str = "net"
    recipe_name: str = "fast"  # the recipe that the flags started from
    recipe: Recipe = RECIPES["fast"]
    seed: int = 0
    split_seed: int = 0
    val_size: int = 10_000
    train_limit: int | None = None
    device: str = "auto"
    channels_last: bool = True
    out_dir: Path = Path("runs")


@dataclass
class EpochTotals:
    """What one pass over the training split measured.

    Loss and accuracy are of the images as trained (augmented, dropout on), each counted
    with its loss weight: with images skipped (pruning.py) that estimates the whole split's.
    """

    loss: float  # cross-entropy without label smoothing
    accuracy: float
    images: int  # images trained this epoch
    seconds: float


@dataclass
class EpochMetrics:
    epoch: int
    train_loss: float  # measured like val_loss: cross-entropy without label smoothing
    train_acc: float
    val_loss: float | None  # None where the epoch was not validated (see Recipe.validate_last)
    val_acc: float | None
    lr: float  # learning rate of the epoch's last step
    train_images: int  # images trained this epoch (fewer than the split where images were skipped)
    epoch_time: float  # seconds, training and validation
    train_images_per_s: float
    elapsed: float  # seconds from the start of training to the end of this epoch


@dataclass
class TrainResult:
    parameters: int
    device: str
    history: list[EpochMetrics]
    best_epoch: int
    best_val_acc: float
    test_acc: float
    test_per_class: list[float]
    train_time: float  # seconds, from model creation to the test evaluation's end
    checkpoint: Path


def train(cfg: TrainConfig, splits: MnistSplits, console: Console | None = None) -> TrainResult:
    """Train, keep the checkpoint with the best validation accuracy, and test that checkpoint once."""
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
    if len(train_split) < recipe.batch_size:
        raise ValueError(f"{len(train_split)} training images is fewer than one batch of {recipe.batch_size}")
    optimizer = NesterovSGD(model.parameters(), weight_decay=recipe.weight_decay)
    schedule = OneCycle(max_lr=recipe.lr, max_momentum=recipe.momentum)
    selection = InfoBatch(len(train_split), recipe.prune, recipe.epochs, device)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = cfg.out_dir / "best.pt"
    parameters = parameter_count(model)
    console.print(
        f"[bold]{cfg.model}[/] ({parameters:,} parameters) on {device}, {len(train_split):,} train / "
        f"{len(val_split):,} validation / {len(splits.test):,} test images, seed {cfg.seed}"
    )
    console.print(recipe_table(cfg.recipe_name, recipe))
    console.print(_row("epoch", "images", "loss", "train", "val loss", "val", "lr", "time", "img/s"), style="bold")

    history: list[EpochMetrics] = []
    best_epoch, best_val_acc = 0, -1.0
    first_validated = recipe.epochs - min(recipe.validate_last, recipe.epochs) + 1
    for epoch in range(1, recipe.epochs + 1):
        epoch_start = time.perf_counter()
        plan = selection.next_epoch(generator, recipe.batch_size)
        with _progress(console) as progress:
            task = progress.add_task(
                f"epoch {epoch}/{recipe.epochs}", total=plan.steps(recipe.batch_size), loss=0.0, acc=0.0, ips=0.0
            )
            totals = train_one_epoch(
                model,
                optimizer,
                train_split,
                plan,
                recipe,
                generator,
                cfg.channels_last,
                (progress, task),
                on_step=schedule.in_epoch(optimizer, epoch, recipe.epochs),
                on_losses=selection.record,
            )
        val: Evaluation | None = None
        if epoch >= first_validated:
            val = evaluate(model, val_split, tta=recipe.tta, channels_last=cfg.channels_last)
        improved = False
        if val is not None and val.accuracy > best_val_acc:
            improved, best_epoch, best_val_acc = True, epoch, val.accuracy
            torch.save(model.state_dict(), checkpoint)
        metrics = EpochMetrics(
            epoch=epoch,
            train_loss=totals.loss,
            train_acc=totals.accuracy,
            val_loss=None if val is None else val.loss,
            val_acc=None if val is None else val.accuracy,
            lr=optimizer.lr,
            train_images=totals.images,
            epoch_time=time.perf_counter() - epoch_start,
            train_images_per_s=totals.images / totals.seconds,
            elapsed=time.perf_counter() - start,
        )
        history.append(metrics)
        console.print(_epoch_row(metrics, recipe.epochs, improved))

    model.load_state_dict(torch.load(checkpoint, map_location=device, weights_only=True))
    test = evaluate(model, splits.test.to(device), tta=recipe.tta, channels_last=cfg.channels_last)
    return TrainResult(
        parameters=parameters,
        device=str(device),
        history=history,
        best_epoch=best_epoch,
        best_val_acc=best_val_acc,
        test_acc=test.accuracy,
        test_per_class=test.per_class,
        train_time=time.perf_counter() - start,
        checkpoint=checkpoint,
    )


def train_one_epoch(
    model: nn.Module,
    optimizer: NesterovSGD,
    split: Split,
    plan: EpochPlan,
    recipe: Recipe,
    generator: torch.Generator,
    channels_last: bool,
    progress: tuple[Progress, TaskID],
    on_step: Callable[[float], None] = lambda fraction: None,
    on_losses: Callable[[torch.Tensor, torch.Tensor], None] = lambda index, losses: None,
) -> EpochTotals:
    """One pass over the images of ``plan`` in full batches of ``recipe.batch_size``.

    Before each step ``on_step`` gets the fraction of the epoch done (the learning-rate
    schedule); after it, ``on_losses`` gets the batch's indices and per-image losses.
    """
    bar, task = progress
    start = last_refresh = time.perf_counter()
    model.train()
    device = split.labels.device
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device)
    weight_sum = torch.zeros((), device=device)
    steps = plan.steps(recipe.batch_size)
    for step in range(steps):
        index = plan.order[step * recipe.batch_size : (step + 1) * recipe.batch_size]
        images, labels, weights = split.images[index], split.labels[index], plan.weights[index]
        on_step(step / steps)
        x = as_layout(normalize(augment(to_unit(images), recipe.augment, generator)), channels_last)
        logits = model(x)
        losses = F.cross_entropy(logits, labels, label_smoothing=recipe.label_smoothing, reduction="none")
        optimizer.zero_grad()
        (losses * weights).mean().backward()
        optimizer.step()
        on_losses(index, losses)
        with torch.no_grad():  # the loss as validation measures it: no label smoothing
            loss_sum += (F.cross_entropy(logits, labels, reduction="none") * weights).sum()
            correct += ((logits.argmax(1) == labels) * weights).sum()
            weight_sum += weights.sum()
        now = time.perf_counter()
        if now - last_refresh < PROGRESS_REFRESH_S:
            bar.update(task, completed=step + 1)
            continue
        last_refresh = now
        seen = (step + 1) * recipe.batch_size
        bar.update(
            task,
            completed=step + 1,
            loss=(loss_sum / weight_sum).item(),
            acc=(correct / weight_sum).item(),
            ips=seen / (now - start),
        )
    seen = steps * recipe.batch_size
    return EpochTotals((loss_sum / weight_sum).item(), (correct / weight_sum).item(), seen, time.perf_counter() - start)


_COLUMNS = {"epoch": 5, "images": 6, "loss": 6, "train": 6, "val loss": 8, "val": 8, "lr": 7, "time": 6, "img/s": 6}


def _row(*cells: str) -> str:
    return "  ".join(cell.rjust(width) for cell, width in zip(cells, _COLUMNS.values()))


def _epoch_row(m: EpochMetrics, epochs: int, improved: bool) -> str:
    validated = m.val_acc is not None and m.val_loss is not None
    return _row(
        f"{m.epoch}/{epochs}",
        f"{m.train_images:,}",
        f"{m.train_loss:.4f}",
        f"{m.train_acc:.2%}",
        f"{m.val_loss:.4f}" if validated else "–",
        f"{m.val_acc:.2%}" + (" *" if improved else "") if validated else "–",
        f"{m.lr:.5f}",
        f"{m.epoch_time:.1f}s",
        f"{m.train_images_per_s:,.0f}",
    )


@contextmanager
def _progress(console: Console) -> Iterator[Progress]:
    """A progress bar for one epoch, removed when it ends; logs get the per-epoch rows only."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.2%}  {task.fields[ips]:,.0f} img/s"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        yield progress


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
        "device": result.device,
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
    import matplotlib.pyplot as plt

    figure = curves_figure(history)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def curves_figure(history: list[EpochMetrics]) -> Figure:
    """Loss and accuracy per epoch (whole-number ticks); validation only where it was measured."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    validated = [m for m in history if m.val_acc is not None]
    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot([m.epoch for m in history], [m.train_loss for m in history], marker="o", label="train (augmented)")
    loss_ax.plot([m.epoch for m in validated], [m.val_loss for m in validated], marker="o", label="validation")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy (no label smoothing)", title="Loss", yscale="log")
    acc_ax.plot([m.epoch for m in history], [100 * m.train_acc for m in history], marker="o", label="train (augmented)")
    acc_ax.plot(
        [m.epoch for m in validated], [100 * (m.val_acc or 0) for m in validated], marker="o", label="validation"
    )
    acc_ax.axhline(99.4, color="grey", linestyle="--", linewidth=1, label="99.4%")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy", ylim=(97, 100))
    for ax in (loss_ax, acc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


class _HelpFormatter(argparse.HelpFormatter):
    """Adds ``(default: X)`` only where a flag has a default of its own; recipe flags name each recipe's value."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        no_default = action.default is None or action.default is False or action.default is argparse.SUPPRESS
        if not no_default and "%(default)" not in help_text:
            help_text += " (default: %(default)s)"
        return help_text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reference_model.train",
        description="Train a reference MNIST model to >=99.4% validation and test accuracy "
        "(see reference_model/README.md).",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--model", choices=sorted(MODELS), default="net", help="net: <20K parameters, tiny: <=8K, tiny-6k: <=6K"
    )
    defaults = ", ".join(f"{DEFAULT_RECIPES[model]} for {model}" for model in sorted(DEFAULT_RECIPES))
    parser.add_argument("--recipe", choices=sorted(RECIPES), help=f"the defaults of the flags below ({defaults})")
    group = parser.add_argument_group("recipe settings (each defaults to the chosen recipe's value, listed per recipe)")
    values = {name: recipe_values(recipe) for name, recipe in RECIPES.items()}
    for setting, help_text in RECIPE_HELP.items():
        shown = {name: format_value(values[name][setting]) for name in sorted(RECIPES)}
        per_recipe = (
            f"every recipe: {shown['classic']}"
            if len(set(shown.values())) == 1
            else "; ".join(f"{name}: {value}" for name, value in shown.items())
        )
        flag, example = f"--{setting.replace('_', '-')}", values["classic"][setting]
        kwargs: dict = {"help": f"{help_text} ({per_recipe})".replace("%", "%%")}
        if isinstance(example, bool):
            kwargs["action"] = argparse.BooleanOptionalAction
        elif isinstance(example, tuple):
            kwargs.update(type=float, nargs=2, metavar=("MIN", "MAX"))
        else:
            kwargs["type"] = type(example)
        group.add_argument(flag, **kwargs)
    data = parser.add_argument_group("data")
    data.add_argument("--data-dir", type=Path, default=Path("data"), help="folder holding MNIST/raw/")
    data.add_argument("--download", action="store_true", help="download MNIST into --data-dir if missing")
    data.add_argument("--val-size", type=int, default=10_000, help="validation images held out of the 60,000")
    data.add_argument("--split-seed", type=int, default=0, help="seed of the train/validation split")
    data.add_argument("--train-limit", type=int, help="train on only this many images (quick runs)")
    run = parser.add_argument_group("run")
    run.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling and augmentation")
    run.add_argument("--device", choices=DEVICES, default="auto", help="auto: cuda, then mps, then cpu")
    run.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="channels_last memory format (faster with oneDNN on CPU)",
    )
    run.add_argument("--out", type=Path, help="output folder (default: runs/<model>-<recipe>-<timestamp>)")
    run.add_argument(
        "--target",
        type=float,
        help="exit 1 unless the best validation accuracy and the test accuracy both reach this, e.g. 0.994",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    recipe_name = args.recipe or DEFAULT_RECIPES[args.model]
    given = {setting: getattr(args, setting) for setting in RECIPE_HELP if getattr(args, setting) is not None}
    if "scale" in given:
        given["scale"] = tuple(given["scale"])
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return TrainConfig(
        model=args.model,
        recipe_name=recipe_name,
        recipe=with_values(RECIPES[recipe_name], given),
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
    for name in ("epochs", "batch_size", "validate_last", "val_size", "train_limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if args.prune is not None and not 0 <= args.prune < 1:
        parser.error(f"--prune is a fraction of at least 0 and below 1 (e.g. 0.5), got {args.prune}")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is available")
    if args.device == "mps" and not torch.backends.mps.is_available():
        parser.error("--device mps: MPS is not available")


def _report(console: Console, result: TrainResult, target: float | None, wall: float) -> int:
    """The final lines and the exit status."""
    console.print(
        f"best validation accuracy {result.best_val_acc:.2%} (epoch {result.best_epoch}), "
        f"test accuracy of that checkpoint {result.test_acc:.2%}, total wall time {wall:.1f}s"
    )
    if target is None:
        return EXIT_OK
    reached = [m for m in result.history if m.val_acc is not None and m.val_acc >= target]
    if reached:
        console.print(
            f"validation accuracy first reached {target:.2%} at epoch {reached[0].epoch}, "
            f"{reached[0].elapsed:.1f}s into training"
        )
    below = [
        f"{what} accuracy {accuracy:.2%}"
        for what, accuracy in (("validation", result.best_val_acc), ("test", result.test_acc))
        if accuracy < target
    ]
    if below:
        console.print(f"[red]FAIL:[/] {' and '.join(below)} below the target {target:.2%}")
        return EXIT_BELOW_TARGET
    console.print(f"[green]PASS:[/] validation and test accuracy >= target {target:.2%}")
    return EXIT_OK


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
        Console(stderr=True).print(f"[red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    files = write_outputs(cfg, result, time.perf_counter() - start)
    console.print("wrote " + ", ".join(str(path) for path in files), highlight=False, soft_wrap=True)
    return _report(console, result, args.target, time.perf_counter() - start)


if __name__ == "__main__":
    sys.exit(main())
