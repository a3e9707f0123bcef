"""Time to 99.4% of the default training command, and images/s of the trainer's pipeline
against a naive per-image PIL DataLoader, measured in the same run.

    python benchmarks/training.py --data-dir DIR                  # one seed, ~4 minutes on 2 cores
    python benchmarks/training.py --data-dir DIR --seeds 0 1 2    # the README's table
    python benchmarks/training.py --data-dir DIR --seeds          # images/s only
    python benchmarks/training.py --data-dir DIR --seeds 0 1 2 --baseline "--epochs 9 --batch-size 128 --lr 0.2 --prune 0"

Time to 99.4%: the wall time of the whole default command, ``python -m reference_model.train
--data-dir DIR --target 0.994 --seed S`` (start-up, loading, training, validation, the test,
the output files), run in a fresh process; it counts as reaching 99.4% when the command exits
0, i.e. when the best validation accuracy and the test accuracy are both >= 99.4%. With
``--baseline FLAGS`` the same command with those flags added is timed after each seed's
default run, and the ratio of the two wall times is printed: the machine's speed drifts
over hours, so a comparison counts only within one invocation.

Images/s: both pipelines train the same model with the same optimiser and the same
augmentation (rotation, affine, perspective, colour jitter) on the same machine:

* naive: torchvision.datasets.MNIST with a transforms.Compose of PIL transforms, one image
  at a time, through a DataLoader (num_workers=0), NCHW tensors, ``torch.no_grad()`` eval;
* tensors: the trainer's pipeline (uint8 tensors in memory, per-sample augmentation of the
  whole batch with one grid_sample, ``torch.inference_mode()`` eval), in NCHW and in
  channels_last.

"data only" times producing augmented batches without the model, to show where time goes.
The load average is printed with each figure: on a shared CPU, other processes slow a run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from a checkout

import reference_model  # noqa: E402, F401  - first: it sets OpenMP's spin count before torch loads

# isort: split
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from _measure import measure  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from reference_model.augment import AugmentConfig, augment  # noqa: E402
from reference_model.data import (  # noqa: E402
    MNIST_MEAN,
    MNIST_STD,
    DataNotFoundError,
    Split,
    as_layout,
    batches,
    load_mnist,
    normalize,
    to_unit,
)
from reference_model.evaluation import MODELS, evaluate  # noqa: E402
from reference_model.exits import EXIT_OK, EXIT_USAGE  # noqa: E402
from reference_model.recipes import DEFAULT_RECIPES, RECIPES  # noqa: E402

Batch = tuple[torch.Tensor, torch.Tensor]
TARGET = 0.994
WARMUP = 5
NAIVE = "naive PIL DataLoader, NCHW"
PIPELINES = {NAIVE: None, "tensors, NCHW": False, "tensors, channels_last": True}  # name: channels_last


@dataclass
class Row:
    pipeline: str
    data_only: float  # images/s producing augmented training batches
    train: float  # images/s training (data + forward + backward + step)
    evaluate: float  # images/s evaluating


def naive_loaders(data_dir: Path, batch_size: int) -> tuple[Iterable[Batch], Iterable[Batch]]:
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    aug = AugmentConfig()
    train_tf = transforms.Compose(
        [
            transforms.RandomRotation(aug.rotation),
            transforms.RandomAffine(0, translate=(aug.translate, aug.translate), scale=aug.scale),
            transforms.RandomPerspective(aug.perspective_distortion, p=aug.perspective_p),
            transforms.ColorJitter(brightness=aug.brightness, contrast=aug.contrast),
            transforms.ToTensor(),
            transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        ]
    )
    eval_tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])
    train = datasets.MNIST(str(data_dir), train=True, transform=train_tf)
    test = datasets.MNIST(str(data_dir), train=False, transform=eval_tf)
    return DataLoader(train, batch_size, shuffle=True), DataLoader(test, 1000)


def tensor_batches(images: torch.Tensor, labels: torch.Tensor, batch_size: int, channels_last: bool) -> Iterator[Batch]:
    generator = torch.Generator().manual_seed(0)
    while True:
        for x, y in batches(Split(images, labels), batch_size, generator):
            yield as_layout(normalize(augment(to_unit(x), AugmentConfig(), generator)), channels_last), y


def images_per_s(batch_source: Iterable[Batch], n_batches: int, step: Callable[[Batch], None]) -> float:
    iterator = iter(batch_source)
    for batch in islice(iterator, WARMUP):
        step(batch)
    seen, start = 0, time.perf_counter()
    for batch in islice(iterator, n_batches):
        step(batch)
        seen += len(batch[1])
    return seen / (time.perf_counter() - start)


def train_step(model: torch.nn.Module, channels_last: bool) -> Callable[[Batch], None]:
    model.train()
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.95, nesterov=True, weight_decay=1e-4)

    def step(batch: Batch) -> None:
        loss = F.cross_entropy(model(batch[0]), batch[1])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def naive_eval(model: torch.nn.Module, loader: Iterable[Batch]) -> float:
    model.eval()
    seen, start = 0, time.perf_counter()
    with torch.no_grad():
        for x, y in loader:
            (model(x).argmax(1) == y).sum().item()
            seen += len(y)
    return seen / (time.perf_counter() - start)


def tensor_eval(model: torch.nn.Module, test: Split, channels_last: bool) -> float:
    evaluate(model, test.subset(torch.arange(1000)), channels_last=channels_last)  # warm-up
    start = time.perf_counter()
    evaluate(model, test, channels_last=channels_last)
    return len(test) / (time.perf_counter() - start)


@dataclass
class TimedRun:
    seed: int
    seconds: float
    exit_code: int
    val_acc: float | None
    test_acc: float | None
    epochs: int | None
    load: float  # 1-minute load average just before the run


def time_default_command(data_dir: Path, seed: int, extra_flags: list[str]) -> TimedRun:
    """The whole default command (with ``extra_flags``) in a fresh process, as a user runs it."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-m",
            "reference_model.train",
            "--data-dir",
            str(data_dir),
            "--target",
            str(TARGET),
            "--seed",
            str(seed),
            "--out",
            out,
            *extra_flags,
        ]
        load = os.getloadavg()[0]
        cwd = os.getcwd()
        os.chdir(REPO)  # so that -m finds reference_model
        try:
            run = measure(command)
        finally:
            os.chdir(cwd)
        metrics_file = Path(out) / "metrics.json"
        if not metrics_file.is_file():
            return TimedRun(seed, run.seconds, run.code, None, None, None, load)
        metrics = json.loads(metrics_file.read_text())
    summary = metrics["summary"]
    return TimedRun(
        seed, run.seconds, run.code, summary["best_val_acc"], summary["test_acc"], len(metrics["history"]), load
    )


