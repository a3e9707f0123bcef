"""archcheck: check a PyTorch model's architecture rules by tracing a real forward pass.

``import archcheck`` is cheap: torch is imported only when a model is checked
in this process (``archcheck.check``), never by the command line's parent process.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["ArchitectureError", "Report", "assert_passes", "check", "check_file"]


def __getattr__(name: str) -> Any:
    if name in ("check", "check_file", "assert_passes", "ArchitectureError"):
        from archcheck import api

        return getattr(api, name)
    if name == "Report":
        from archcheck.report import Report

        return Report
    raise AttributeError(f"module 'archcheck' has no attribute {name!r}")
