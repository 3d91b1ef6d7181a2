"""One XLA CPU device per core, so the engine runs a share of the runs on every core at once.

XLA's CPU backend runs one program on one thread for most of its small operations: the
matrix products of 64- or 256-wide networks are too small to split, and the thunk executor
runs the operations of a vmapped update one after another. The engine already compiles
one executable per local device and dispatches them asynchronously, so exposing one CPU
device per core (`--xla_force_host_platform_device_count`) runs the devices' shares of the
seeds in parallel: measured 1.6x the env steps/s of one device for 8 SAC seeds on a 2-core
machine (benchmarks/README.md). Only the CPU platform is affected; on a GPU or TPU the
engine's devices are the accelerators, whatever this sets.

The flag must be in XLA_FLAGS before JAX starts a backend (importing gymnax does), so the
CLI calls `configure_host_devices` first. A run's numbers depend on how many runs each device
vectorises (the engine's layout; `--block-size` makes them layout-independent), so the
count is recorded in every run's summary with the rest of the layout.
"""

from __future__ import annotations

import os
import sys

ENV_VAR = "JAXRL_HOST_DEVICES"
FLAG = "--xla_force_host_platform_device_count"
MAX_AUTO_DEVICES = 8  # each device compiles its own executable: more costs compile time


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def host_device_count(setting: str | int | None = None) -> int:
    """The CPU device count `setting` asks for: a positive integer, or 'auto' (one per core,
    at most MAX_AUTO_DEVICES). None reads JAXRL_HOST_DEVICES (default 'auto')."""
    text = str(setting if setting is not None else os.environ.get(ENV_VAR, "auto")).strip().lower()
    if text == "auto":
        return max(1, min(available_cores(), MAX_AUTO_DEVICES))
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"host devices {text!r} ({ENV_VAR} / --host-devices): expected a positive integer or 'auto'")
    return count


def configure_host_devices(setting: str | int | None = None) -> int | None:
    """Put `--xla_force_host_platform_device_count=N` into XLA_FLAGS for the CPU backend.

    Returns N, or None when nothing was changed: XLA_FLAGS already names a count (the user's
    choice wins), N is 1, or a JAX backend is already running (too late to change it; the
    run then uses the devices it has).
    """
    count = host_device_count(setting)
    flags = os.environ.get("XLA_FLAGS", "")
    if FLAG in flags or count == 1 or _backend_started():
        return None
    os.environ["XLA_FLAGS"] = f"{flags} {FLAG}={count}".strip()
    return count


def _backend_started() -> bool:
    if "jax" not in sys.modules:
        return False
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except (ImportError, AttributeError):  # a JAX without the private helper: assume it started
        return True
