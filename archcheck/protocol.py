"""What the parent process and the worker say to each other (no torch here).

The parent sends a ``Request`` as JSON, inside the worker's spec.  The worker
answers on a channel of its own -- never on the stream the model's code prints
to -- one JSON object per line: ``{"phase": ...}`` as it enters each phase,
then ``{"trace": ...}`` or ``{"error": ...}``.

The fork server (Linux and macOS) talks to the parent over a stream socket in
length-prefixed JSON frames; a launch request carries the child's two pipes as
file descriptors.  A stream socket rather than SOCK_SEQPACKET, which macOS lacks.
"""

from __future__ import annotations

import json
import socket
import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

PHASES = {
    "start": "start-up (importing torch)",
    "import": "import of the model file",
    "build": "construction of the model",
    "trace": "the forward pass",
}


@dataclass
class Request:
    """What to check, and how: built by ``config.Settings.request``, where every default lives."""

    path: str  # absolute: the worker runs in a temporary directory
    name: str | None
    shown_path: str  # the path as the user gave it, for messages
    input_shape: tuple[int, ...]
    batch_size: int
    model_kwargs: dict[str, Any]
    stub_imports: bool  # missing packages the file itself imports become inert stubs
    run_top_level: bool  # run the whole file, not only its definitions (archcheck.tracing.toplevel)
    device: str  # "auto": meta for large models, "meta", or "cpu"
    memory_label: str  # the memory limit, as the user wrote it, for messages

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Request:
        data = json.loads(text)
        return cls(**{**data, "input_shape": tuple(data["input_shape"])})


def message(**content: Any) -> bytes:
    """One line of the worker's answer."""
    return (json.dumps(content) + "\n").encode()


_LENGTH = struct.Struct("!I")


def send_frame(channel: socket.socket, content: dict[str, Any], fds: Sequence[int] = ()) -> None:
    """Send one frame; the file descriptors travel with its first byte."""
    body = json.dumps(content).encode()
    frame = _LENGTH.pack(len(body)) + body
    sent = socket.send_fds(channel, [frame], list(fds)) if fds else 0
    channel.sendall(frame[sent:])


def receive_frame(
    channel: socket.socket, timeout: float | None = None, max_fds: int = 0
) -> tuple[dict[str, Any], list[int]] | None:
    """The next frame and the descriptors that came with it; None at end of stream.

    ``timeout`` bounds the wait for a frame to begin (``TimeoutError``); once it
    has begun, the rest is read to the end so that the stream stays in step.
    """
    channel.settimeout(timeout)
    try:
        header, fds = _receive_exactly(channel, _LENGTH.size, max_fds)
    finally:
        channel.settimeout(None)
    if header is None:
        return None
    (length,) = _LENGTH.unpack(header)
    body, more = _receive_exactly(channel, length, max_fds)
    if body is None:
        return None
    return json.loads(body), fds + more


def _receive_exactly(channel: socket.socket, size: int, max_fds: int) -> tuple[bytes | None, list[int]]:
    data, fds = b"", []
    while len(data) < size:
        if max_fds:
            chunk, received, _, _ = socket.recv_fds(channel, size - len(data), max_fds)
            fds += received
        else:
            chunk = channel.recv(size - len(data))
        if not chunk:
            return None, fds
        data += chunk
        channel.settimeout(None)  # begun: read the rest however long it takes
    return data, fds
