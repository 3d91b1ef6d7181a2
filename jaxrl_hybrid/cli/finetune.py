"""`jaxrl-hybrid finetune`: offline pretraining then online fine-tuning, every seed in one program.

    jaxrl-hybrid finetune --algo wsrl --dataset pendulum-medium.hdf5 --pretrain-updates 10000 \
        --online-steps 20000 --num-seeds 16 --out runs/wsrl
    jaxrl-hybrid finetune --algo calql --dataset pendulum-medium.hdf5 \
        --init-from runs/wsrl/checkpoints/pretrain_10000 --online-steps 20000 --num-seeds 16 --out runs/calql

A run folder holds config.json, metrics.jsonl (pretraining evaluations with "phase":
"pretrain", then "phase": "online" from step 0), summary.json (per seed: start score, final
score, initial dip, AUC, with IQM and CIs), report.md + learning_curves.png, and
checkpoints/pretrain_<updates> (the agents after pretraining; `--init-from` resumes from it)
and checkpoints/online_<steps>.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import time
import warnings
from typing import TYPE_CHECKING, Annotated, Any, Literal

import tyro

from jaxrl_hybrid.cli.options import (
    RunOptions,
    check_out_early,
    eval_every_or_default,
    execution_from,
    out_or_default,
    positive,
)

if TYPE_CHECKING:  # JAX is imported only when a command runs (`--help` stays fast)
    import numpy as np

    from jaxrl_hybrid.training.finetune import FinetuneConfig

# training.finetune.METHODS (tests/test_finetune.py checks that the two agree)
Method = Literal["wsrl", "calql", "cql", "iql", "moorl", "sac"]


@dataclasses.dataclass
class Finetune(RunOptions):
    """Offline-to-online: pretrain on --dataset, then fine-tune online in the dataset's env.

    wsrl: Cal-QL/CQL pretraining, SAC online without the offline data after a frozen-policy
    warm-up. calql, cql, iql: the same algorithm online with 50/50 offline/online batches.
    moorl: a Reptile meta-policy over the offline and online buffers. sac: SAC from scratch.
    """

    algo: Method = "wsrl"
    dataset: str | None = None
    """offline dataset (HDF5 file, Minari folder or id); its metadata names the env"""
    pretrain_updates: int | None = None
    """offline updates; default 10000 (0 for sac and moorl, which start from scratch)"""
    online_steps: int = 20_000
    """online env steps per seed, warm-up included"""
    num_seeds: int = 8
    seed: int = 0
    out: str | None = None
    """run folder; default runs/finetune_<algo>_s<seed>"""
    overwrite: bool = False
    init_from: str | None = None
    """skip pretraining: start from saved agents (runs/x/checkpoints/pretrain_<updates>, or an offline
    `train` run's checkpoints/ folder)"""
    pretrain_algo: Literal["calql", "cql"] | None = None
    """wsrl and moorl: the offline algorithm pretrained (default calql for wsrl)"""
    eval_every: int | None = None
    """online env steps between evaluations; default a tenth of --online-steps"""
    pretrain_eval_every: int | None = None
    """offline updates between evaluations; default a fifth of --pretrain-updates"""
    num_eval_episodes: int = 10
    warmup_steps: int | None = None
    """online steps before the first update; default wsrl 5000 (frozen policy), sac 1000 (random), else 0"""
    offline_fraction: float = 0.5
    """calql / cql / iql: share of offline rows in every online minibatch"""
    hidden_dims: tuple[int, ...] | None = None
    """network widths; default 256 256"""
    num_critics: int | None = None
    """critic ensemble size; default wsrl 10 (min over a random 2), else 2"""
    layer_norm: bool | None = None
    """LayerNorm in the critic; default on for wsrl"""
    batch_size: int | None = None
    """pretraining minibatch; default 256"""
    online_batch_size: int | None = None
    """default wsrl 1024, else --batch-size"""
    utd: int | None = None
    """online critic updates per env step; default wsrl 4, else 1"""
    num_actions: int | None = None
    """CQL / Cal-QL sampled actions per set; default 10"""
    critic_loss: Literal["mse", "huber", "hl_gauss", "two_hot"] = "mse"
    num_bins: int = 101
    v_min: float | None = None
    v_max: float | None = None
    buffer_size: int = 100_000
    moorl_inner_steps: int = 2
    moorl_meta_lr: float = 0.5
    hparam: Annotated[tuple[str, ...], tyro.conf.UseAppendAction] = ()
    """traced hyperparameter NAME=VALUE (repeatable), e.g. actor_lr=1e-4"""


def wsrl_defaults() -> dict:
    """CLI names of WSRL's paper settings (training.finetune.WSRL_CRITICS; WSRL_ONLINE applies itself)."""
    from jaxrl_hybrid.training.finetune import WSRL_CRITICS

    return {"num_critics": WSRL_CRITICS["num_critics"], "layer_norm": WSRL_CRITICS["critic_layer_norm"]}


def check_counts(args: Finetune) -> None:
    """Every count flag is a positive integer (0 is refused by name, never read as a default)."""
    for flag in ("online_steps", "num_seeds", "num_eval_episodes", "eval_every", "pretrain_eval_every", "utd",
                 "batch_size", "online_batch_size", "num_critics", "num_bins", "buffer_size"):  # fmt: skip
        positive(getattr(args, flag), "--" + flag.replace("_", "-"))
    for flag in ("pretrain_updates", "warmup_steps"):
        positive(getattr(args, flag), "--" + flag.replace("_", "-"), minimum=0)


def build_finetune_config(args: Finetune, dataset) -> FinetuneConfig:
    """FinetuneConfig from CLI arguments, with each method's defaults filled in."""
    from jaxrl_hybrid.agents import CalQLConfig, CQLConfig, IQLConfig, SACConfig
    from jaxrl_hybrid.cli.main import _critic_loss
    from jaxrl_hybrid.training.finetune import FinetuneConfig

    check_counts(args)
    method = args.algo
    if args.pretrain_algo is not None and method not in ("wsrl", "moorl"):
        raise ValueError(f"--pretrain-algo is for wsrl and moorl; --algo {method} pretrains {method}")
    if args.num_actions is not None and method not in ("wsrl", "calql", "cql", "moorl"):
        raise ValueError(f"--num-actions is a CQL / Cal-QL setting; --algo {method} samples no actions")
    pretrain_updates = args.pretrain_updates
    if pretrain_updates is None:
        pretrain_updates = 0 if method in ("sac", "moorl") and args.pretrain_algo is None else 10_000
    pretrained = {"wsrl": args.pretrain_algo or "calql", "moorl": args.pretrain_algo}.get(method, method)
    if pretrain_updates and pretrained in (None, "sac"):
        raise ValueError(f"--algo {method} starts from scratch: pass --pretrain-updates 0 (or --pretrain-algo)")
    cfg_cls = {"calql": CalQLConfig, "cql": CQLConfig, "iql": IQLConfig}.get(pretrained, SACConfig)
    defaults = wsrl_defaults() if method == "wsrl" else {}

    def pick(name, fallback):
        value = getattr(args, name)
        return value if value is not None else defaults.get(name, fallback)

    fields = {f.name for f in dataclasses.fields(cfg_cls)}
    num_critics = pick("num_critics", 2)
    env = dataset.metadata.get("env") or ""
    given = {
        "hidden_dims": pick("hidden_dims", (256, 256)),
        "batch_size": pick("batch_size", 256),
        "num_critics": num_critics,
        "num_min_critics": min(2, num_critics),
        "critic_layer_norm": bool(pick("layer_norm", False)),
        "num_actions": args.num_actions,
        "critic_loss": _critic_loss(args, env),
    }
    agent = cfg_cls(**{k: v for k, v in given.items() if k in fields and v is not None})
    return FinetuneConfig(
        method=method,
        agent=agent,
        pretrain_updates=pretrain_updates,
        pretrain_eval_every=args.pretrain_eval_every,
        online_steps=args.online_steps,
        eval_every=eval_every_or_default(args.eval_every, args.online_steps),
        warmup_steps=args.warmup_steps,
        online_batch_size=args.online_batch_size,
        online_utd=args.utd,
        offline_fraction=args.offline_fraction,
        buffer_size=args.buffer_size,
        num_eval_episodes=args.num_eval_episodes,
        moorl_inner_steps=args.moorl_inner_steps,
        moorl_meta_lr=args.moorl_meta_lr,
        dataset=args.dataset,
    )


def _stats(values: np.ndarray, ok: np.ndarray, seed: int) -> dict[str, Any]:
    """Per-seed values and their aggregates over the seeds that did not diverge."""
    import numpy as np

    from jaxrl_hybrid.cli.experiment import finite_summary

    return {"per_seed": np.asarray(values).tolist(), **finite_summary(values, ok, seed)}


def run_finetune(
    config: FinetuneConfig,
    *,
    dataset,
    num_seeds: int,
    seed: int,
    out: str,
    overwrite: bool = False,
    init_from: str | None = None,
    hparams_overrides: dict[str, float] | None = None,
    extra_config: dict[str, Any] | None = None,
    execution=None,
    resume: bool = False,
    options=None,
) -> dict[str, Any]:
    """Pretrain (or restore from `init_from`) and fine-tune `num_seeds` seeds; write the run folder.

    Pretraining and fine-tuning are jitted and vmapped over seeds, one chunk at a time, with
    a progress line per chunk. The agents after pretraining are saved (checkpoints/pretrain_<updates>)
    before the online phase begins; restoring them gives the same online phase bit for bit.
    `execution`, `resume` and `options` as in `cli.experiment.run_experiment` (each phase
    checkpoints and resumes on its own; a resumed run repeats the uninterrupted one; TensorBoard
    and W&B get the phase as a tag prefix).
    """
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxrl_hybrid.checkpoint import read_metadata, restore_like, save_agent_states
    from jaxrl_hybrid.cli.experiment import (
        RESUME_DIR,
        _open_run_dir,
        diverged_runs,
        json_default,
        make_sinks,
        progress_printer,
        resume_store,
        seed_keys,
    )
    from jaxrl_hybrid.data import fingerprint as data_fingerprint
    from jaxrl_hybrid.data.stats import normalized_score
    from jaxrl_hybrid.engine import Execution, first_divergence, run_phase
    from jaxrl_hybrid.engine.core import layout_record
    from jaxrl_hybrid.logging.sinks import chunk_scalars
    from jaxrl_hybrid.report.curves import finetune_summary
    from jaxrl_hybrid.report.finetune import write_finetune_report
    from jaxrl_hybrid.training.finetune import PRETRAIN_KEY, make_finetune_program, pretrain_algo
    from jaxrl_hybrid.training.offline import check_mc_discount

    if num_seeds < 1:
        raise ValueError(f"num_seeds must be >= 1, got {num_seeds}")
    if jax.process_index() == 0:
        from jaxrl_hybrid.logging.run_dir import check_out

        check_out(out, overwrite, resume)  # before anything is compiled
    program = make_finetune_program(config, dataset)
    algo = pretrain_algo(config)
    fingerprint = data_fingerprint(dataset)
    if init_from is not None:
        meta = read_metadata(init_from)
        # A finetune run's checkpoints name the algo; a `train` run's hold its TrainConfig and grid.
        saved_algo = meta.get("algo") or meta.get("train", {}).get("algo")
        saved_runs = meta.get("num_runs") or meta.get("num_seeds", 0) * len(meta.get("grid") or [{}])
        problems = []
        if saved_algo != algo:
            problems.append(f"it holds {saved_algo!r} agents, this run fine-tunes {algo!r} pretraining")
        if saved_runs != num_seeds:
            problems.append(f"it holds {saved_runs} runs, --num-seeds is {num_seeds}")
        if meta.get("seed") != seed:
            problems.append(f"its seed is {meta.get('seed')}, --seed is {seed}")
        if meta.get("dataset_fingerprint") != fingerprint:
            problems.append("it was pretrained on a different dataset (fingerprints differ)")
        if problems:
            raise ValueError(f"--init-from {init_from}: " + "; ".join(problems))
    overrides = hparams_overrides or {}
    names = [f.name for f in dataclasses.fields(program.default_hparams)]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ValueError(f"hparams {unknown}: not hyperparameters of {config.method}; known: {names}")
    hparams_one = program.default_hparams.replace(**{k: jnp.float32(v) for k, v in overrides.items()})
    check_mc_discount("calql" if "calql" in (algo, config.method) else algo, hparams_one, dataset)
    hparams = jax.tree.map(lambda x: jnp.broadcast_to(x, (num_seeds, *jnp.shape(x))), hparams_one)
    keys = seed_keys(seed, num_seeds)
    env_name = dataset.metadata.get("env")
    refs = program.reference_returns

    def scores(returns: np.ndarray) -> np.ndarray:
        return returns if refs is None else normalized_score(returns, *refs)

    record = {
        "finetune": config.to_dict(),
        "pretrain_algo": algo,
        "init_from": init_from,
        "dataset_fingerprint": fingerprint,
        "env": env_name,
        "num_seeds": num_seeds,
        "seed": seed,
        "seed_derivation": "key_i = fold_in(PRNGKey(seed), i); phase keys fold_in(key_i, phase)",
        "hparams": jax.tree.map(float, dataclasses.asdict(hparams_one)),
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "layout": layout_record(execution or Execution(), num_seeds),
        **(extra_config or {}),
    }
    run_dir = _open_run_dir(out, overwrite, resume, record, fingerprint, "fine-tuning run")
    sinks = make_sinks(options, out, f"{config.method}-{env_name}", record)
    execution = execution or Execution()
    t0 = time.perf_counter()
    checkpoint_meta = {
        "algo": algo,
        "method": config.method,
        "dataset_fingerprint": fingerprint,
        "num_seeds": num_seeds,
        "num_runs": num_seeds,
        "seed": seed,
        "agent": config.to_dict()["agent"],
        "jax_version": jax.__version__,
    }

    def write_line(phase: str, chunk: int, step: int, returns: np.ndarray, metrics=None) -> None:
        line = {"phase": phase, "chunk": chunk, "step": step, "eval_return": returns.tolist()}
        if refs is not None:
            line["normalized_score"] = scores(returns).tolist()
        line.update({k: np.asarray(v, np.float64).tolist() for k, v in (metrics or {}).items() if k != "eval_returns"})
        if run_dir is not None:
            run_dir.append_jsonl("metrics.jsonl", line)
        scalars = chunk_scalars({k: v for k, v in (metrics or {}).items()}, returns)
        for sink in sinks:
            sink.log(step, {f"{phase}/{k}": v for k, v in scalars.items()})

    def phase(name: str, part, init, inputs, message: str):
        """Every chunk of `part` (a TrainProgram) for every seed: a metrics line and a progress line each."""
        print(f"{message} ({time.perf_counter() - t0:.0f}s so far)", file=sys.stderr, flush=True)
        result = run_phase(
            name,
            init,
            part.run_chunk,
            inputs,
            hparams,
            part.num_chunks,
            execution=execution,
            store=resume_store(out, name),
            fingerprint={"data": fingerprint, "seed": seed, "num_runs": num_seeds},
            config=json.loads(json.dumps(record, default=json_default)),
            on_chunk=lambda c, m: write_line(name, c, part.env_steps_after(c), m["eval_returns"].mean(-1), m),
            on_progress=progress_printer(part.total_env_steps, num_seeds, part.env_steps_after, part.warmup_steps),
        )
        steps = [part.env_steps_after(c) for c in range(part.num_chunks)]
        return result, steps

    # Phase 1: the starting agents (pretrained here, restored, or fresh).
    diverged_step = np.full(num_seeds, -1)
    if init_from is not None:
        agents = restore_like(init_from, jax.eval_shape(jax.vmap(program.fresh_agent), keys))
        print(f"restored {num_seeds} pretrained {algo} agents from {init_from}", flush=True)
    elif program.pretrain is not None:
        pre = program.pretrain
        pre_keys = jax.vmap(lambda k: program.phase_key(k, PRETRAIN_KEY))(keys)
        message = f"pretraining {algo}: {num_seeds} seeds x {pre.total_env_steps} updates"
        result, steps = phase("pretrain", pre, pre.init, pre_keys, message)
        agents = result.agents
        diverged_step = first_divergence(result.history, steps)
        if run_dir is not None:
            folder = run_dir.staging / "checkpoints" / f"pretrain_{pre.total_env_steps}"
            if folder.exists():  # written before an interruption; the agents are the same
                shutil.rmtree(folder)
            save_agent_states(folder, agents, {**checkpoint_meta, "steps": pre.total_env_steps, "phase": "pretrained"})
    else:
        agents = jax.jit(jax.vmap(program.fresh_agent))(keys)

    # Phase 2: online fine-tuning, from an evaluation of the starting policy at step 0.
    online = program.online
    start_returns = np.asarray(jax.device_get(jax.jit(jax.vmap(program.start_eval))(agents, keys, hparams))).mean(-1)
    write_line("online", -1, 0, start_returns)
    message = (
        f"fine-tuning ({config.method}) in {env_name}: {num_seeds} seeds x {online.total_env_steps} env steps, "
        f"start score {float(np.nanmean(scores(start_returns))):.1f}"
    )
    try:
        result, steps = phase(
            "online", online, lambda inp, h: program.start_online(inp[0], inp[1], h), (agents, keys), message
        )
    finally:
        for sink in sinks:
            sink.close()
    if run_dir is None:  # not process 0: its share is done, process 0 writes
        return {"out": out, "process": jax.process_index()}
    online_diverged = first_divergence(result.history, steps)
    diverged_step = np.where(diverged_step >= 0, diverged_step, online_diverged)
    diverged_step = np.where(np.isfinite(start_returns) | (diverged_step >= 0), diverged_step, 0)
    ok = diverged_step < 0
    diverged = diverged_runs(diverged_step, num_seeds, [{}])
    for d in diverged:
        warnings.warn(
            f"seed index {d['seed_index']} diverged at step {d['step']}: left out of the aggregates",
            RuntimeWarning,
            stacklevel=2,
        )
    returns = result.history["eval_returns"].mean(-1)  # (chunks, seeds)
    curve = scores(returns).T
    finals = returns[-1]

    per_seed = finetune_summary(np.asarray(steps), curve, scores(start_returns))
    summary = {
        "method": config.method,
        "pretrain_algo": algo,
        "env": env_name,
        "num_seeds": num_seeds,
        "score": "normalized_score" if refs is not None else "eval_return",
        "pretrain_updates": 0 if (program.pretrain is None or init_from) else program.pretrain.total_env_steps,
        "init_from": init_from,
        "online_steps": online.total_env_steps,
        "warmup_steps": online.warmup_steps,
        "num_eval_episodes": config.num_eval_episodes,
        "start_score": _stats(scores(start_returns), ok, seed),
        **{name: _stats(values, ok, seed) for name, values in per_seed.items()},
        "final_return": _stats(finals, ok, seed),
        "diverged": diverged,
        "wall_time_s": time.perf_counter() - t0,
    }
    run_dir.write_json("summary.json", summary)
    save_agent_states(
        run_dir.staging / "checkpoints" / f"online_{online.total_env_steps}",
        result.agents,
        {**checkpoint_meta, "algo": f"{config.method}-finetuned", "steps": online.total_env_steps, "phase": "final"},
    )
    write_finetune_report({config.method: run_dir.staging}, run_dir.staging, f"{config.method} in {env_name}")
    path = run_dir.commit(drop=(RESUME_DIR,))
    summary["out"] = str(path)
    return summary


def finetune(args: Finetune) -> dict:
    if args.dataset is None:
        raise ValueError("finetune needs --dataset FILE (its metadata names the env to fine-tune in)")
    check_counts(args)  # these two before JAX is imported or the dataset read
    check_out_early(args, args.out)
    from jaxrl_hybrid.cli.main import _pairs
    from jaxrl_hybrid.data import load

    dataset = load(args.dataset)
    config = build_finetune_config(args, dataset)
    overrides = dict(_pairs(args.hparam, "hparam"))
    summary = run_finetune(
        config,
        dataset=dataset,
        num_seeds=args.num_seeds,
        seed=args.seed,
        out=out_or_default(args.out, f"runs/finetune_{args.algo}_s{args.seed}"),
        overwrite=args.overwrite,
        init_from=args.init_from,
        hparams_overrides=overrides,
        extra_config={"cli": dataclasses.asdict(args)},
        execution=execution_from(args),
        resume=args.resume,
        options=args,
    )
    if "process" in summary:
        print(f"process {summary['process']}: its seeds are done; process 0 writes the run folder")
        return summary
    print(format_summary(summary))
    print(f"summary: {summary['out']}/summary.json  report: {summary['out']}/report.md")
    return summary


def format_summary(summary: dict) -> str:
    parts = [f"{summary['method']} over {summary['num_seeds']} seeds ({summary['score']}, IQM [95% CI]):"]
    for key in ("start_score", "final_score", "initial_dip", "auc"):
        s = summary[key]
        if s["iqm"] is None:
            parts.append(f"{key} -- (every seed diverged)")
        else:
            parts.append(f"{key} {s['iqm']:.1f} [{s['ci95'][0]:.1f}, {s['ci95'][1]:.1f}]")
    return "  ".join(parts)
