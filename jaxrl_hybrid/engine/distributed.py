"""Multi-host runs with `jax.distributed`: who runs which runs, and gathering their results.

Every process runs the same command. Process p trains a contiguous share of the runs on its
local devices; after each chunk the metrics of all shares are gathered (`process_allgather`),
and process 0 writes the run folder. Runs never communicate during training, so the
collectives carry only metrics and final agents.

    # two processes on one machine (CPU collectives: gloo)
    jaxrl-hybrid train ... --coordinator 127.0.0.1:12355 --num-processes 2 --process-id 0 &
    jaxrl-hybrid train ... --coordinator 127.0.0.1:12355 --num-processes 2 --process-id 1

The same values can come from JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID;
`--distributed` alone lets JAX detect a SLURM / Open MPI / TPU-pod cluster by itself.
"""

from __future__ import annotations

import os
from typing import Any

ENV_VARS = ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID")


def initialize_distributed(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    auto: bool = False,
) -> bool:
    """Start `jax.distributed` from the arguments, else the JAX_* environment variables, else
    (with `auto`) JAX's cluster auto-detection. Returns whether it was started."""
    coordinator = coordinator or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if num_processes is None and os.environ.get("JAX_NUM_PROCESSES"):
        num_processes = int(os.environ["JAX_NUM_PROCESSES"])
    if process_id is None and os.environ.get("JAX_PROCESS_ID"):
        process_id = int(os.environ["JAX_PROCESS_ID"])
    given = [coordinator is not None, num_processes is not None, process_id is not None]
    if any(given) and not all(given):
        raise ValueError(
            "multi-host runs need all of --coordinator, --num-processes and --process-id "
            f"(or {', '.join(ENV_VARS)}); got coordinator={coordinator!r}, "
            f"num_processes={num_processes!r}, process_id={process_id!r}"
        )
    if not (all(given) or auto):
        return False
    import jax  # only now: a single-process command starts without importing JAX here

    if all(given):
        if not 0 <= process_id < num_processes:
            raise ValueError(f"--process-id must be in [0, {num_processes}), got {process_id}")
        jax.distributed.initialize(coordinator, num_processes, process_id)
        return True
    jax.distributed.initialize()
    return True


def gather(tree: Any) -> Any:
    """Concatenate every process's `tree` (numpy, equal shapes) along the leading axis, in
    process order; identity on one process."""
    import jax
    import numpy as np

    if jax.process_count() == 1:
        return tree
    from jax.experimental import multihost_utils

    return jax.tree.map(np.asarray, multihost_utils.process_allgather(tree, tiled=True))
