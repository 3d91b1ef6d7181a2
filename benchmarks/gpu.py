"""The accelerator benchmark: thousands of seeds on one GPU, measured in one command.

Run through `benchmarks/gpu.sh OUT` on a machine with one NVIDIA GPU and no network (the
script installs the wheels of `benchmarks/gpu_wheels.py` first); on a CPU with a short plan
(`--quick`) to check the script end to end. Not a test: it measures and never asserts.

Every measurement runs in its own child process, one after another, so that each has the
device to itself and its peak memory is its own; this process never starts JAX. Stages, in
order of importance, each skipped (and recorded as skipped) when the time left in --budget-s
cannot hold it:

1. `e2e`: the whole CLI SAC program (`jaxrl-hybrid train`, rejax's Pendulum config from
   `peers.py`: 64x64 swish, batch 256, lr 0.01, tau 0.02, a 10k buffer, 256 warm-up steps,
   an evaluation of 10 episodes every 2,000 steps) at each --seeds count, --steps env steps
   (--big-steps above 1,024 seeds), with the default --block-size (256 runs vectorised at a
   time on an accelerator: numbers independent of the layout); process wall, the CLI's own
   run time, XLA compile time, peak device memory, env steps/s in aggregate and per seed.
2. `rejax_e2e`: rejax 0.1.3's `jit(vmap(train))` with the same config at --rejax-seeds seeds,
   in its own site folder (its pinned packages; gymnax 0.0.9).
3. `updates`: the fused updates of SAC, IQL and CQL at 256x256, batch 256
   (`benchmarks/updates.py`'s programs) at --update-seeds counts, as a fraction of the
   matmul rate this GPU reaches at the update's own shapes in float32, TF32 and bfloat16;
   then HL-Gauss (101 bins) against MSE: time and FLOPs ratios.
4. `e2e_share`: the CLI SAC program with `--block-size share` (all seeds vectorised at once:
   fastest; numbers then depend on the device count) above 256 seeds.
5. `rejax_updates`: rejax's SAC update rate at 256x256 at the same seed counts.
6. `pqn`: PQN on gymnax CartPole for --pqn-steps env steps (--pqn-envs envs per seed).

Writes to --out: gpu.json (settings, machine, every record), gpu.md (the tables) and
gpu_e2e.png, gpu_updates.png; all rewritten after every stage, so a run stopped at its time
limit still leaves what it measured.

    bash benchmarks/gpu.sh OUT                       # the GPU run (about 8 minutes)
    bash benchmarks/gpu.sh OUT --quick               # CPU rehearsal with the same wheels
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from peers import E2E_EPISODES, E2E_EVAL_EVERY, OURS_E2E  # noqa: E402

COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
WARMUP = 256  # rejax's fill steps, which our CLI adds on top of --total-steps (peers.py)


def log(msg: str) -> None:
    print(f"[gpu] {msg}", file=sys.stderr, flush=True)


def emit(path: Path, record: dict) -> None:
    """Append one JSON record to a child's output (kept if the child is stopped later)."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def machine() -> dict:
    """Device, driver and versions, from nvidia-smi and a child's JAX (this process has none)."""
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count()}
    try:
        smi = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,driver_version,clocks.max.sm", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        info["nvidia_smi"] = smi.stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        info["nvidia_smi"] = None
    return info


# --- children: each runs in its own process and appends JSON records to --record -------------


