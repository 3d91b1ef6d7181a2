"""Silence what third-party C code and import-time prints write straight to a file descriptor."""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def quiet_fd(fd: int = 1):
    """Point file descriptor `fd` (1 stdout, 2 stderr) at /dev/null inside the block: JaxMARL's
    import prints to stdout, MuJoCo's model compiler warns on stderr about gymnasium's own XML
    (HalfCheetah's deprecated `settotalmass`), neither actionable by a user. Python exceptions
    raised inside still propagate and print after the block."""
    stream = sys.stdout if fd == 1 else sys.stderr
    stream.flush()
    saved = os.dup(fd)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), fd)
        try:
            yield
        finally:
            stream.flush()
            os.dup2(saved, fd)
            os.close(saved)
