"""Orbax checkpoints of agent states, with the config and dataset fingerprint beside them.

    save_agent_states(run_dir / "checkpoints", states, metadata)   # stacked over runs
    states = restore_agent_states(run_dir / "checkpoints", program, num_runs)

`states` is the agent state pytree of every run of an experiment (leading axis: hparam
setting x seed, as in run_experiment), so offline pretraining can be fine-tuned run by run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

STATE_DIR = "agent"
METADATA_FILE = "checkpoint.json"


def checkpointer():
    """An orbax checkpointer private to this process.

    Under `jax.distributed` orbax would otherwise coordinate every save with all processes
    (process 0 writing); here each process writes its own files (resume states of its runs,
    process 0 the run folder), so the checkpointer is told it is alone.
    """
    import orbax.checkpoint as ocp

    if jax.process_count() == 1:
        return ocp.StandardCheckpointer()
    p = jax.process_index()
    options = ocp.options.MultiprocessingOptions(
        primary_host=p, active_processes={p}, barrier_sync_key_prefix=f"process{p}"
    )
    return ocp.StandardCheckpointer(multiprocessing_options=options)


def save_agent_states(directory: str | os.PathLike, states: Any, metadata: dict) -> Path:
    """Write `states` with orbax under `directory/agent` and `metadata` as `checkpoint.json`."""
    directory = Path(directory).absolute()
    directory.mkdir(parents=True, exist_ok=True)
    ckpt = checkpointer()
    ckpt.save(directory / STATE_DIR, states)
    ckpt.wait_until_finished()
    (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True))
    return directory


def read_metadata(directory: str | os.PathLike) -> dict:
    path = Path(directory) / METADATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no checkpoint metadata (expected a run's checkpoints/ folder)")
    return json.loads(path.read_text())


def restore_agent_states(directory: str | os.PathLike, program, num_runs: int) -> Any:
    """Restore the stacked agent states saved for `num_runs` runs of `program` (its structure is the target)."""
    keys = jax.random.split(jax.random.PRNGKey(0), num_runs)
    hparams = jax.tree.map(lambda x: jnp.broadcast_to(x, (num_runs, *jnp.shape(x))), program.default_hparams)
    return restore_like(directory, jax.eval_shape(lambda k, h: jax.vmap(program.init)(k, h).agent_state, keys, hparams))


def restore_like(directory: str | os.PathLike, target: Any) -> Any:
    """Restore saved agent states into the structure, shapes and dtypes of `target`
    (arrays or `jax.ShapeDtypeStruct`s); a mismatch is an error naming the folder."""
    directory = Path(directory).absolute()
    if not (directory / STATE_DIR).is_dir():
        raise FileNotFoundError(f"{directory / STATE_DIR}: no saved agent states")
    try:
        return checkpointer().restore(directory / STATE_DIR, target)
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(
            f"{directory}: the saved agent states do not match this run's agent (structure, shapes or run count): {e}"
        ) from e