def child_cli(record: Path, argv: list[str]) -> int:
    """Run `jaxrl-hybrid <argv>` in this process; record compile seconds (JAX's own compile
    events), peak device memory and the run's summary."""
    import jax

    compile_s = dict.fromkeys(COMPILE_EVENTS, 0.0)

    def listen(event: str, seconds: float, **_) -> None:
        if event in compile_s:
            compile_s[event] += seconds

    jax.monitoring.register_event_duration_secs_listener(listen)
    from jaxrl_hybrid.cli.main import main

    t = time.perf_counter()
    rc = main(argv)
    seconds = time.perf_counter() - t
    if rc != 0:
        return rc
    summary = json.loads((Path(argv[argv.index("--out") + 1]) / "summary.json").read_text())
    stats = jax.local_devices()[0].memory_stats() or {}
    emit(
        record,
        {
            "argv": argv,
            "device": str(jax.local_devices()[0].device_kind),
            "jax_version": jax.__version__,
            "main_s": seconds,
            "run_wall_s": summary["wall_time_s"],
            "compile_s": sum(compile_s.values()),
            "backend_compile_s": compile_s[COMPILE_EVENTS[-1]],
            "peak_bytes": stats.get("peak_bytes_in_use"),
            "bytes_limit": stats.get("bytes_limit"),
            "num_runs": summary["num_runs"],
            "total_env_steps": summary["total_env_steps"],
            "layout": summary.get("layout"),
            "final_return_mean": summary["mean"],
            "final_return_iqm": summary["iqm"],
            "diverged": summary.get("diverged"),
        },
    )
    return 0


PRECISIONS = ("float32", "tf32", "bfloat16")


def precision_args(name: str):
    """(dtype, precision) of a matmul precision: float32 at HIGHEST, TF32 (JAX's default for
    float32 on an NVIDIA GPU), bfloat16 inputs."""
    import jax
    import jax.numpy as jnp

    return {
        "float32": (jnp.float32, jax.lax.Precision.HIGHEST),
        "tf32": (jnp.float32, jax.lax.Precision.DEFAULT),
        "bfloat16": (jnp.bfloat16, jax.lax.Precision.DEFAULT),
    }[name]


def matmul_rows(hidden: int, m: int, num_seeds: int, max_bytes: float) -> list[dict]:
    """FLOP/s of an update's hidden-layer product at `num_seeds` seeds in each precision: chains
    of (2 critics x seeds) products of (m x hidden) @ (hidden x hidden), m = the batch (SAC,
    IQL) or 31 x the batch (CQL's action sets); the number of products is halved until the
    operands fit in `max_bytes` (the rate has levelled off long before)."""
    from updates import matmul_chain_flops_per_s

    products = 2 * num_seeds
    while products > 1 and products * m * hidden * 4 > max_bytes:
        products //= 2
    rows = []
    for name in PRECISIONS:
        dtype, precision = precision_args(name)
        rate = matmul_chain_flops_per_s(m, hidden, batch=products, dtype=dtype, precision=precision)
        rows.append({"num_seeds": num_seeds, "m": m, "products": products, "precision": name, "flops_per_s": rate})
    return rows


def child_updates(record: Path, args) -> int:
    """Large matmul rates; then per algorithm its update rates, each beside the matmul rates at
    its own shapes, and its HL-Gauss cost. One failure (memory, say) ends that algorithm's
    larger seed counts only; every record is written as it is made."""
    import jax
    import updates

    device = str(jax.local_devices()[0].device_kind)
    for name in PRECISIONS:
        dtype, precision = precision_args(name)
        size = args.big_matmul
        rate = updates.matmul_chain_flops_per_s(size, size, dtype=dtype, precision=precision)
        emit(record, {"kind": "matmul_big", "device": device, "size": size, "precision": name, "flops_per_s": rate})
    devices = jax.local_devices()[:1]
    ceilings = set()
    for algo in args.algos:
        m = (31 if algo == "cql" else 1) * args.batch_size
        agent = updates.make_agent(algo, args.hidden, "mse")
        draw = updates.make_data(algo, agent.spec, jax.random.PRNGKey(0), args.batch_size)
        flops = updates.flops_per_update(agent, draw)
        rate = None
        for n in args.update_seeds:
            try:
                if (n, m) not in ceilings:
                    for row in matmul_rows(args.hidden, m, n, args.max_matmul_bytes):
                        emit(record, {"kind": "matmul", **row})
                    ceilings.add((n, m))
                num = updates.updates_per_call(args, flops, n, rate)
                block = args.cql_block if algo == "cql" else None
                t = updates.time_program(agent, updates.scanned_updates(agent, draw, num), n, devices, block, 2)
            except Exception as e:  # noqa: BLE001 -- recorded; the larger counts would fail the same way
                emit(record, {"kind": "update_error", "algo": algo, "num_seeds": n, "error": repr(e)[:500]})
                log(f"{algo} {n} seeds: {e!r:.300}")
                break
            rate = n * num / t["seconds"]
            emit(record, {"kind": "update", "algo": algo, "num_seeds": n, "m": m, "updates_per_call": num,
                          "seconds": t["seconds"], "updates_per_s": rate, "updates_per_s_per_seed": rate / n,
                          "compile_s": t["compile_s"], "flops_per_update": flops, "flops_per_s": flops * rate,
                          "block": block if block and block < n else None})  # fmt: skip
            log(f"{algo} {n} seeds: {rate:.0f} updates/s, {flops * rate / 1e12:.3f} TFLOP/s")
        if algo in args.loss_algos:
            for n in args.loss_seeds:
                emit(record, {"kind": "loss_cost", **updates.loss_cost(args, algo, n, rounds=2)})
    return 0


