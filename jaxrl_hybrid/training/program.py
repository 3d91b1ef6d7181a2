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


@dataclasses.dataclass(frozen=True)
class TrainProgram:
    """`init(key, hparams) -> runner`; `run_chunk(runner, hparams) -> (runner, metrics)`.

    Chunk i ends after `env_steps_after(i)` environment steps; its metrics hold the
    deterministic evaluation returns `eval_returns` (num_eval_episodes,) and training stats.
    """

    init: Callable[[jax.Array, Any], Any]
    run_chunk: Callable[[Any, Any], tuple[Any, dict[str, jax.Array]]]
    num_chunks: int
    steps_per_chunk: int
    warmup_steps: int
    default_hparams: Any

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
