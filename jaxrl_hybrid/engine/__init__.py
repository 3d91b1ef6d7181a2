"""Host-side execution of vmapped training programs: how the run axis meets the hardware.

A training phase is `init(inputs, hparams) -> runner` and `run_chunk(runner, hparams)`, both
per run (`training.program.TrainProgram`). `run_phase` runs them for every run of an
experiment (seeds x hyperparameter settings, one leading axis):

- **groups** of at most `max_parallel` runs, one after another, when all runs do not fit in
  device memory at once (`auto`: estimated from the runner's size and the device's memory);
  every group has the same padded shape, so one compiled program serves them all;
- **devices**: a group's run axis is sharded over every local device (a 1-D `Mesh`,
  `NamedSharding(P("runs"))`); runs never communicate, so the result is the same on 1 or N;
- **hosts**: under `jax.distributed`, process p runs its own contiguous share of the runs;
  per-chunk metrics and final agents are gathered onto every process, process 0 writes;
- **resume checkpoints** every K chunks (the whole runner: parameters, optimiser, replay
  buffer, env state, keys), written atomically; a resumed run repeats the uninterrupted
  one bit for bit;
- **divergence**: a run whose losses, evaluation or parameters become NaN/inf is flagged with
  the step where it happened; the others are unaffected.
"""

from jaxrl_hybrid.engine.core import Execution, PhaseResult, first_divergence, run_phase
from jaxrl_hybrid.engine.distributed import initialize_distributed
from jaxrl_hybrid.engine.store import ResumeStore

__all__ = ["Execution", "PhaseResult", "ResumeStore", "first_divergence", "initialize_distributed", "run_phase"]