# --- the stages ---------------------------------------------------------------------------------

PROGRESS = re.compile(r"([0-9.]+) steps/s/seed x (\d+) seeds")


class Runner:
    """Runs stage children in turn within the time budget and keeps every record."""

    def __init__(self, args, env_ours: dict, env_rejax: dict | None):
        self.args, self.env_ours, self.env_rejax = args, env_ours, env_rejax
        self.deadline = time.monotonic() + args.budget_s
        self.work = Path(args.work)
        self.work.mkdir(parents=True, exist_ok=True)
        self.result = {"benchmark": "gpu", "settings": vars(args), "machine": machine(), "stages": {}}

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def child(self, stage: str, cmd: list[str], env: dict, record: Path | None = None) -> dict:
        """Run one child for at most --stage-cap-s and the time left; its records, wall time and status."""
        limit = min(self.left(), self.args.stage_cap_s)
        if limit < self.args.min_stage_s:
            log(f"{stage}: skipped, {self.left():.0f} s left of the budget")
            return {"status": "skipped: time", "records": []}
        log(f"{stage}: {' '.join(cmd[-14:])}")
        logfile = self.work / f"{stage.replace('/', '-')}.log"
        t = time.perf_counter()
        with open(logfile, "w") as out:
            try:
                done = subprocess.run(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=limit)
                status = "ok" if done.returncode == 0 else f"failed: exit {done.returncode}"
            except subprocess.TimeoutExpired:
                status = f"stopped after {limit:.0f} s"
        seconds = time.perf_counter() - t
        records = []
        if record is not None and record.exists():
            records = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
        if status != "ok":
            log(f"{stage}: {status}\n{logfile.read_text(errors='replace')[-1500:]}")
        return {"status": status, "process_s": seconds, "records": records, "log": str(logfile)}

    def cli(self, stage: str, argv: list[str]) -> dict:
        """A `jaxrl-hybrid` child, with the CLI's own rate from its last progress line (counted
        from the end of compilation), all seeds."""
        record = self.work / f"{stage.replace('/', '-')}.jsonl"
        record.unlink(missing_ok=True)
        cmd = [sys.executable, str(HERE / "gpu.py"), "child-cli", "--record", str(record), "--", *argv]
        result = self.child(stage, cmd, self.env_ours, record)
        rates = PROGRESS.findall(Path(result["log"]).read_text(errors="replace")) if "log" in result else []
        result["cli_env_steps_per_s"] = float(rates[-1][0]) * int(rates[-1][1]) if rates else None
        return result

    def save(self) -> None:
        out = Path(self.args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "gpu.json").write_text(json.dumps(self.result, indent=2) + "\n")
        (out / "gpu.md").write_text(markdown(self.result))
        plot(self.result, out)


