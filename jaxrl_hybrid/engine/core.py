"""`run_phase`: every run of a training phase, chunk by chunk, on the hardware at hand."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_hybrid.engine.distributed import gather
from jaxrl_hybrid.engine.store import ResumeStore

HEALTH = "params_finite"  # added to every chunk's metrics: 1.0 while the agent's parameters are finite


# Runs vectorised together when Execution.block_size is None. A run's numbers depend on its
# block size (XLA's kernels reduce in an order that depends on the batch width), so the
# default is a constant, never derived from the device or core count. CPU: 4 gives 8 seeds on
# 2 cores the same layout the old per-device-share default had (benchmarks/layout.py measures
# the cost; the pinned thread pool, not the block, is what costs 24-28% there). Accelerators:
# a wide block fills the chip; not yet measured on one (issue 27), change it with --block-size.
DEFAULT_BLOCK_SIZE = {"cpu": 4}
ACCELERATOR_BLOCK_SIZE = 256
SHARE = "share"  # block_size: one block per device share (the fastest layout, numbers depend on it)


def default_block_size(platform: str) -> int:
    return DEFAULT_BLOCK_SIZE.get(platform, ACCELERATOR_BLOCK_SIZE)


@dataclasses.dataclass(frozen=True)
class Execution:
    """How runs meet the hardware; never changes a run's numbers.

    max_parallel: runs per program call. "auto" splits only when the estimate of the runs'
        memory exceeds the device's; None runs all at once. Rounded up to whole blocks.
    checkpoint_every: chunks between resume checkpoints (0: none).
    block_size: runs vectorised together (a `blocked` loop over each device's share). A run's
        numbers depend on its block size only (min(block_size, number of runs)), never on
        max_parallel, the device count or the number of processes. None: the platform's
        default (`default_block_size`); "share": one block per device share, the fastest
        layout but one whose numbers change with the device count (identical for a rerun or
        a resume on the same machine only).
    """

    max_parallel: int | str | None = "auto"
    checkpoint_every: int = 0
    block_size: int | str | None = None

    def __post_init__(self):
        m = self.max_parallel
        if not (m is None or m == "auto" or (isinstance(m, int) and m >= 1)):
            raise ValueError(f"max_parallel must be a positive integer, 'auto' or None, got {m!r}")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be >= 0, got {self.checkpoint_every}")
        b = self.block_size
        if not (b is None or b == SHARE or (isinstance(b, int) and b >= 1)):
            raise ValueError(f"block_size must be a positive integer, {SHARE!r} or None, got {b!r}")


@dataclasses.dataclass
class PhaseResult:
    agents: Any  # final agent states of every run, stacked (numpy)
    history: dict[str, np.ndarray]  # per-chunk metrics, each (num_chunks, num_runs, ...)
    layout: dict[str, int]


def device_memory_bytes(device) -> int:
    """Memory one device can give a program: its allocator limit, or half the host's RAM (CPU)."""
    stats = None
    try:
        stats = device.memory_stats()
    except Exception:  # CPU devices report nothing on some jaxlib versions
        stats = None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"])
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)


