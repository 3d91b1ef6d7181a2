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

# Names resolve on first use (PEP 562), so `engine.host` can be imported, and the CPU backend
# configured, before JAX is.
_EXPORTS = {
    "Execution": "core",
    "PhaseResult": "core",
    "first_divergence": "core",
    "run_phase": "core",
    "initialize_distributed": "distributed",
    "ResumeStore": "store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'jaxrl_hybrid.engine' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"jaxrl_hybrid.engine.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