def sac_argv(num_seeds: int, steps: int, block: str, out: Path) -> list[str]:
    """peers.OURS_E2E (rejax's Pendulum config) at `num_seeds` seeds and `steps` env steps."""
    argv = list(OURS_E2E)
    argv[argv.index("--num-seeds") + 1] = str(num_seeds)
    argv[argv.index("--total-steps") + 1] = str(steps + WARMUP)
    argv[argv.index("--eval-every") + 1] = str(min(E2E_EVAL_EVERY, steps))
    return [*argv, "--block-size", block, "--out", str(out)]


def cli_row(result: dict, **fields) -> dict:
    """A CLI stage's row: its child's record, process seconds and env steps/s (all seeds)."""
    row = {**fields, "status": result["status"]}
    if result["records"]:
        r = result["records"][-1]
        total = r["num_runs"] * r["total_env_steps"]
        row.update(r, process_s=result["process_s"], env_steps_per_s=total / result["process_s"],
                   env_steps_per_s_per_seed=r["total_env_steps"] / result["process_s"],
                   cli_env_steps_per_s=result["cli_env_steps_per_s"])  # fmt: skip
    return row


def steps_for(args, num_seeds: int) -> int:
    """Env steps per seed of an end-to-end run: --steps up to 1,024 seeds, --big-steps above."""
    return args.steps if num_seeds <= 1024 else args.big_steps


def stage_e2e(runner: Runner, num_seeds: int, block: str) -> dict:
    steps = steps_for(runner.args, num_seeds)
    name = f"e2e/{block}/{num_seeds}"
    result = runner.cli(name, sac_argv(num_seeds, steps, block, runner.work / name))
    return cli_row(result, num_seeds=num_seeds, env_steps=steps, block_size=block)


def stage_rejax(runner: Runner, name: str, flags: list[str]) -> dict:
    if runner.env_rejax is None:
        return {"status": "skipped: no --rejax-site", "records": []}
    out = runner.work / f"{name}.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, str(HERE / "peers" / "rejax_sac.py"), "--out", str(out), *flags]
    result = runner.child(name, cmd, runner.env_rejax)
    if out.exists():
        result["records"] = [json.loads(out.read_text())]
    return result


def stage_updates(runner: Runner) -> dict:
    a = runner.args
    record = runner.work / "updates.jsonl"
    record.unlink(missing_ok=True)
    cmd = [sys.executable, str(HERE / "gpu.py"), "child-updates", "--record", str(record),
           "--algos", *a.algos, "--update-seeds", *map(str, a.update_seeds), "--hidden", str(a.hidden),
           "--batch-size", str(a.batch_size), "--seconds-per-call", str(a.seconds_per_call),
           "--max-updates", str(a.max_updates), "--cql-block", str(a.cql_block),
           "--max-matmul-bytes", str(a.max_matmul_bytes), "--big-matmul", str(a.big_matmul),
           "--loss-algos", *a.loss_algos, "--loss-seeds", *map(str, a.loss_seeds)]  # fmt: skip
    return runner.child("updates", cmd, runner.env_ours, record)


