"""Offline pretraining then online fine-tuning, every seed in one program, into a run folder.

The folder holds config.json, metrics.jsonl (pretraining evaluations with "phase":
"pretrain", then "phase": "online" from step 0), summary.json (per seed: start score, final
score, initial dip, AUC, with IQM and CIs), report.md + learning_curves.png, and
checkpoints/pretrain_<updates> (the agents after pretraining; `init_from` resumes from it)
and checkpoints/online_<steps>.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import time
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_hybrid.checkpoint import read_metadata, restore_like, save_agent_states
from jaxrl_hybrid.data import fingerprint as data_fingerprint
from jaxrl_hybrid.engine import Execution, first_divergence
from jaxrl_hybrid.engine.core import layout_record
from jaxrl_hybrid.experiment.record import Recorder, as_json, finite_summary
from jaxrl_hybrid.report.curves import finetune_summary
from jaxrl_hybrid.report.finetune import write_finetune_report
from jaxrl_hybrid.training.finetune import PRETRAIN_KEY, make_finetune_program, pretrain_algo
from jaxrl_hybrid.training.offline import check_mc_discount
from jaxrl_hybrid.training.program import seed_keys

if TYPE_CHECKING:
    from jaxrl_hybrid.training.finetune import FinetuneConfig


def _stats(values: np.ndarray, ok: np.ndarray, seed: int) -> dict[str, Any]:
    """Per-seed values and their aggregates over the seeds that did not diverge."""
    return {"per_seed": np.asarray(values).tolist(), **finite_summary(values, ok, seed)}


def saved_hparams(meta: dict) -> list[dict[str, float]] | None:
    """The traced hyperparameters a checkpoint's agents were trained with, one dict per hparam
    setting (runs in setting-major order): a finetune run's `hparams`, or a `train` run's defaults
    with each `grid` setting applied. None for a checkpoint that records none (written before
    checkpoints recorded them)."""
    if "hparams" not in meta:
        return None
    if "train" in meta:  # a `train` run's checkpoints/: its defaults and grid
        return [{**meta["hparams"], **setting} for setting in meta.get("grid") or [{}]]
    return [dict(meta["hparams"])]


def _differences(saved: dict, given: dict, same, show) -> list[str]:
    """`name: pretrained with A, this run B` for each key both name whose values are not `same`."""
    return [
        f"{name}: pretrained with {show(saved[name])}, this run {show(given[name])}"
        for name in sorted(set(saved) & set(given))
        if not same(saved[name], given[name])
    ]


def hparams_differences(saved: list[dict[str, float]] | None, given: dict[str, float]) -> list[str]:
    """`name: pretrained with A, this run B` for each hyperparameter both name whose values differ
    as float32, the precision they are traced in (a `train` grid records the value typed, 3e-4,
    the hparams its float32 rounding, 0.0003000000142)."""

    def same(a, b):
        return np.float32(a) == np.float32(b)

    return sorted({d for setting in saved or [] for d in _differences(setting, given, same, lambda v: f"{v:g}")})


def saved_agent(meta: dict) -> dict | None:
    """The static agent config (JSON, with its `type`) a checkpoint's agents were built with: a
    finetune run's `agent`, a `train` run's `train.agent`; None where the checkpoint names none."""
    if "train" in meta:
        return meta["train"].get("agent")
    return meta.get("agent")


def agent_differences(saved: dict | None, given: dict) -> list[str]:
    """`name: pretrained with A, this run B` for each static agent setting both name whose
    values differ (the shapes are checked on restore; these are the rest, e.g. an init scale
    that only mattered before the pretraining)."""
    return _differences(saved or {}, given, lambda a, b: a == b, repr)


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
    resume_ignores: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Pretrain (or restore from `init_from`) and fine-tune `num_seeds` seeds; write the run folder.

    Pretraining and fine-tuning are jitted and vmapped over seeds, one chunk at a time, with
    a progress line per chunk. The agents after pretraining are saved (checkpoints/pretrain_<updates>)
    before the online phase begins; restoring them gives the same online phase bit for bit.
    `execution`, `resume`, `options` and `resume_ignores` as in `experiment.run_experiment` (each phase
    checkpoints and resumes on its own; a resumed run repeats the uninterrupted one; TensorBoard
    and W&B get the phase as a tag prefix).
    """
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
    hparams_record = jax.tree.map(float, dataclasses.asdict(hparams_one))
    config_record = config.to_dict()
    pretrain_hparams = pretrain_agent = None
    if init_from is not None:
        # The restored agents' own hyperparameters go into config.json beside this run's: a run
        # given other values (say --hparam cql_alpha=5 on agents pretrained at 10) must not
        # record them as the pretraining's.
        pretrain_hparams = saved_hparams(meta)
        if pretrain_hparams is None:
            print(f"note: {init_from} records no hyperparameters; config.json's pretrain_hparams is null",
                  file=sys.stderr, flush=True)  # fmt: skip
        elif differences := hparams_differences(pretrain_hparams, hparams_record):
            print(f"note: the agents in {init_from} were pretrained with other hyperparameters than this run's "
                  f"({'; '.join(differences)}); config.json records both (pretrain_hparams, hparams)",
                  file=sys.stderr, flush=True)  # fmt: skip
        # Likewise their static agent config: the restore checks shapes, not the rest.
        pretrain_agent = saved_agent(meta)
        if differences := agent_differences(pretrain_agent, as_json(config_record["agent"])):
            print(f"note: the agents in {init_from} were built with another agent config than this run's "
                  f"({'; '.join(differences)}); they keep their parameters, this run's config applies from "
                  "here on; config.json records both (pretrain_agent, finetune.agent)",
                  file=sys.stderr, flush=True)  # fmt: skip
    hparams = jax.tree.map(lambda x: jnp.broadcast_to(x, (num_seeds, *jnp.shape(x))), hparams_one)
    keys = seed_keys(seed, num_seeds)
    env_name = config.env or dataset.metadata.get("env")  # --env overrides the recorded one
    refs = program.reference_returns
    record = {
        "finetune": config_record,
        "reward_scale_factor": program.reward_scale,
        "pretrain_algo": algo,
        "init_from": init_from,
        "pretrain_hparams": pretrain_hparams,
        "pretrain_agent": pretrain_agent,
        "dataset_fingerprint": fingerprint,
        "env": env_name,
        "num_seeds": num_seeds,
        "seed": seed,
        "seed_derivation": "key_i = fold_in(PRNGKey(seed), i); phase keys fold_in(key_i, phase)",
        "hparams": hparams_record,
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "layout": layout_record(execution or Execution(), num_seeds),
        **(extra_config or {}),
    }
    recorder = Recorder(
        out,
        record,
        fingerprint=fingerprint,
        seed=seed,
        num_runs=num_seeds,
        references=refs,
        overwrite=overwrite,
        resume=resume,
        what="fine-tuning run",
        options=options,
        name=f"{config.method}-{env_name}",
        # pretrain_agent is a record of the checkpoint (a resume restores the resume checkpoint,
        # not --init-from); a run folder started before it was recorded resumes.
        ignore=resume_ignores | {"pretrain_agent"},
    )
    scores = recorder.scores
    run_dir = recorder.run_dir
    execution = execution or Execution()
    t0 = time.perf_counter()
    checkpoint_meta = {
        "algo": algo,
        "method": config.method,
        "dataset_fingerprint": fingerprint,
        "num_seeds": num_seeds,
        "num_runs": num_seeds,
        "seed": seed,
        "agent": config_record["agent"],
        "hparams": hparams_record,
        "jax_version": jax.__version__,
    }

    def phase(name: str, part, init, inputs, message: str):
        """Every chunk of `part` (a TrainProgram) for every seed: a metrics line and a progress line each."""
        print(f"{message} ({time.perf_counter() - t0:.0f}s so far)", file=sys.stderr, flush=True)

        def on_chunk(chunk, metrics):
            returns = metrics["eval_returns"].mean(-1)
            recorder.log_chunk(part.env_steps_after(chunk), returns, metrics, tag=name, phase=name, chunk=chunk)

        result = recorder.run(name, part, init, inputs, hparams, execution=execution, on_chunk=on_chunk)
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
    recorder.log_chunk(0, start_returns, tag="online", phase="online", chunk=-1)
    message = (
        f"fine-tuning ({config.method}) in {env_name}: {num_seeds} seeds x {online.total_env_steps} env steps, "
        f"start score {float(np.nanmean(scores(start_returns))):.1f}"
    )
    try:
        result, steps = phase(
            "online", online, lambda inp, h: program.start_online(inp[0], inp[1], h), (agents, keys), message
        )
    finally:
        recorder.close_sinks()
    if run_dir is None:  # not process 0: its share is done, process 0 writes
        return {"out": out, "process": jax.process_index()}
    online_diverged = first_divergence(result.history, steps)
    diverged_step = np.where(diverged_step >= 0, diverged_step, online_diverged)
    diverged_step = np.where(np.isfinite(start_returns) | (diverged_step >= 0), diverged_step, 0)
    ok = diverged_step < 0
    diverged = recorder.flag_diverged(
        diverged_step,
        num_seeds,
        [{}],
        lambda d: f"seed index {d['seed_index']} diverged at step {d['step']}: left out of the aggregates",
    )
    returns = result.history["eval_returns"].mean(-1)  # (chunks, seeds)
    curve = scores(returns).T
    finals = returns[-1]

    per_seed = finetune_summary(np.asarray(steps), curve, scores(start_returns), warmup=online.warmup_steps)
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
    return recorder.commit(summary)