def runner_bytes_per_run(init, inputs, hparams) -> int:
    """Bytes of one run's state (replay buffer, env states, parameters, optimiser), from shapes only."""
    one = jax.tree.map(lambda x: x[:1], (inputs, hparams))
    shapes = jax.eval_shape(jax.vmap(init), *one)
    return int(sum(math.prod(s.shape) * s.dtype.itemsize for s in jax.tree.leaves(shapes)))


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def plan_layout(
    num_runs: int, max_parallel: int | None, num_devices: int, num_processes: int, block_size: int | str = SHARE
) -> dict[str, int]:
    """Split `num_runs` into blocks, the blocks over processes, then into equal groups of whole
    blocks on as many devices as a group has blocks (at most `num_devices`).

    Returns per_process (padded runs each process trains), group_size, num_groups, num_devices
    (devices used) and block_size (runs vectorised together). Padding repeats the last run;
    padded copies are computed and dropped. With an integer `block_size` every run is in a
    block of min(block_size, num_runs) runs whatever the rest of the layout, which is what
    makes its numbers layout-independent.
    """
    if block_size == SHARE:  # one block per device share: the block follows the layout
        share = _ceil(num_runs, num_processes)
        unit = num_devices
        limit = share if max_parallel is None else max(unit, max_parallel // unit * unit)
        num_groups = _ceil(share, limit)
        group_size = _ceil(_ceil(share, num_groups), unit) * unit  # as even as possible
        return {
            "num_runs": num_runs,
            "num_processes": num_processes,
            "per_process": num_groups * group_size,
            "group_size": group_size,
            "num_groups": num_groups,
            "num_devices": num_devices,
            "block_size": group_size // num_devices,
        }
    block = min(int(block_size), num_runs)
    blocks = _ceil(_ceil(num_runs, block), num_processes)  # blocks per process
    limit = blocks if max_parallel is None else max(1, max_parallel // block)
    num_groups = _ceil(blocks, limit)
    group_blocks = _ceil(blocks, num_groups)  # as even as possible
    used = min(num_devices, group_blocks)
    group_blocks = _ceil(group_blocks, used) * used
    return {
        "num_runs": num_runs,
        "num_processes": num_processes,
        "per_process": num_groups * group_blocks * block,
        "group_size": group_blocks * block,
        "num_groups": num_groups,
        "num_devices": used,
        "block_size": block,
    }


def layout_record(execution: Execution, num_runs: int) -> dict:
    """The settings a run's numbers may depend on, for its config.json: platform, jax/jaxlib
    versions, the effective block size and (CPU) the pinned intra-op pool, the instruction set
    XLA compiles for; plus the device
    and process counts, which leave the numbers unchanged unless block_size is "share"."""
    import jaxlib

    from jaxrl_hybrid.engine.host import host_settings

    platform = jax.default_backend()
    block = execution.block_size or default_block_size(platform)
    record = {
        "platform": platform,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "block_size": block if block == SHARE else min(int(block), num_runs),
        "devices": jax.local_device_count(),
        "processes": jax.process_count(),
    }
    if platform == "cpu":
        host = host_settings()
        record.update({k: host[k] for k in ("intra_op_threads", "cpu_isa")})
    return record


# The parts of a layout record that change a run's numbers (devices and processes do only
# under block_size "share", and the resume checkpoint refuses a different count anyway).
NUMBERS_LAYOUT_FIELDS = ("platform", "jax", "jaxlib", "block_size", "intra_op_threads", "cpu_isa")


def layout_differences(saved: dict | None, current: dict) -> list[str]:
    """'layout.FIELD: SAVED -> NOW' for each numbers-relevant field of two `layout_record`s
    that differs (fields `saved` predates are not compared)."""
    if not saved:
        return []
    fields = NUMBERS_LAYOUT_FIELDS + (("devices", "processes") if current.get("block_size") == SHARE else ())
    return [
        f"layout.{k}: {saved.get(k)!r} -> {current.get(k)!r}"
        for k in fields
        if k in saved and saved.get(k) != current.get(k)
    ]


def blocked(fn, block_size: int):
    """`fn` (per run) over a leading run axis, `block_size` runs vmapped at a time.

    The blocks run in a while loop whose trip count XLA cannot see (it passes through an
    optimisation barrier), so every block is compiled the same way whether a device holds one
    block or many: a run's numbers depend on the block size only. When `fn`'s first output
    has the structure of its first argument (a runner in, a runner out), it is updated in
    place.
    """

    def local(*args):
        n = jax.tree.leaves(args)[0].shape[0]
        head = jax.tree.map(lambda x: x[:block_size], args)
        out_shapes = jax.eval_shape(jax.vmap(fn), *head)
        in_place = (
            isinstance(out_shapes, tuple)
            and jax.tree.structure(out_shapes[0]) == jax.tree.structure(args[0])
            and all(
                a.shape[1:] == o.shape[1:] and a.dtype == o.dtype
                for a, o in zip(jax.tree.leaves(args[0]), jax.tree.leaves(out_shapes[0]), strict=True)
            )
        )
        rest = out_shapes[1:] if in_place else out_shapes
        buffers = jax.tree.map(lambda s: jnp.zeros((n, *s.shape[1:]), s.dtype), rest)
        carry = (args[0], buffers) if in_place else buffers

        def body(i, carry):
            start = i * block_size
            take = lambda x: jax.lax.dynamic_slice_in_dim(x, start, block_size)
            put = lambda o, y: jax.lax.dynamic_update_slice_in_dim(o, y, start, 0)
            if in_place:  # the runner is read from the carry only, so it is never held twice
                first, bufs = carry
                ys = jax.vmap(fn)(jax.tree.map(take, first), *jax.tree.map(take, args[1:]))
                return jax.tree.map(put, first, ys[0]), jax.tree.map(put, bufs, ys[1:])
            ys = jax.vmap(fn)(*jax.tree.map(take, args))
            return jax.tree.map(put, carry, ys)

        num_blocks = jax.lax.optimization_barrier(jnp.int32(n // block_size))
        out = jax.lax.fori_loop(0, num_blocks, body, carry)
        return (out[0], *out[1]) if in_place else out

    return local


def with_health(run_chunk):
    """`run_chunk` that also reports whether the agent's parameters are all finite."""

    def chunk(runner, hparams):
        runner, metrics = run_chunk(runner, hparams)
        leaves = [x for x in jax.tree.leaves(runner.agent_state) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])) if leaves else jnp.bool_(True)
        return runner, {**metrics, HEALTH: finite.astype(jnp.float32)}

    return chunk


def first_divergence(history: dict[str, np.ndarray], steps: list[int]) -> np.ndarray:
    """Per run, the first step at which a loss, an evaluation return or a parameter was not
    finite (-1 for runs that stayed finite). `history` as in PhaseResult."""
    bad = None
    for name, values in history.items():
        values = np.asarray(values, dtype=np.float64)
        if name == HEALTH:
            b = values == 0.0
        elif name == "eval_returns" or "loss" in name:
            b = ~np.isfinite(values)
        else:  # e.g. train_episode_return is NaN when no episode finished in a chunk
            continue
        b = b.reshape(b.shape[0], b.shape[1], -1).any(-1)
        bad = b if bad is None else bad | b
    if bad is None:
        return np.full(0, -1)
    first = np.where(bad.any(0), bad.argmax(0), -1)
    return np.where(first >= 0, np.asarray(steps)[np.maximum(first, 0)], -1)


@contextlib.contextmanager
def compile_on_one_cpu(index: int = 0):
    """Compile with this thread's CPU affinity narrowed to one core (restored after); the
    `index`-th allowed core (modulo their number), so parallel compiles use different cores.

    XLA's CPU compiler splits memory-bound loops into min(pool threads, ceil(sqrt(cores this
    thread may run on))) parallel partitions, and the split changes the last bits of some
    results; seen from one core it never splits them, so the compiled program is the same on
    every machine. (Compute-bound loops split by their cost, capped by the intra-op pool that
    `engine.host.configure_host` pins.) Execution threads are XLA's own and keep every core.
    """
    if not hasattr(os, "sched_getaffinity"):  # not Linux: nothing to narrow
        yield
        return
    mask = os.sched_getaffinity(0)  # pid 0: this thread
    cores = sorted(mask)
    try:
        os.sched_setaffinity(0, {cores[index % len(cores)]})
    except OSError:
        yield
        return
    try:
        yield
    finally:
        os.sched_setaffinity(0, mask)


class DevicePrograms:
    """One executable per local device, each running its device's share of a group.

    Not `shard_map`/`pmap`: those compile the body through XLA's SPMD partitioner, whose
    output differs from the single-device program in the last bit of some reductions, so a
    run's numbers would depend on the device count. Independent executables of the same
    program keep them identical; they are compiled in parallel threads and dispatched
    asynchronously, so the devices still run at once.
    """

    def __init__(self, init, chunk, devices):
        self.devices = devices
        self.init_jit = jax.jit(init)
        self.chunk_jit = jax.jit(chunk, donate_argnums=0)
        self.compiled = None

    def _each(self, fn, items):
        return _in_threads(fn, items)

    def init(self, args):
        """Every device's share of a group's runners from its (inputs, hparams).

        On CPU devices (one per core, sharing the host's memory) the whole group is
        initialised by one executable on the first device and then split: `init` is
        `blocked`, so each block's numbers are the same whichever device computes it, and
        the other devices are spared a compile of their own (the chunk's, which runs on
        every device at once, is the one worth having per device).
        """
        if len(args) > 1 and all(d.platform == "cpu" for d in self.devices):
            whole = jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs]), *args)
            return self.scatter(self._init(jax.device_put(whole, self.devices[0])))
        return self._each(self._init, args)

    def _init(self, args):
        with compile_on_one_cpu():
            compiled = self.init_jit.lower(*args).compile()
        return compiled(*args)

    def compile(self, runners, hparams) -> None:
        if self.compiled is None:  # every group has the same shapes: compiled once per device

            def one(i_rh):
                i, rh = i_rh
                with compile_on_one_cpu(i):
                    return self.chunk_jit.lower(*rh).compile()

            self.compiled = self._each(one, list(enumerate(zip(runners, hparams, strict=True))))

    def chunk(self, runners, hparams):
        outs = [fn(r, h) for fn, r, h in zip(self.compiled, runners, hparams, strict=True)]  # async dispatch
        metrics = [jax.tree.map(np.asarray, jax.device_get(m)) for _, m in outs]
        return [r for r, _ in outs], {k: np.concatenate([m[k] for m in metrics]) for k in metrics[0]}

    def stack(self, runners):
        """The devices' runners as one host pytree (run axis concatenated)."""
        return jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs]), *jax.device_get(runners))

    def scatter(self, runner):
        """A host runner split back into per-device shares."""
        n = len(self.devices)
        share = jax.tree.leaves(runner)[0].shape[0] // n
        return [
            jax.device_put(_slice_runs(runner, d * share, share, n * share), dev) for d, dev in enumerate(self.devices)
        ]


