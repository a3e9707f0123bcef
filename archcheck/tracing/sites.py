"""Where each module was built, in the user's terms: the line a finding about the layer points at.

A layer built by a helper (``def conv_block(...): return nn.Sequential(nn.Conv2d(...))``)
is attributed to the line of the model's ``__init__`` that called the helper,
not to the helper's one line, so that each layer of a model gets its own
line (and GitHub annotations do not pile up on the helper).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

from torch import nn
from torch.utils.weak import WeakIdKeyDictionary

from archcheck.records import Location
from archcheck.tracing.sources import is_user_code

_construction_sites: WeakIdKeyDictionary = WeakIdKeyDictionary()


@contextlib.contextmanager
def recording_construction_sites() -> Iterator[None]:
    """Remember, for each module built inside the block, the user line that built it."""
    original_init = nn.Module.__init__

    def init(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if self not in _construction_sites:
            _construction_sites[self] = construction_line(sys._getframe(1), self)

    nn.Module.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.__init__ = original_init  # type: ignore[method-assign]


def construction_site(module: nn.Module) -> Location | None:
    return _construction_sites.get(module)


def construction_line(frame: FrameType | None, built: nn.Module) -> Location | None:
    """The line that built ``built``: in the innermost ``__init__`` of another module, else the outermost user line.

    User frames between the two are helpers (functions or methods that build
    layers); the line that called them is the one that says which layer it is.
    The walk stays within the user's code that made the call: it stops at the
    first library frame above it (the importer, archcheck, a test runner).
    """
    outermost: Location | None = None
    while frame is not None:
        code = frame.f_code
        if is_user_code(code):
            owner = frame.f_locals.get("self")
            if owner is not built:
                outermost = Location(code.co_filename, frame.f_lineno)
                if code.co_name == "__init__" and isinstance(owner, nn.Module):
                    return outermost
        elif outermost is not None:
            break
        frame = frame.f_back
    return outermost
