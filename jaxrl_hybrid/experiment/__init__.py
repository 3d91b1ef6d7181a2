"""Whole experiments into run folders: the library behind every command, experiment and test.

    from jaxrl_hybrid.experiment import run_experiment, run_finetune, parse_grid

`run_experiment` trains a TrainConfig or HybridConfig over seeds x a traced hyperparameter
grid; `run_finetune` pretrains offline and fine-tunes online. Both write their folder through
one `Recorder` (record.py): config.json, metrics.jsonl, summary.json, report, checkpoints,
resume state, TensorBoard / W&B. The CLI only parses options and calls these.
"""

from __future__ import annotations

_EXPORTS = {
    "run_experiment": "train",
    "run_finetune": "finetune",
    "parse_grid": "grid",
    "Recorder": "record",
    "EXECUTION_FIELDS": "record",
    "RESUME_DIR": "record",
    "open_run_dir": "record",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):  # JAX is imported only when a run starts (`--help` stays fast)
    import importlib

    if name not in _EXPORTS:
        raise AttributeError(f"module 'jaxrl_hybrid.experiment' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"jaxrl_hybrid.experiment.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
