"""Small helpers for the English of messages, shared by the rules and the output formats."""

from __future__ import annotations


def plural(count: int, word: str) -> str:
    """``plural(1, "rule")`` is "1 rule", ``plural(2, "rule")`` "2 rules"."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def listed(items: list[str], most: int = 4) -> str:
    """The first ``most`` items, comma-separated, with "..." when there are more."""
    return ", ".join(items[:most]) + (" ..." if len(items) > most else "")
