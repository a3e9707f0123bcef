"""What the parent process and the worker say to each other (no torch here).

The parent sends a ``Request`` as JSON on the worker's command line.  The
worker answers on a pipe of its own -- never on stdout, which belongs to the
model's code -- one JSON object per line: ``{"phase": ...}`` as it enters
each phase, then ``{"trace": ...}`` or ``{"error": ...}``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

PHASES = {
    "start": "start-up (importing torch)",
    "import": "import of the model file",
    "build": "construction of the model",
    "trace": "the forward pass",
}


@dataclass
class Request:
    """What to check, and how."""

    path: str  # absolute: the worker runs in a temporary directory
    name: str | None = None
    shown_path: str = ""  # the path as the user gave it, for messages
    input_shape: tuple[int, ...] = (1, 28, 28)
    batch_size: int = 2
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    stub_imports: bool = False
    device: str = "auto"  # "auto": meta for large models, "meta", or "cpu"
    memory_label: str = "the memory limit"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Request:
        data = json.loads(text)
        return cls(**{**data, "input_shape": tuple(data["input_shape"])})


def message(**content: Any) -> bytes:
    return (json.dumps(content) + "\n").encode()
