"""One XLA CPU device per core, so the engine runs a share of the runs on every core at once.

XLA's CPU backend runs one program on one thread for most of its small operations: the
matrix products of 64- or 256-wide networks are too small to split, and the thunk executor
runs the operations of a vmapped update one after another. The engine already compiles
one executable per local device and dispatches them asynchronously, so exposing one CPU
device per core (`--xla_force_host_platform_device_count`) runs the devices' shares of the
seeds in parallel: measured 1.6x the env steps/s of one device for 8 SAC seeds on a 2-core
machine (benchmarks/README.md). Only the CPU platform is affected; on a GPU or TPU the
engine's devices are the accelerators, whatever this sets.

XLA's CPU client also sizes its intra-op thread pool max(cores, devices), and its compiler
splits loops into as many partitions as that pool has threads; the split changes the last
bits of some results (measured: the same SAC run on 1 device differs from one of 4 devices on
a 2-core machine, and equals it once the pool is pinned). So `configure_host` also pins the
pool to INTRA_OP_THREADS (XLA reads NPROC for it): with the engine's fixed block size, a run's
numbers are then the same on any core count and any device count up to that many.

The compiled code also depends on the CPU model: XLA targets the newest instruction set
the host has and hands dots to YNNPACK, whose kernels are picked at run time. Measured on
SAC (2 seeds, 1500 steps): this AVX-512 machine, the same with --xla_cpu_max_isa=AVX2, and
qemu emulating a Haswell give three different metrics.jsonl, and capping the ISA and turning
YNNPACK/XNNPACK off still leaves the emulated Haswell different. So identity across CPU
models is not promised; `cpu_isa()` is recorded in the layout and resume checks it.

All of these must be in the environment before JAX starts a backend (importing gymnax
does), so the CLI calls `configure_host` first; Python users who want the same guarantee
call it before importing JAX. A run's config.json records them under "layout"
(`engine.core.layout_record`).
"""

from __future__ import annotations

import os
import platform
import sys

ENV_VAR = "JAXRL_HOST_DEVICES"
FLAG = "--xla_force_host_platform_device_count"
MAX_AUTO_DEVICES = 8  # each device compiles its own executable: more costs compile time
THREADS_VAR = "NPROC"  # read by XLA's CPU client for the size of its intra-op thread pool
INTRA_OP_THREADS = 8  # the pinned pool: at least the most devices whose numbers are identical
X86_ISAS = ("SSE4_2", "AVX", "AVX2", "AVX512")  # what cpu_isa reports, oldest first


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
        raise ValueError(f"--host-devices {text!r} (or {ENV_VAR}): expected a positive integer or 'auto'")
    if count > INTRA_OP_THREADS:
        raise ValueError(
            f"--host-devices {count} (or {ENV_VAR}): at most {INTRA_OP_THREADS}; XLA's CPU thread pool is pinned to "
            f"{INTRA_OP_THREADS} threads so that numbers do not depend on the machine, and more devices would resize it"
        )
    return count


def configure_host(setting: str | int | None = None, pin_threads: bool = True) -> dict:
    """Set up the CPU backend before JAX starts: the device count and the pinned thread pool.

    Returns the settings in force (recorded in a run's config.json): host_devices (the CPU
    device count), intra_op_threads (the pool size, None when left to XLA) and whether they
    could still be applied (False when a JAX backend had already started).
    """
    count = host_device_count(setting)
    started = _backend_started()
    if pin_threads and not started:
        os.environ[THREADS_VAR] = str(INTRA_OP_THREADS)
    configure_host_devices(count)
    return {"host_devices": count, "intra_op_threads": host_settings()["intra_op_threads"], "applied": not started}


def cpu_isa() -> str:
    """The instruction set XLA compiles for on this process: on x86-64 the newest of
    X86_ISAS the CPU has, capped by --xla_cpu_max_isa; elsewhere the machine name."""
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return machine
    try:
        with open("/proc/cpuinfo") as f:
            words = next((line for line in f if line.startswith("flags")), "").split()
        have = {"SSE4_2": "sse4_2", "AVX": "avx", "AVX2": "avx2", "AVX512": "avx512f"}
        best = max((i for i, isa in enumerate(X86_ISAS) if have[isa] in words), default=0)
    except OSError:  # not Linux: assume the cap is available
        best = len(X86_ISAS) - 1
    cap = xla_flag("--xla_cpu_max_isa")
    if cap and cap.upper() in X86_ISAS:
        best = min(best, X86_ISAS.index(cap.upper()))
    return X86_ISAS[best]


def xla_flag(name: str) -> str | None:
    """The value XLA_FLAGS gives `name` ("--xla_..."), the last one winning; None if unset."""
    value = None
    for part in os.environ.get("XLA_FLAGS", "").split():
        if part == name or part.startswith(name + "="):
            value = part.split("=", 1)[1] if "=" in part else "true"
    return value


def host_settings() -> dict:
    """The layout-relevant host settings of this process, as XLA will see (or saw) them."""
    count = xla_flag(FLAG)
    threads = os.environ.get(THREADS_VAR)
    return {
        "host_devices": int(count) if count and count.isdigit() else 1,
        "intra_op_threads": int(threads) if threads and threads.isdigit() else None,
        "cpu_isa": cpu_isa(),
    }


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
