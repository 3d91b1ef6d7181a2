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


# MuJoCo warnings about gymnasium's own XML assets, which no user can act on
ASSET_WARNINGS = ("compiler attribute 'settotalmass' is deprecated",)


@contextlib.contextmanager
def mujoco_warnings():
    """Inside the block MuJoCo's warnings become Python `RuntimeWarning`s, except those about
    gymnasium's own assets (`ASSET_WARNINGS`), which are dropped. MuJoCo's default handler prints
    them to stderr and appends them to MUJOCO_LOG.TXT in the working directory, a file in the
    user's folder on every run."""
    import warnings

    import mujoco

    previous = mujoco.get_mju_user_warning()

    def forward(message: str) -> None:
        if not any(known in message for known in ASSET_WARNINGS):
            warnings.warn(f"MuJoCo: {message}", RuntimeWarning, stacklevel=2)

    mujoco.set_mju_user_warning(forward)
    try:
        yield
    finally:
        mujoco.set_mju_user_warning(previous)
