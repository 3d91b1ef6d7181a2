"""`meta_train`: evolve an LPO / TA-LPO drift (or an LPG / TA-LPG rule) over generations,
checkpointing the ES state.

A meta-run folder holds

    meta.json            the MetaConfig (what `meta-eval` rebuilds the objective from)
    history.jsonl        one line per generation: population fitness mean / best / std
    checkpoints/         es_state_gen00001.npz ... (the strategy's state after each generation)
    objective.npz        the learned objective's parameters (the final ES mean)
    fitness.png          population fitness over generations
    drift.png            the learned drift over (r, A) at several training-progress values
                         (rule.png for LPG: its pi_hat along an episode)
    report.md, summary.json

The folder is written under `<out>.partial` and moved into place when the run ends; a killed
run resumes from its last checkpoint (`resume=True`) and reproduces the uninterrupted run.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import numpy as np

from jaxrl_hybrid.agents.lpg import LPGRule
from jaxrl_hybrid.logging.run_dir import dumps
from jaxrl_hybrid.losses.policy import get_objective
from jaxrl_hybrid.meta.es import generation_key, init_state, make_generation, make_strategy
from jaxrl_hybrid.meta.inner import InnerConfig, make_inner, make_inner_program, num_updates

CONFIG_FILE = "meta.json"
HISTORY_FILE = "history.jsonl"
CHECKPOINT_DIR = "checkpoints"
OBJECTIVE_FILE = "objective.npz"
FIXED_SEEDS_STREAM = 2**31 - 2  # fold_in index of the inner seeds with resample_seeds=False


@dataclasses.dataclass(frozen=True)
class MetaConfig:
    """A meta-training run (defaults: ../shared/ALGORITHMS.md, population aside).

    Each of `generations` generations trains `population` x `num_seeds` inner PPO runs
    (`inner`); fitness is a member's mean final return over its seeds.
    """

    objective: str = "ta-lpo"
    hidden: int | None = None
    """units of the drift network (default 128) or of the LPG rule's GRU (default 16)"""
    strategy: str = "Open_ES"
    population: int = 64
    num_seeds: int = 2
    generations: int = 32
    lr: float = 0.03
    sigma: float = 0.03
    antithetic: bool = True
    resample_seeds: bool = True
    """False: every generation trains its members on the same inner seeds"""
    seed: int = 0
    inner: InnerConfig = InnerConfig()

    def __post_init__(self):
        if self.objective not in META_OBJECTIVES:
            raise ValueError(f"meta-training learns one of {META_OBJECTIVES}, got {self.objective!r}")
        if self.hidden is None:  # recorded resolved, so meta.json says what was trained
            object.__setattr__(self, "hidden", 16 if self.objective in ("lpg", "ta-lpg") else 128)
        if self.hidden < 1:
            raise ValueError(f"MetaConfig.hidden must be >= 1, got {self.hidden}")
        for name in ("generations", "num_seeds"):
            if getattr(self, name) < 1:
                raise ValueError(f"MetaConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or self.sigma <= 0:
            raise ValueError(f"MetaConfig.lr and sigma must be positive, got lr={self.lr}, sigma={self.sigma}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "meta.json") -> MetaConfig:
        try:
            inner = dict(d["inner"])
            inner["hidden_dims"] = tuple(inner["hidden_dims"])
            fields = {k: v for k, v in d.items() if k != "layout"}  # the layout record is not config
            return cls(**{**fields, "inner": InnerConfig(**inner)})
        except (KeyError, TypeError) as e:
            raise ValueError(f"{source}: not a meta-training config ({e})") from e

    def make_objective(self):
        return make_objective(self.objective, self.hidden)


META_OBJECTIVES = ("lpo", "ta-lpo", "lpg", "ta-lpg")


def make_objective(name: str, hidden: int | None = None):
    """A learnable objective by name: LPO / TA-LPO drifts (PPO's objective), LPG / TA-LPG rules
    (the LPG agent's whole update)."""
    if name in ("lpg", "ta-lpg"):
        return LPGRule(hidden=hidden or 16, temporal=name == "ta-lpg")
    return get_objective(name, hidden or 128)


def read_config(run_dir: str | Path) -> MetaConfig:
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no meta-training config (is {run_dir} a meta-train folder?)")
    return MetaConfig.from_dict(json.loads(path.read_text()), str(path))


def save_params(path: Path, params: dict) -> None:
    """Write a dict of arrays as .npz, atomically (a temporary file renamed into place)."""
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **{k: np.asarray(v) for k, v in params.items()})
    tmp.replace(path)


def load_params(path: str | Path, template: dict) -> dict:
    """The parameters saved at `path`, checked against `template`'s names and shapes."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no saved objective parameters")
    with np.load(path) as f:
        loaded = {k: f[k] for k in f.files}
    if set(loaded) != set(template):
        raise ValueError(f"{path}: parameters {sorted(loaded)}; the objective expects {sorted(template)}")
    for k, v in template.items():
        if loaded[k].shape != np.shape(v):
            raise ValueError(f"{path}: {k} has shape {loaded[k].shape}; the objective expects {np.shape(v)}")
    return {k: jax.numpy.asarray(v) for k, v in loaded.items()}


def _checkpoint_path(folder: Path, generation: int) -> Path:
    return folder / CHECKPOINT_DIR / f"es_state_gen{generation:05d}.npz"


def save_es_state(folder: Path, generation: int, state: Any) -> Path:
    """The ES state after `generation` generations, as numbered leaves of one .npz (atomic)."""
    path = _checkpoint_path(folder, generation)
    path.parent.mkdir(parents=True, exist_ok=True)
    leaves = jax.tree.leaves(state)
    save_params(path, {f"leaf{i:03d}": x for i, x in enumerate(leaves)})
    return path


def latest_checkpoint(folder: Path) -> int:
    """Generations done by the newest ES checkpoint in `folder` (0 if none)."""
    found = sorted((folder / CHECKPOINT_DIR).glob("es_state_gen*.npz"))
    found = [p for p in found if not p.name.endswith(".tmp.npz")]
    return int(found[-1].stem.removeprefix("es_state_gen")) if found else 0


def load_es_state(folder: Path, generation: int, template: Any) -> Any:
    """Restore the ES state saved after `generation` generations into `template`'s structure."""
    path = _checkpoint_path(folder, generation)
    leaves, treedef = jax.tree.flatten(template)
    with np.load(path) as f:
        if len(f.files) != len(leaves):
            raise ValueError(f"{path}: {len(f.files)} arrays; this strategy's state has {len(leaves)}")
        loaded = [f[f"leaf{i:03d}"] for i in range(len(leaves))]
    for i, (x, t) in enumerate(zip(loaded, leaves, strict=True)):
        if x.shape != np.shape(t) or x.dtype != np.asarray(t).dtype:
            raise ValueError(
                f"{path}: leaf {i} is {x.dtype}{list(x.shape)}, the strategy's state expects "
                f"{np.asarray(t).dtype}{list(np.shape(t))} (a different strategy, population or objective?)"
            )
    return jax.tree.unflatten(treedef, [jax.numpy.asarray(x) for x in loaded])


def _read_history(path: Path, keep: int) -> list[dict]:
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows[:keep]


def build(config: MetaConfig, block_size: int | str | None = None):
    """(objective, strategy, es_params, generation fn, initial ES state) of a meta-run;
    `block_size` inner runs are vectorised together (`engine.core.DeviceMap`)."""
    objective = config.make_objective()
    template = objective.init_params()
    strategy, es_params = make_strategy(
        config.strategy, config.population, template, config.lr, config.sigma, config.antithetic
    )
    inner = make_inner(objective, config.inner)

    def fitness_fn(key, member):
        return inner(key, member)[-1].mean()  # mean return of the final policy's eval episodes

    fixed = None
    if not config.resample_seeds:
        fixed = jax.random.split(
            jax.random.fold_in(jax.random.PRNGKey(config.seed), FIXED_SEEDS_STREAM), config.num_seeds
        )
    step = make_generation(strategy, es_params, fitness_fn, config.num_seeds, fixed, block_size=block_size)
    state0 = init_state(strategy, es_params, template, config.seed)
    return objective, strategy, es_params, step, state0


def meta_train(
    config: MetaConfig,
    out: str | Path,
    overwrite: bool = False,
    resume: bool = False,
    stream=None,
    on_generation: Callable[[dict], None] | None = None,
    block_size: int | str | None = None,
) -> dict:
    """Run (or resume) meta-training into `out`; returns the summary written as summary.json.

    `on_generation(row)` sees each generation's history row once its checkpoint is written.
    `block_size` (default: the engine's) is the number of inner runs vectorised together; the
    numbers depend on it and not on the device count. meta.json records it under "layout".
    """
    from jaxrl_hybrid.engine import Execution
    from jaxrl_hybrid.engine.core import layout_differences, layout_record
    from jaxrl_hybrid.logging import RunDir

    stream = stream or sys.stdout

    # bad settings fail before anything is written
    objective, strategy, es_params, step, state = build(config, block_size)
    run_dir = RunDir(out, overwrite=overwrite, resume=resume)
    folder = run_dir.staging
    record = config.to_dict()
    record["layout"] = layout_record(Execution(block_size=block_size), config.population * config.num_seeds)
    if run_dir.resumed:
        saved = run_dir.read_json(CONFIG_FILE) or {}
        now = json.loads(json.dumps(record))
        # the number of generations may change (a longer or shorter run); nothing else may
        changed = sorted(
            k for k in set(now) | set(saved) if k not in ("generations", "layout") and saved.get(k) != now.get(k)
        )
        changed += layout_differences(saved.get("layout"), now["layout"])
        if changed:
            raise ValueError(
                f"{folder}: the unfinished run was started with a different config ({', '.join(changed)} differ); "
                "resume it with the same flags, or pass --overwrite to start again"
            )
    run_dir.write_json(CONFIG_FILE, record)

    done = latest_checkpoint(folder) if run_dir.resumed else 0
    if done > config.generations:
        raise ValueError(f"{folder}: holds {done} generations, more than --generations {config.generations}")
    if done:
        state = load_es_state(folder, done, state)
    history = _read_history(folder / HISTORY_FILE, done)
    (folder / HISTORY_FILE).write_text("".join(dumps(r) + "\n" for r in history))
    if done:
        print(f"resuming {out} after generation {done}", file=stream, flush=True)

    runs = config.population * config.num_seeds
    print(
        f"meta-training {objective.name} with {config.strategy} on {config.inner.env}: {config.generations} "
        f"generations x {config.population} members x {config.num_seeds} seeds "
        f"({runs} training runs of {config.inner.total_steps} steps per generation)",
        file=stream,
        flush=True,
    )
    for g in range(done, config.generations):
        t0 = time.perf_counter()
        state, metrics = step(state, generation_key(config.seed, g))
        returns = np.asarray(metrics["returns"])
        row = {
            "generation": g + 1,
            "fitness_mean": float(metrics["fitness_mean"]),
            "fitness_best": float(metrics["fitness_best"]),
            "fitness_std": float(metrics["fitness_std"]),
            "mean_norm": float(metrics["mean_norm"]),
            "return_min": float(np.nanmin(returns)) if np.isfinite(returns).any() else float("nan"),
            "return_max": float(np.nanmax(returns)) if np.isfinite(returns).any() else float("nan"),
            "nonfinite_members": int(metrics["nonfinite_members"]),
            "seconds": round(time.perf_counter() - t0, 3),
        }
        run_dir.append_jsonl(HISTORY_FILE, row)
        save_es_state(folder, g + 1, state)
        print(
            f"generation {g + 1}/{config.generations}: fitness mean {row['fitness_mean']:.1f} "
            f"best {row['fitness_best']:.1f} ({row['seconds']:.1f}s)",
            file=stream,
            flush=True,
        )
        if on_generation is not None:
            on_generation(row)

    learned = strategy.get_mean(state)
    save_params(folder / OBJECTIVE_FILE, learned)
    history = _read_history(folder / HISTORY_FILE, config.generations)
    from jaxrl_hybrid.meta.plot import plot_drift, plot_fitness, plot_rule, write_meta_report

    plot_fitness(history, folder / "fitness.png", f"{objective.name} on {config.inner.env}")
    updates = num_updates(make_inner_program(objective, config.inner)[0], config.inner)
    if isinstance(objective, LPGRule):
        plot_rule(objective, learned, config.inner.gamma, updates, folder / "rule.png")
    else:
        steps = updates * config.inner.update_epochs * config.inner.num_minibatches
        plot_drift(objective, learned, config.inner.clip_eps, steps, folder / "drift.png")
    summary = {
        "objective": objective.name,
        "strategy": config.strategy,
        "env": config.inner.env,
        "generations": config.generations,
        "fitness_mean_first": history[0]["fitness_mean"],
        "fitness_mean_last": history[-1]["fitness_mean"],
        "fitness_best": max(r["fitness_best"] for r in history),
    }
    run_dir.write_json("summary.json", summary)
    write_meta_report(folder, config, history, summary)
    path = run_dir.commit()
    figure = "rule.png" if isinstance(objective, LPGRule) else "drift.png"
    print(f"learned objective: {path / OBJECTIVE_FILE}  plot: {path / figure}", file=stream, flush=True)
    return {**summary, "out": str(path)}
