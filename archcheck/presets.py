"""The built-in presets, as data: one table per assignment of the course.

A preset is what an assignment asks of the architecture: the rules it
enables, the rules' options, the input shape and the parameter budget, plus
the assignment's own wording (shown by ``archcheck --list-presets`` and in the
README).  The keys are those of ``[tool.archcheck.presets.NAME]`` in a
pyproject.toml, where users define their own the same way; ``extends`` names
the preset whose values a preset starts from (one in a pyproject.toml that
names none extends ``mnist``; ``mnist`` itself extends nothing).
``archcheck.config`` validates these tables with the same settings table as
every other source, and a test checks every rule id against the registry.
"""

from __future__ import annotations

from typing import Any

DEFAULT_PRESET = "mnist"

BUILTIN_PRESETS: dict[str, dict[str, Any]] = {
    "mnist": {
        "description": "MNIST: fewer than 20,000 parameters, BatchNorm, Dropout, GAP, no fully connected layer",
        "assignment": (
            "Reach 99.4% test accuracy on MNIST with fewer than 20,000 parameters, using Batch"
            " Normalization, Dropout and Global Average Pooling, and no fully connected layer."
        ),
        "rules": ["max-params", "batchnorm", "dropout", "gap", "no-linear", "num-classes"],
        "input-shape": [1, 28, 28],
        "max-params": 20_000,
        "num-classes": 10,
    },
    "mnist-8k": {
        "extends": "mnist",
        "description": "MNIST with fewer than 8,000 parameters, the same rules as mnist",
        "assignment": "The same model with fewer than 8,000 parameters (99.4% on MNIST).",
        "max-params": 8_000,
    },
    "cifar10": {
        "extends": "mnist",
        "description": (
            "CIFAR-10: fewer than 200,000 parameters, no max pooling, a depthwise-separable and a"
            " dilated convolution, GAP, receptive field of 44+, an FC head after GAP allowed"
        ),
        "assignment": (
            "Train on CIFAR-10 with fewer than 200,000 parameters. No max pooling: downsample with"
            " strided or dilated convolutions instead. Use at least one depthwise-separable"
            " convolution and at least one dilated convolution. End with Global Average Pooling"
            " (a fully connected layer after GAP is allowed). The receptive field must be more than"
            " 44 pixels."
        ),
        "rules": [
            "max-params",
            "no-maxpool",
            "depthwise-separable",
            "dilated-conv",
            "receptive-field",
            "gap",
            "no-linear",
            "num-classes",
        ],
        "input-shape": [3, 32, 32],
        "max-params": 200_000,
        "num-classes": 10,
        "fc-after-gap": True,
        "min-receptive-field": 44,
    },
}
