"""Training recipes: every setting of a run that is not the model, the data or the seed.

Each field of a recipe is also a command-line flag of ``reference_model.train``; a recipe
only chooses their defaults. The measurements behind each value are in README.md.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from rich.table import Table

from .augment import AugmentConfig


@dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int
    lr: float  # the one-cycle schedule's max_lr (schedule.py)
    momentum: float  # SGD (Nesterov) momentum, the one-cycle schedule's max_momentum
    weight_decay: float
    label_smoothing: float
    prune: float  # InfoBatch ratio: skip this fraction of the well-learned images in the middle epochs (pruning.py)
    tta: bool  # predict from the image and its four one-pixel shifts (validation and test alike)
    validate_last: int  # validate only the last N epochs (validation with TTA costs ~1/3 of an epoch)
    augment: AugmentConfig


RECIPES: dict[str, Recipe] = {
    # The assignment's classic recipe: 19 epochs, the classic augmentation, every epoch validated.
    "classic": Recipe(
        epochs=19,
        batch_size=64,
        lr=0.1,
        momentum=0.95,
        weight_decay=1e-4,
        label_smoothing=0.0,
        prune=0.0,
        tta=False,
        validate_last=19,
        augment=AugmentConfig(),
    ),
    # The default for `net`: as few epochs as reach 99.4% on validation and test on every seed.
    "fast": Recipe(
        epochs=11,
        batch_size=256,
        lr=0.4,
        momentum=0.95,
        weight_decay=1e-4,
        label_smoothing=0.1,
        prune=0.3,
        tta=True,
        validate_last=1,
        augment=AugmentConfig(perspective_p=0.0),
    ),
}
# TinyNet (both widths): more epochs at batch 128, every image every epoch, half the translation
# (the earlier plain-convolution TinyNet's validation accuracy rose with it), the last 3 validated;
# a peak learning rate of 0.3 where fast's 0.4 at batch 256 would scale to 0.2 (README.md: validation
# rose with it).
RECIPES["tiny"] = replace(
    RECIPES["fast"],
    epochs=20,
    batch_size=128,
    lr=0.3,
    prune=0.0,
    validate_last=3,
    augment=replace(RECIPES["fast"].augment, translate=0.05),
)
DEFAULT_RECIPES = {"net": "fast", "tiny": "tiny", "tiny-6k": "tiny"}  # --recipe's default for each --model

# The help of each setting's flag (--epochs, --batch-size, ...), in the order --help shows them.
RECIPE_HELP: dict[str, str] = {
    "epochs": "epochs",
    "batch_size": "batch size",
    "lr": "the one-cycle schedule's peak learning rate",
    "momentum": "SGD Nesterov momentum (the one-cycle schedule's max_momentum)",
    "weight_decay": "weight decay",
    "label_smoothing": "label smoothing of the training loss",
    "prune": "InfoBatch: in each epoch but the first and last, skip this fraction of the well-learned "
    "images (last training loss below the mean) and weight up the well-learned ones kept (0: off)",
    "tta": "test-time augmentation: average the image and its 4 one-pixel shifts",
    "validate_last": "validate (and keep the best checkpoint of) only the last N epochs",
    "rotation": "degrees, per image",
    "translate": "fraction of the side, per image",
    "scale": "scale range MIN MAX, per image",
    "perspective_p": "probability of a perspective distortion",
    "perspective_distortion": "torchvision's distortion_scale",
    "brightness": "brightness jitter",
    "contrast": "contrast jitter",
}


def recipe_values(recipe: Recipe) -> dict[str, object]:
    """Every setting by flag name (--batch-size is batch_size), the augmentation's included."""
    values: dict[str, object] = {f.name: getattr(recipe, f.name) for f in fields(Recipe) if f.name != "augment"}
    values.update({f.name: getattr(recipe.augment, f.name) for f in fields(AugmentConfig)})
    return values


def with_values(recipe: Recipe, values: dict[str, Any]) -> Recipe:
    """``recipe`` with the given settings (by flag name) replaced."""
    augment_names = {f.name for f in fields(AugmentConfig)}
    augment = replace(recipe.augment, **{k: v for k, v in values.items() if k in augment_names})
    return replace(recipe, **{k: v for k, v in values.items() if k not in augment_names}, augment=augment)


def format_value(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return "–".join(format_value(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def recipe_table(name: str, recipe: Recipe) -> Table:
    """The settings of a run as a table; those that a flag changed from recipe ``name`` are marked."""
    base = recipe_values(RECIPES[name])
    table = Table(title=f"recipe {name}", title_justify="left", show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="dim")
    table.add_column()
    table.add_column(style="yellow")
    for setting, value in recipe_values(recipe).items():
        changed = f"(flag; {name}: {format_value(base[setting])})" if value != base[setting] else ""
        table.add_row(setting.replace("_", "-"), format_value(value), changed)
    return table