def stage_pqn(runner: Runner) -> dict:
    a = runner.args
    argv = ["train", "--algo", "pqn", "--env", "gymnax:CartPole-v1", "--num-seeds", str(a.pqn_seeds),
            "--total-steps", str(a.pqn_steps), "--num-envs", str(a.pqn_envs), "--eval-every", str(a.pqn_steps // 4),
            "--num-eval-episodes", str(E2E_EPISODES), "--overwrite", "--out", str(runner.work / "pqn")]  # fmt: skip
    return cli_row(runner.cli("pqn", argv), num_seeds=a.pqn_seeds, num_envs=a.pqn_envs)


def plan(args, runner: Runner) -> list[tuple[str, object]]:
    """The stages in order of importance: the two goals at --rejax-seeds first (ours with the
    default and the 'share' block size, and rejax), then the update rates, then the rest of
    the seed counts, rejax's update rates and PQN."""
    goal = args.rejax_seeds
    first = [n for n in args.seeds if n == goal]
    rest = sorted((n for n in args.seeds if n != goal), key=lambda n: (n < goal, -n if n > goal else n))
    rejax_steps = steps_for(args, goal)
    rejax_e2e = [
        "--seeds",
        "--e2e-seeds",
        str(goal),
        "--e2e-steps",
        str(rejax_steps),
        "--eval-every",
        str(min(E2E_EVAL_EVERY, rejax_steps)),
        "--eval-episodes",
        str(E2E_EPISODES),
    ]
    rejax_updates = [
        "--skip-e2e",
        "--seeds",
        *map(str, args.update_seeds),
        "--hidden",
        str(args.hidden),
        "--batch-size",
        str(args.batch_size),
        "--updates",
        str(max(args.max_updates // 10, 2)),
    ]
    steps = [(f"e2e/auto/{n}", lambda n=n: stage_e2e(runner, n, "auto")) for n in first]
    steps.append(("rejax_e2e", lambda: stage_rejax(runner, "rejax_e2e", rejax_e2e)))
    steps += [(f"e2e/share/{n}", lambda n=n: stage_e2e(runner, n, "share")) for n in first if n in args.share_seeds]
    steps.append(("updates", lambda: stage_updates(runner)))
    steps += [(f"e2e/auto/{n}", lambda n=n: stage_e2e(runner, n, "auto")) for n in rest]
    others = [n for n in args.share_seeds if n != goal]
    steps += [(f"e2e/share/{n}", lambda n=n: stage_e2e(runner, n, "share")) for n in others]
    steps.append(("rejax_updates", lambda: stage_rejax(runner, "rejax_updates", rejax_updates)))
    steps.append(("pqn", lambda: stage_pqn(runner)))
    return steps  # fmt: skip


# --- report -------------------------------------------------------------------------------------


def _f(x, p: int = 1) -> str:
    return "-" if x is None else f"{x:,.{p}f}"


def e2e_rows(stages: dict) -> list[dict]:
    """The CLI SAC rows, by block size then seeds."""
    rows = [v for k, v in stages.items() if k.startswith("e2e/") and "block_size" in v]  # not --skip's
    return sorted(rows, key=lambda r: (r["block_size"] != "auto", r["num_seeds"]))


def rejax_e2e(stages: dict) -> dict | None:
    """rejax's end-to-end record with its process seconds, if it ran."""
    st = stages.get("rejax_e2e", {})
    if st.get("status") != "ok" or not st.get("records"):
        return None
    return {**st["records"][0]["end_to_end"], "process_s": st["process_s"]}


def markdown(result: dict) -> str:
    st, s = result["stages"], result["settings"]
    lines = ["# jaxrl_hybrid on one accelerator", "", f"Machine: {result['machine']}", ""]
    e2e = e2e_rows(st)
    if e2e:
        lines += [
            "## SAC, gymnax Pendulum, the whole CLI program (rejax's Pendulum config)",
            "",
            "env steps/s: all seeds' env steps over the process's seconds (start to exit: imports and "
            "compilation included); running: the CLI's own rate from the end of compilation. Compile s: "
            "JAX's compile events summed (programs compiled at once overlap).",
            "",
            "| seeds | env steps | --block-size | process s | compile s | env steps/s | per seed | running | "
            "peak MiB | final return | status |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in e2e:
            peak = None if r.get("peak_bytes") is None else r["peak_bytes"] / 2**20
            lines.append(
                f"| {r['num_seeds']:,} | {r['env_steps']:,} | {r['block_size']} | {_f(r.get('process_s'))} | "
                f"{_f(r.get('compile_s'))} | {_f(r.get('env_steps_per_s'), 0)} | "
                f"{_f(r.get('env_steps_per_s_per_seed'), 1)} | {_f(r.get('cli_env_steps_per_s'), 0)} | "
                f"{_f(peak, 0)} | {_f(r.get('final_return_mean'))} | {r['status']} |"
            )
        lines.append("")
    rj = rejax_e2e(st)
    if rj:
        lines.append(
            f"rejax 0.1.3, {rj['num_seeds']:,} seeds x {rj['total_steps']:,} steps: {rj['process_s']:.1f} s process "
            f"({rj['seconds_incl_compile']:.1f} s from building the algorithm), final return "
            f"{rj['final_return_mean']:.1f}."
        )
        for r in e2e:
            if r["num_seeds"] == rj["num_seeds"] and r.get("process_s") and r["env_steps"] == rj["total_steps"]:
                lines.append(
                    f"Ours, --block-size {r['block_size']}: {rj['process_s'] / r['process_s']:.2f}x rejax's speed "
                    f"(process seconds {r['process_s']:.1f} against {rj['process_s']:.1f})."
                )
        lines.append("")
    up = st.get("updates", {}).get("records", [])
    if up:
        ceil = {(r["num_seeds"], r["m"], r["precision"]): r["flops_per_s"] for r in up if r["kind"] == "matmul"}
        big = [r for r in up if r["kind"] == "matmul_big"]
        big_text = ", ".join(f"{r['precision']} {r['flops_per_s'] / 1e12:.1f}" for r in big) or "-"
        size = big[0]["size"] if big else "?"
        lines += [
            f"## Updates at {s['hidden']}x{s['hidden']}, batch {s['batch_size']}",
            "",
            f"Matmul, chains of {size}x{size} products: {big_text} TFLOP/s. Utilisation: the update's XLA FLOPs x "
            "updates/s over the rate of chained products at its own shapes (2 critics x seeds products of batch "
            "rows, or CQL's 31 action sets) in float32 (HIGHEST), TF32 and bfloat16.",
            "",
            "| algo | seeds | updates/s | per seed | TFLOP/s | of float32 | of TF32 | of bfloat16 | compile s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in (r for r in up if r["kind"] == "update"):
            fr = [ceil.get((r["num_seeds"], r["m"], p)) for p in PRECISIONS]
            pct = ["-" if c is None else f"{100 * r['flops_per_s'] / c:.0f}%" for c in fr]
            lines.append(
                f"| {r['algo']} | {r['num_seeds']:,} | {_f(r['updates_per_s'], 0)} | "
                f"{_f(r['updates_per_s_per_seed'])} | {r['flops_per_s'] / 1e12:.3f} | {' | '.join(pct)} | "
                f"{_f(r['compile_s'])} |"
            )
        for r in (r for r in up if r["kind"] == "update_error"):
            error = " ".join(r["error"][:120].replace("|", "/").split())
            lines.append(f"| {r['algo']} | {r['num_seeds']:,} | failed: {error} |")
        costs = [r for r in up if r["kind"] == "loss_cost"]
        if costs:
            lines += ["", "| HL-Gauss vs MSE | seeds | time ratio | FLOPs ratio |", "|---|---|---|---|"]
            for c in costs:
                lines.append(f"| {c['algo']} | {c['num_seeds']} | {c['time_ratio']:.2f} | {c['flops_ratio']:.2f} |")
        lines.append("")
    ru = st.get("rejax_updates", {})
    if ru.get("status") == "ok" and ru.get("records"):
        lines += ["| rejax SAC update | seeds | updates/s |", "|---|---|---|"]
        lines += [f"| rejax | {r['num_seeds']:,} | {r['updates_per_s']:,.0f} |" for r in ru["records"][0]["rows"]]
        lines.append("")
    pqn = st.get("pqn")
    if pqn and pqn.get("process_s"):
        lines += [
            "## PQN, gymnax CartPole",
            "",
            f"{pqn['num_seeds']} seeds x {pqn['total_env_steps']:,} env steps ({pqn['num_envs']} envs each): "
            f"{pqn['process_s']:.1f} s process, {_f(pqn['env_steps_per_s'], 0)} env steps/s end to end, "
            f"{_f(pqn.get('cli_env_steps_per_s'), 0)} running; final return {pqn['final_return_mean']:.1f}.",
            "",
        ]
    missing = {k: v["status"] for k, v in st.items() if v.get("status") != "ok"}
    if missing:
        lines += ["Not measured: " + "; ".join(f"{k} ({v})" for k, v in missing.items()), ""]
    return "\n".join(lines)


def plot(result: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    st = result["stages"]
    e2e = [r for r in e2e_rows(st) if r.get("process_s")]
    if e2e:
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        for block, marker, color in (("auto", "o-", "C0"), ("share", "s--", "C1")):
            rows = [r for r in e2e if r["block_size"] == block]
            if not rows:
                continue
            seeds = [r["num_seeds"] for r in rows]
            a.loglog(seeds, [r["env_steps_per_s"] for r in rows], marker, color=color, label=f"end to end, {block}")
            running = [r.get("cli_env_steps_per_s") or float("nan") for r in rows]
            a.loglog(seeds, running, marker, color=color, alpha=0.4, label=f"running, {block}")
            peaks = [r.get("peak_bytes") for r in rows]
            if any(p is not None for p in peaks):
                b.loglog(
                    seeds, [float("nan") if p is None else p / 2**20 for p in peaks], marker, color=color, label=block
                )
        if not b.lines:
            b.text(0.5, 0.5, "no device memory statistics\n(a CPU backend reports none)", ha="center",
                   transform=b.transAxes)  # fmt: skip
        rj = rejax_e2e(st)
        if rj:
            rate = rj["num_seeds"] * rj["total_steps"] / rj["process_s"]
            a.loglog([rj["num_seeds"]], [rate], "k*", ms=12, label="rejax, end to end")
        a.set(xlabel="seeds", ylabel="env steps / s (all seeds)", title="SAC Pendulum, the CLI program (--block-size)")
        a.legend(fontsize=7)
        b.set(xlabel="seeds", ylabel="peak device memory (MiB)", title="peak device memory")
        if b.lines:
            b.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "gpu_e2e.png", dpi=100)
        plt.close(fig)
    up = [r for r in st.get("updates", {}).get("records", []) if r["kind"] == "update"]
    if up:
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for algo in dict.fromkeys(r["algo"] for r in up):
            rows = [r for r in up if r["algo"] == algo]
            ax.loglog([r["num_seeds"] for r in rows], [r["updates_per_s"] for r in rows], "o-", label=f"ours {algo}")
        ru = st.get("rejax_updates", {})
        if ru.get("status") == "ok" and ru.get("records"):
            rows = ru["records"][0]["rows"]
            ax.loglog([r["num_seeds"] for r in rows], [r["updates_per_s"] for r in rows], "k*--", label="rejax sac")
        ax.set(xlabel="seeds", ylabel="updates / s (all seeds)", title="256x256 updates, batch 256")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(out / "gpu_updates.png", dpi=100)
        plt.close(fig)


def site_env(site: str | None, with_repo: bool) -> dict:
    """The environment of a child: PYTHONPATH = the site folder (and the repo for ours)."""
    parts = [p for p in (site, str(ROOT) if with_repo else None) if p]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(parts), "PYTHONUNBUFFERED": "1"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="benchmarks/results/gpu")
    p.add_argument("--work", default="/tmp/jaxrl-gpu-work", help="the children's run folders and logs")
    p.add_argument("--budget-s", type=float, default=300, help="no stage runs past this many seconds")
    p.add_argument("--stage-cap-s", type=float, default=150, help="the longest one stage may run")
    p.add_argument("--min-stage-s", type=float, default=20, help="no stage starts with less left")
    p.add_argument("--resume-from", default=None, help="an earlier gpu.json: its finished stages are kept, not rerun")
    p.add_argument("--skip", nargs="*", default=[], help="stage names or prefixes not to run (e2e/share, pqn, ...)")
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 16, 256, 1024, 4096])
    p.add_argument("--steps", type=int, default=20_000, help="env steps per seed up to 1,024 seeds")
    p.add_argument("--big-steps", type=int, default=5_000, help="env steps per seed above 1,024 seeds")
    p.add_argument("--share-seeds", type=int, nargs="*", default=[1024, 4096], help="also with --block-size share")
    p.add_argument("--rejax-site", default=None, help="site folder of rejax's wheels (gpu.sh makes it)")
    p.add_argument("--rejax-seeds", type=int, default=1024, help="the seed count of the goals")
    p.add_argument("--algos", nargs="+", default=["sac", "iql", "cql"])
    p.add_argument("--update-seeds", type=int, nargs="+", default=[1, 16, 256, 1024])
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seconds-per-call", type=float, default=0.5)
    p.add_argument("--max-updates", type=int, default=200)
    p.add_argument("--cql-block", type=int, default=256, help="CQL seeds vectorised at a time")
    p.add_argument("--max-matmul-bytes", type=float, default=2**30)
    p.add_argument("--big-matmul", type=int, default=4096, help="size of the large square matmul measured")
    p.add_argument("--loss-algos", nargs="*", default=["sac", "iql"])
    p.add_argument("--loss-seeds", type=int, nargs="*", default=[1, 256])
    p.add_argument("--pqn-steps", type=int, default=10_000_000)
    p.add_argument("--pqn-envs", type=int, default=128)
    p.add_argument("--pqn-seeds", type=int, default=8)
    p.add_argument("--quick", action="store_true", help="a CPU rehearsal: tiny seed counts, networks and budgets")
    return p


def quick(args) -> None:
    """--quick: every stage at toy sizes, to check the script end to end on a CPU."""
    args.seeds, args.steps, args.big_steps, args.share_seeds, args.rejax_seeds = [1, 4, 8], 400, 300, [4, 8], 4
    args.update_seeds, args.loss_seeds = [1, 2], [2]
    args.hidden, args.batch_size, args.seconds_per_call, args.max_updates = 32, 32, 0.05, 4
    args.pqn_steps, args.pqn_envs, args.pqn_seeds = 16_384, 32, 2
    args.max_matmul_bytes, args.big_matmul = 2**22, 512
    args.budget_s, args.stage_cap_s = max(args.budget_s, 1200), max(args.stage_cap_s, 600)  # a CPU is slow


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["child-cli"]:
        sep = argv.index("--")
        return child_cli(Path(argv[argv.index("--record") + 1]), argv[sep + 1 :])
    p = parser()
    if argv[:1] == ["child-updates"]:
        p.add_argument("child", choices=["child-updates"])
        p.add_argument("--record", required=True)
        args = p.parse_args(argv)
        return child_updates(Path(args.record), args)
    args = p.parse_args(argv)
    if args.quick:
        quick(args)
    previous = {}
    if args.resume_from:
        previous = json.loads(Path(args.resume_from).read_text())["stages"]
    env_rejax = site_env(args.rejax_site, with_repo=False) if args.rejax_site else None
    runner = Runner(args, site_env(os.environ.get("GPU_BENCH_OURS_SITE"), with_repo=True), env_rejax)
    log(f"budget {args.budget_s:.0f} s; writing {args.out}")
    stages = runner.result["stages"]
    for name, run in plan(args, runner):
        if previous.get(name, {}).get("status") == "ok":
            stages[name] = {**previous[name], "from": args.resume_from}
        elif any(name == s or name.startswith(s.rstrip("/") + "/") for s in args.skip):
            stages[name] = {"status": "skipped: --skip", "records": []}
        else:
            stages[name] = run()
        runner.save()
    print(markdown(runner.result))
    log(f"wrote {args.out}/gpu.json, gpu.md and plots in {args.budget_s - runner.left():.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
