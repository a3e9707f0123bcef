"""Which lines of code are the user's, so findings can point at them.

A frame belongs to the user when its file is not part of Python, an installed
package, torch or archcheck itself.  Walking out from the current frame to the
first such frame gives the line in the model file responsible for a layer's
construction or for a functional call.
"""

from __future__ import annotations

import os
import sysconfig
from types import CodeType, FrameType

import torch

from archcheck.records import Location

_LIBRARY_DIRS = tuple(
    os.path.join(os.path.realpath(path), "")
    for path in {
        *(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")),
        os.path.dirname(torch.__file__),
        os.path.dirname(__file__),
    }
)
_user_code: dict[CodeType, bool] = {}


def is_user_code(code: CodeType) -> bool:
    known = _user_code.get(code)
    if known is None:
        filename = code.co_filename
        known = not filename.startswith("<") and not is_library_file(filename)
        _user_code[code] = known
    return known


def is_library_file(filename: str) -> bool:
    """Part of Python, an installed package, torch or archcheck (even inside the submission's folder, as a venv)."""
    return os.path.realpath(filename).startswith(_LIBRARY_DIRS)


def user_location(frame: FrameType | None, skip_self: object = None) -> Location | None:
    """The innermost user frame from ``frame`` outwards, skipping the constructors of ``skip_self``."""
    while frame is not None:
        if is_user_code(frame.f_code) and (skip_self is None or frame.f_locals.get("self") is not skip_self):
            return Location(frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back
    return None