def _in_threads(fn, items):
    """[fn(x) for x in items], one thread each (compiles and dispatches overlap)."""
    if len(items) == 1:
        return [fn(items[0])]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(fn, items))


class DeviceMap:
    """`fn` (one run's inputs -> arrays) over a leading run axis, on every local device.

    The runs are cut into blocks of `block_size` (default `default_block_size`) and the
    blocks shared over the devices as `plan_layout` does, one executable per device, so the
    numbers depend on the block size only, never on the device or core count: what
    `run_phase` does for training chunks, for a function run once (an ES generation's
    fitness over population x seeds). Returns host numpy arrays.
    """

    def __init__(self, fn, block_size: int | None = None, devices=None):
        self.fn = fn
        self.block_size = block_size
        self.devices = list(devices if devices is not None else jax.local_devices())
        self._compiled: dict = {}  # (runs per device, block) -> per-device executables

    def layout(self, num_runs: int) -> dict[str, int]:
        block = self.block_size or default_block_size(self.devices[0].platform)
        return plan_layout(num_runs, None, len(self.devices), 1, block)

    def __call__(self, *args):
        host = jax.tree.map(np.asarray, jax.device_get(args))
        num_runs = int(jax.tree.leaves(host)[0].shape[0])
        layout = self.layout(num_runs)
        devices = self.devices[: layout["num_devices"]]
        share = layout["group_size"] // len(devices)
        parts = [jax.device_put(_slice_runs(host, d * share, share, num_runs), dev) for d, dev in enumerate(devices)]
        key = (share, layout["block_size"], len(devices))
        if key not in self._compiled:
            jitted = jax.jit(blocked(self.fn, layout["block_size"]))

            def one(i_part):
                i, part = i_part
                with compile_on_one_cpu(i):
                    return jitted.lower(*part).compile()

            self._compiled[key] = _in_threads(one, list(enumerate(parts)))
        outs = [c(*p) for c, p in zip(self._compiled[key], parts, strict=True)]  # async dispatch
        outs = jax.device_get(outs)
        return jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs])[:num_runs], *outs)


