"""Test accuracy of a saved checkpoint: ``python -m reference_model.evaluate runs/.../best.pt``.

The checkpoint is a plain state_dict, so it is loaded with ``weights_only=True``; which
model it belongs to is found by trying each one (``--model`` picks it explicitly).
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from torch import nn

from .data import DataNotFoundError, load_mnist
from .engine import DEVICES, MODELS, evaluate, pick_device

EXIT_USAGE = 2


class CheckpointError(Exception):
    """The checkpoint cannot be read or matches no model; the message is one line."""


def load_checkpoint(path: Path, model_name: str = "auto") -> tuple[str, nn.Module]:
    """The model (by name) whose parameters and buffers the state_dict at ``path`` fills exactly."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, pickle.UnpicklingError) as error:
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, not a state_dict")
    names = sorted(MODELS) if model_name == "auto" else [model_name]
    for name in names:
        model = MODELS[name]()
        try:
            model.load_state_dict(state)
        except RuntimeError:  # missing/unexpected keys or mismatched shapes
            continue
        return name, model
    raise CheckpointError(f"{path} is not a state_dict of any of: {', '.join(names)}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m reference_model.evaluate",
        description="Print the MNIST test accuracy (overall and per digit) of a saved checkpoint.",
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
        console.print(f"[red]error:[/] {error}", highlight=False, soft_wrap=True)
        return EXIT_USAGE
    device = pick_device(args.device)
    result = evaluate(model.to(device), test.to(device))
    console.print(f"{args.checkpoint}: {name} on the {len(test):,} MNIST test images", highlight=False, soft_wrap=True)
    table = Table()
    table.add_column("digit", justify="right")
    table.add_column("accuracy", justify="right")
    for digit, accuracy in enumerate(result.per_class):
        table.add_row(str(digit), f"{accuracy:.2%}")
    console.print(table)
    console.print(f"test accuracy {result.accuracy:.2%} ({round(result.accuracy * len(test)):,}/{len(test):,})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
