"""A training run as pure pieces: `init`, `run_chunk`, and `train` that scans the chunks.

`train(key, hparams)` is what users vmap and jit. The CLI instead jits `init` and `run_chunk`
separately and loops over chunks on the host, so it can print progress, write metrics and
(later) checkpoint between chunks; both paths run the same per-chunk computation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxrl_hybrid.training.evaluation import evaluate


def seed_keys(seed: int, num_seeds: int) -> jax.Array:
    """Key of seed i is fold_in(PRNGKey(seed), i): seed i is the same in any run size."""
    base = jax.random.PRNGKey(seed)
    return jax.vmap(lambda i: jax.random.fold_in(base, i))(jnp.arange(num_seeds))


@dataclasses.dataclass(frozen=True)
class TrainProgram:
    """`init(key, hparams) -> runner`; `run_chunk(runner, hparams) -> (runner, metrics)`.

    Chunk i ends after `env_steps_after(i)` environment steps; its metrics hold the
    deterministic evaluation returns `eval_returns` (num_eval_episodes,) and training stats.
    Offline programs count updates instead of env steps and carry their dataset's
    `reference_returns`, so results are also reported as D4RL-style normalised scores.
    """

    init: Callable[[jax.Array, Any], Any]
    run_chunk: Callable[[Any, Any], tuple[Any, dict[str, jax.Array]]]
    num_chunks: int
    steps_per_chunk: int
    warmup_steps: int
    default_hparams: Any
    reference_returns: tuple[float, float] | None = None  # (random, expert): normalised scores
    reward_scale: float = 1.0  # the factor the training rewards were multiplied by (offline data)

    def env_steps_after(self, chunk: int) -> int:
        return self.warmup_steps + (chunk + 1) * self.steps_per_chunk

    @property
    def total_env_steps(self) -> int:
        return self.env_steps_after(self.num_chunks - 1)

    def train(self, key: jax.Array, hparams: Any = None) -> dict[str, Any]:
        """The whole run: returns {"runner": final runner state, "metrics": per-chunk metrics}."""
        if hparams is None:
            hparams = self.default_hparams
        runner = self.init(key, hparams)
        runner, metrics = jax.lax.scan(lambda r, _: self.run_chunk(r, hparams), runner, None, length=self.num_chunks)
        return {"runner": runner, "metrics": metrics}


def make_run_chunk(
    iteration: Callable[[Any, Any], tuple[Any, tuple[dict[str, jax.Array], tuple[jax.Array, jax.Array]]]],
    iters_per_chunk: int,
    agent: Any,
    env: Any,
    env_params: Any,
    num_eval_episodes: int,
) -> Callable[[Any, Any], tuple[Any, dict[str, jax.Array]]]:
    """The chunk every loop runs: `iters_per_chunk` iterations as a scan, then evaluation.

    `iteration(runner, hparams)` returns the runner (with `.agent_state` and `.key`) and
    (update metrics, (episodes finished, sum of their returns)) (None for the episodes when
    the loop collects none). The chunk's metrics are the mean update metrics, the mean return
    of the training episodes that finished in it (NaN if none) and `eval_returns` of
    `num_eval_episodes` deterministic episodes.
    """

    def run_chunk(runner, hparams):
        runner, (update_metrics, episodes) = jax.lax.scan(
            lambda r, _: iteration(r, hparams), runner, None, length=iters_per_chunk
        )
        key, key_eval = jax.random.split(runner.key)
        eval_returns = evaluate(
            key_eval,
            env,
            env_params,
            lambda obs, k: agent.act(runner.agent_state, obs, k, True, hparams),
            num_eval_episodes,
        )
        metrics = {k: v.mean() for k, v in update_metrics.items()}
        if episodes is not None:  # offline loops collect no episodes
            n_done, ret_sum = episodes
            n_done = n_done.sum()
            metrics["train_episode_return"] = jnp.where(n_done > 0, ret_sum.sum() / jnp.maximum(n_done, 1), jnp.nan)
        metrics["eval_returns"] = eval_returns
        return runner.replace(key=key), metrics

    return run_chunk