def _slice_runs(tree, start, size, num_runs):
    """Runs [start, start + size) of `tree`, padded past `num_runs` by repeating the last run."""
    idx = np.minimum(np.arange(start, start + size), num_runs - 1)
    return jax.tree.map(lambda x: np.asarray(x)[idx], tree)


def run_phase(
    name: str,
    init: Callable[[Any, Any], Any],
    run_chunk: Callable[[Any, Any], tuple[Any, dict]],
    inputs: Any,
    hparams: Any,
    num_chunks: int,
    *,
    execution: Execution = Execution(),
    store: ResumeStore | None = None,
    fingerprint: dict | None = None,
    config: dict | None = None,
    on_chunk: Callable[[int, dict[str, np.ndarray]], None] | None = None,
    on_progress: Callable[[int, int, int, dict[str, np.ndarray]], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> PhaseResult:
    """Run `num_chunks` chunks of every run; returns final agents and the metrics history.

    `inputs` and `hparams` carry the run axis (leading). `on_chunk(chunk, metrics)` gets the
    metrics of all runs once every run has finished that chunk (on process 0 only);
    `on_progress(group, num_groups, chunk, metrics of the group)` after every chunk of a group,
    and with metrics None when a group starts (compiled) after chunk `chunk` (-1: from the start).
    With a `store`, a resume checkpoint is written every `execution.checkpoint_every` chunks
    and at the end; a store that already holds one continues from it, replaying `on_chunk`
    for the chunks already done (so files derived from it come out as before).
    `fingerprint` (JSON) must equal the stored one to resume; `config` (JSON) is stored with
    every checkpoint for the record (the caller compares configs before resuming).
    """
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    num_runs = int(jax.tree.leaves(inputs)[0].shape[0])
    devices = jax.local_devices()
    max_parallel = execution.max_parallel
    if max_parallel == "auto":
        per_run = runner_bytes_per_run(init, inputs, hparams)
        # State in, state out, temporaries; CPU devices (one per core) share the host's RAM.
        budget = device_memory_bytes(devices[0]) * 0.8 / 3
        if devices[0].platform == "cpu":
            budget /= len(devices)
        max_parallel = len(devices) * max(1, int(budget // max(per_run, 1)))
        if max_parallel >= num_runs:
            max_parallel = None
        else:
            log(f"{name}: {num_runs} runs x {per_run / 2**20:.1f} MiB of state; {max_parallel} at a time (auto)")
    block_size = execution.block_size or default_block_size(devices[0].platform)
    layout = plan_layout(num_runs, max_parallel, len(devices), jax.process_count(), block_size)
    devices = devices[: layout["num_devices"]]
    group_size, num_groups, per_process = layout["group_size"], layout["num_groups"], layout["per_process"]
    offset = jax.process_index() * per_process

    share = group_size // len(devices)
    block = layout["block_size"]
    programs = DevicePrograms(blocked(init, block), blocked(with_health(run_chunk), block), devices)

    def group_args(g):
        """Per device: its share of group g's (inputs, hparams), on that device."""
        start = offset + g * group_size
        return [
            jax.device_put(_slice_runs((inputs, hparams), start + d * share, share, num_runs), dev)
            for d, dev in enumerate(devices)
        ]

    runner_target = jax.eval_shape(blocked(init, block), *_slice_runs((inputs, hparams), 0, group_size, num_runs))
    agent_target = runner_target.agent_state

    # Everything this process has finished: final agents and per-chunk metrics of each group.
    done_agents: list[Any] = []
    history: list[list[dict[str, np.ndarray]]] = []
    start_group, start_chunk, runner = 0, 0, None
    meta = {"phase": name, "layout": layout, "fingerprint": fingerprint, "num_chunks": num_chunks}
    saved = store.latest() if store is not None else None
    if saved is not None:
        saved_meta = ResumeStore.meta(saved)
        for key in ("phase", "layout", "fingerprint", "num_chunks"):
            if saved_meta.get(key) != meta[key]:
                raise ValueError(
                    f"{saved}: cannot resume, its {key} is {saved_meta.get(key)!r} but this run's is {meta[key]!r}"
                )
        g_done, c_done = saved_meta["group"], saved_meta["chunks_done"]
        state = ResumeStore.restore_state(
            saved, {"runner": runner_target, "agents": [agent_target] * (g_done + (c_done == num_chunks))}
        )
        arrays = ResumeStore.arrays(saved)
        done_agents = list(state["agents"])
        for g in range(g_done + 1):
            chunks = c_done if g == g_done else num_chunks
            history.append(
                [{k.split("/", 1)[1]: v[c] for k, v in arrays.items() if k.startswith(f"g{g}/")} for c in range(chunks)]
            )
        if c_done == num_chunks:  # the group had finished; the next one starts fresh
            start_group, start_chunk = g_done + 1, 0
        else:
            start_group, start_chunk, runner = g_done, c_done, programs.scatter(state["runner"])
        log(f"{name}: resumed from {saved.name} (group {g_done + 1}/{num_groups}, {c_done}/{num_chunks} chunks)")

    def all_runs(chunk: int) -> dict[str, np.ndarray]:
        """Chunk `chunk`'s metrics of every run (a collective under jax.distributed)."""
        local = {k: np.concatenate([history[g][chunk][k] for g in range(num_groups)]) for k in history[0][chunk]}
        return {k: v[:num_runs] for k, v in gather(local).items()}

    def emit(chunk: int) -> None:
        merged = all_runs(chunk)
        if on_chunk is not None and jax.process_index() == 0:
            on_chunk(chunk, merged)

    def save(group: int, chunks_done: int) -> None:
        arrays = {
            f"g{g}/{k}": np.stack([m[k] for m in hist]) for g, hist in enumerate(history) if hist for k in hist[0]
        }
        state = {"runner": programs.stack(runner), "agents": done_agents}
        tag = f"g{group:04d}-c{chunks_done:06d}"
        store.save(tag, state, arrays, {**meta, "config": config, "group": group, "chunks_done": chunks_done})

    checkpointing = store is not None and execution.checkpoint_every > 0
    if on_chunk is not None and len(history) == num_groups:  # resumed in the last group: replay its lines
        for c in range(len(history[-1])):
            emit(c)
    for g in range(start_group, num_groups):
        first = start_chunk if g == start_group else 0
        args = group_args(g)
        hp = [h for _, h in args]
        if runner is None:
            runner = programs.init(args)
            history.append([])
        programs.compile(runner, hp)
        if on_progress is not None:
            on_progress(g, num_groups, first - 1, None)
        for c in range(first, num_chunks):
            runner, metrics = programs.chunk(runner, hp)
            history[g].append(metrics)
            if on_progress is not None:
                on_progress(g, num_groups, c, history[g][-1])
            if g == num_groups - 1 and on_chunk is not None:
                emit(c)
            if checkpointing and (c + 1) % execution.checkpoint_every == 0 and c + 1 < num_chunks:
                save(g, c + 1)
        done_agents.append(programs.stack(runner).agent_state)
        if checkpointing:  # the group's end: a later resume starts at the next group (or returns)
            save(g, num_chunks)
        runner = None

    agents = jax.tree.map(lambda x: x[:num_runs], gather(jax.tree.map(lambda *xs: np.concatenate(xs), *done_agents)))
    merged = [all_runs(c) for c in range(num_chunks)]
    return PhaseResult(agents=agents, history={k: np.stack([m[k] for m in merged]) for k in merged[0]}, layout=layout)
