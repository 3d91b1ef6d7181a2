"""Ctrl-C and `kill` without losing or half-writing a file.

`deferred_interrupt()` holds SIGINT (and, under `stop_on_sigterm`, SIGTERM) back while a block
that must not be cut in half runs (a resume checkpoint, moving a finished run into place) and
raises the KeyboardInterrupt when it is done. `stop_on_sigterm()` makes `kill PID` end a
command the way Ctrl-C does, so both reach the CLI's one-line "interrupted" message.

A signal that arrives while XLA runs a chunk is acted on when the chunk returns to Python
(XLA's executables cannot be cancelled midway), so a run stops within one chunk.
"""

from __future__ import annotations

import contextlib
import signal
import threading


@contextlib.contextmanager
def deferred_interrupt():
    """Run the block to its end even if SIGINT/SIGTERM arrive; then raise KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are only delivered to the main thread
        return
    received: list[int] = []
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    held = [s for s, h in previous.items() if s == signal.SIGINT or h is _raise_interrupt]
    for s in held:
        signal.signal(s, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        for s in held:
            signal.signal(s, previous[s])
    if received:
        raise KeyboardInterrupt


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def stop_on_sigterm() -> None:
    """SIGTERM raises KeyboardInterrupt in the main thread (a clean stop, as Ctrl-C)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)
