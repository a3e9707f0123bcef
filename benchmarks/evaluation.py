"""Evaluation with test-time augmentation: the model as trained against its BatchNorm-folded
copy (what ``reference_model.evaluation.evaluate`` runs), measured in the same run.

    python benchmarks/evaluation.py            # Net, 10,000 images, ~1 minute on 2 cores
    python benchmarks/evaluation.py --model tiny

The images are random (the time of a forward pass does not depend on what the pixels
hold), so no MNIST download is needed. Each figure is the best of 3 rounds, the two
variants taking turns within a round; both predict with the same five views per image.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from a checkout

import reference_model  # noqa: E402, F401  - first: it sets OpenMP's spin count before torch loads

# isort: split
import torch  # noqa: E402
from torch import nn  # noqa: E402

from reference_model.data import Split, batches, prepare  # noqa: E402
from reference_model.evaluation import MODELS, folded_for_inference, predict  # noqa: E402


def seconds_to_predict(model: nn.Module, split: Split, batch_size: int) -> float:
    """One pass of test-time-augmented prediction over ``split`` (channels_last, as the trainer)."""
    start = time.perf_counter()
    with torch.inference_mode():
        for images, _ in batches(split, batch_size):
            predict(model, prepare(images, channels_last=True), tta=True, channels_last=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="net")
    parser.add_argument("--images", type=int, default=10_000)
    args = parser.parse_args()
    torch.manual_seed(0)
    split = Split(torch.randint(0, 256, (args.images, 28, 28), dtype=torch.uint8), torch.zeros(args.images).long())
    model = MODELS[args.model]().to(memory_format=torch.channels_last)
    with torch.no_grad():  # running statistics that are not BatchNorm's initial 0 and 1
        model(prepare(split.images[:512], channels_last=True))
    model.eval()
    folded = folded_for_inference(model).to(memory_format=torch.channels_last)
    variants: dict[str, Callable[[], float]] = {
        "as trained (BatchNorm separate), batches of 2,500": lambda: seconds_to_predict(model, split, 2500),
        "as trained (BatchNorm separate), batches of 1,000": lambda: seconds_to_predict(model, split, 1000),
        "BatchNorm folded, batches of 1,000 (the trainer)": lambda: seconds_to_predict(folded, split, 1000),
    }
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(3):
        for name, run in variants.items():
            best[name] = min(best[name], run())
    baseline = next(iter(best.values()))
    print(f"{args.model}, {args.images:,} images, 5 views each, {torch.get_num_threads()} threads (best of 3)")
    for name, seconds in best.items():
        print(f"  {name:<52} {seconds:6.2f} s  {baseline / seconds:4.2f}x")


if __name__ == "__main__":
    main()
