"""archcheck: check a PyTorch model's architecture rules by tracing a real forward pass.

``import archcheck`` is cheap: torch is imported only when a model is checked
in this process (``archcheck.check``), never by the command line's parent process.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["ArchitectureError", "BadSetting", "Report", "assert_passes", "check", "check_file"]


# Where each public name lives; importing it on first use keeps ``import archcheck`` cheap.
_HOMES = {
    "check": "archcheck.api",
    "check_file": "archcheck.api",
    "assert_passes": "archcheck.api",
    "ArchitectureError": "archcheck.errors",
    "BadSetting": "archcheck.errors",
    "Report": "archcheck.report",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'archcheck' has no attribute {name!r}")