def run(data_dir: Path, model_name: str, n_batches: int, batch_size: int, repeats: int) -> list[Row]:
    """Each figure is the best of ``repeats`` rounds, the pipelines taking turns within a
    round, so that a burst of load from another process on the shared CPU hits one round."""
    train_full, test = load_mnist(data_dir)
    naive_train, naive_test = naive_loaders(data_dir, batch_size)
    torch.manual_seed(0)
    models = {name: MODELS[model_name]() for name in PIPELINES}
    sources = {
        name: tensor_batches(train_full.images, train_full.labels, batch_size, channels_last)
        for name, channels_last in PIPELINES.items()
        if channels_last is not None
    }
    sources[NAIVE] = naive_train
    steps = {name: train_step(models[name], bool(channels_last)) for name, channels_last in PIPELINES.items()}
    rows = {name: Row(name, 0.0, 0.0, 0.0) for name in PIPELINES}
    for _ in range(repeats):
        for name, channels_last in PIPELINES.items():
            row = rows[name]
            row.data_only = max(row.data_only, images_per_s(sources[name], n_batches, lambda batch: None))
            row.train = max(row.train, images_per_s(sources[name], n_batches, steps[name]))
            evaluated = (
                naive_eval(models[name], naive_test)
                if channels_last is None
                else tensor_eval(models[name], test, channels_last)
            )
            row.evaluate = max(row.evaluate, evaluated)
    return list(rows.values())


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    model = names[0] if names else platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def print_time_to_target(console: Console, runs: list[TimedRun], extra_flags: list[str]) -> None:
    recipe = RECIPES[DEFAULT_RECIPES["net"]]
    flags = shlex.join(extra_flags) if extra_flags else f"(net, {recipe.epochs} epochs)"
    table = Table(
        title=f"time to {TARGET:.1%}: python -m reference_model.train --data-dir DIR --target {TARGET} "
        f"--seed S {flags}; {machine()}"
    )
    for column in ("seed", "wall s", "validation", "test", "epochs", f">= {TARGET:.1%} on both", "load before"):
        table.add_column(column, justify="right")
    for run in runs:
        reached = "yes" if run.exit_code == EXIT_OK else f"no (exit {run.exit_code})"
        table.add_row(
            str(run.seed),
            f"{run.seconds:.1f}",
            "–" if run.val_acc is None else f"{run.val_acc:.2%}",
            "–" if run.test_acc is None else f"{run.test_acc:.2%}",
            "–" if run.epochs is None else str(run.epochs),
            reached,
            f"{run.load:.2f}",
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="folder holding MNIST/raw/")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0], help="seeds of the timed default command")
    parser.add_argument(
        "--baseline", metavar="FLAGS", help='trainer flags of a baseline timed beside each seed, e.g. "--epochs 9"'
    )
    parser.add_argument("--model", choices=sorted(MODELS), default="net")
    parser.add_argument("--batches", type=int, default=100, help="timed training batches per pipeline and round")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; the best round counts")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=RECIPES[DEFAULT_RECIPES["net"]].batch_size,
        help="default: the default recipe's",
    )
    args = parser.parse_args(argv)
    console = Console(width=120)
    try:
        load_mnist(args.data_dir)  # fail early, in one line, before anything is timed
    except DataNotFoundError as error:
        console.print(f"[red]error:[/] {error}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    baseline_flags = shlex.split(args.baseline) if args.baseline else []
    runs, baseline_runs = [], []
    for seed in args.seeds:
        runs.append(time_default_command(args.data_dir.resolve(), seed, []))
        if baseline_flags:
            baseline_runs.append(time_default_command(args.data_dir.resolve(), seed, baseline_flags))
    if runs:
        print_time_to_target(console, runs, [])
    if baseline_runs:
        print_time_to_target(console, baseline_runs, baseline_flags)
        ratios = ", ".join(f"seed {new.seed}: {new.seconds / old.seconds:.2f}" for new, old in zip(runs, baseline_runs))
        console.print(f"wall time of the default command / with {shlex.join(baseline_flags)}: {ratios}")
    load = os.getloadavg()[0]
    rows = run(args.data_dir, args.model, args.batches, args.batch_size, args.repeats)
    table = Table(
        title=f"{args.model}, batch {args.batch_size}, best of {args.repeats} rounds of {args.batches} batches; "
        f"{machine()}; load before {load:.2f}"
    )
    for column in ("pipeline", "data only img/s", "train img/s", "x naive", "eval img/s", "x naive"):
        table.add_column(column, justify="left" if column == "pipeline" else "right")
    naive = rows[0]
    for row in rows:
        table.add_row(
            row.pipeline,
            f"{row.data_only:,.0f}",
            f"{row.train:,.0f}",
            f"{row.train / naive.train:.2f}",
            f"{row.evaluate:,.0f}",
            f"{row.evaluate / naive.evaluate:.2f}",
        )
    console.print(table)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
