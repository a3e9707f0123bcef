"""Test accuracy of a saved checkpoint: ``python -m reference_model.evaluate runs/.../best.pt``.

The checkpoint is a plain state_dict, so it is loaded with ``weights_only=True``; which
model it belongs to is found by trying each one (``--model`` picks it explicitly).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from torch import nn

from .data import DataNotFoundError, load_mnist
from .evaluation import DEVICES, MODELS, evaluate, pick_device
from .exits import EXIT_OK, EXIT_USAGE


class CheckpointError(Exception):
    """The checkpoint cannot be read or matches no model; the message is one line."""


def load_checkpoint(path: Path, model_name: str = "auto") -> tuple[str, nn.Module]:
    """The model (by name) whose parameters and buffers the state_dict at ``path`` fills exactly."""
    not_a_checkpoint = f"{path} is not a checkpoint written by reference_model.train"
    try:
        with warnings.catch_warnings():  # e.g. torch's note on the pickle protocol of a foreign file
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as error:  # missing, a folder, no permission
        raise CheckpointError(f"cannot read {path}: {error.strerror or error}") from None
    except Exception:  # noqa: BLE001 - torch.load raises EOFError, KeyError, RuntimeError, UnpicklingError...
        raise CheckpointError(f"{not_a_checkpoint} (torch.load with weights_only=True cannot read it)") from None
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise CheckpointError(f"{not_a_checkpoint} (it holds a {type(state).__name__}, not a state_dict of tensors)")
    names = sorted(MODELS) if model_name == "auto" else [model_name]
    for name in names:
        model = MODELS[name]()
        try:
            model.load_state_dict(state)
        except RuntimeError:  # missing/unexpected keys or mismatched shapes
            continue
        return name, model
    raise CheckpointError(f"{not_a_checkpoint} (its state_dict fits none of the models: {', '.join(names)})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reference_model.evaluate",
        description="Print the MNIST test accuracy (overall and per digit) of a saved checkpoint, "
        "without and with test-time augmentation (TTA: the image and its four one-pixel shifts).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("checkpoint", type=Path, help="best.pt written by reference_model.train")
    parser.add_argument("--model", choices=["auto", *sorted(MODELS)], default="auto")
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="folder holding MNIST/raw/")
    parser.add_argument("--download", action="store_true", help="download MNIST into --data-dir if missing")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        name, model = load_checkpoint(args.checkpoint, args.model)
        _, test = load_mnist(args.data_dir, download=args.download)
    except (CheckpointError, DataNotFoundError) as error:
        Console(stderr=True).print(f"[red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    device = pick_device(args.device)
    model, test = model.to(device), test.to(device)
    plain, with_tta = evaluate(model, test), evaluate(model, test, tta=True)
    console.print(f"{args.checkpoint}: {name} on the {len(test):,} MNIST test images", highlight=False, soft_wrap=True)
    table = Table()
    table.add_column("digit", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("with TTA", justify="right")
    for digit, (accuracy, tta_accuracy) in enumerate(zip(plain.per_class, with_tta.per_class)):
        table.add_row(str(digit), f"{accuracy:.2%}", f"{tta_accuracy:.2%}")
    console.print(table)
    for what, result in (("test accuracy", plain), ("with test-time augmentation (recipes with tta on)", with_tta)):
        console.print(f"{what} {result.accuracy:.2%} ({round(result.accuracy * len(test)):,}/{len(test):,})")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
