"""The one recorder every experiment writes its run folder through.

`Recorder` owns a run folder from start to commit: config.json (checked against the
interrupted run on `--resume`), metrics.jsonl (one line per evaluation chunk), TensorBoard /
W&B sinks, the progress line per chunk, the engine's resume checkpoints, the warnings for
runs that diverged, summary.json and the final move into place. `run_experiment` (train,
hybrid) and `run_finetune` (two phases) differ only in the programs they run and the summary
they write.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import jax
import numpy as np

from jaxrl_hybrid.data.stats import normalized_score
from jaxrl_hybrid.engine import ResumeStore, run_phase
from jaxrl_hybrid.engine.core import layout_differences
from jaxrl_hybrid.logging import Progress, RunDir
from jaxrl_hybrid.logging.run_dir import json_default, staging_path
from jaxrl_hybrid.report import summarize
from jaxrl_hybrid.report.stats import iqm

RESUME_DIR = "resume"
# Record keys that change how a run executes or is logged, never its numbers: a resumed run
# may differ from the original in these (callers add their own, e.g. the CLI's run options).
# "layout" is config.json's record of the layout; the resume checkpoint itself refuses a
# different block size, device or process count.
EXECUTION_FIELDS = frozenset(["overwrite", "out", "wall_time_s", "layout"])


def as_json(obj: Any) -> Any:
    """`obj` as the JSON reader sees it (tuples as lists, numpy scalars as numbers)."""
    return json.loads(json.dumps(obj, default=json_default))


def open_run_dir(
    out: str, overwrite: bool, resume: bool, record: dict, fingerprint, what: str, ignore: frozenset[str] = frozenset()
) -> RunDir | None:
    """The run folder (process 0; None elsewhere) with `record` as its config.json. When
    resuming, first check that nothing that changes the numbers (outside `ignore` and
    EXECUTION_FIELDS) has changed since the interrupted run started."""
    from jaxrl_hybrid.engine.store import config_differences

    if jax.process_index() != 0:
        return None
    run_dir = RunDir(out, overwrite=overwrite, resume=resume)
    if run_dir.resumed:
        saved = run_dir.read_json("config.json")
        if saved is not None:
            if saved.get("dataset_fingerprint") != fingerprint:
                raise ValueError(
                    f"--resume {run_dir.staging}: the dataset differs from the one the run started with "
                    f"(sha256 {saved.get('dataset_fingerprint')} -> {fingerprint})"
                )
            diffs = config_differences(saved, as_json(record), EXECUTION_FIELDS | ignore)
            diffs += layout_differences(saved.get("layout"), record.get("layout") or {})
            if diffs:
                raise ValueError(
                    f"--resume {run_dir.staging}: this {what} differs from the run it would continue: "
                    + "; ".join(diffs)
                )
        run_dir.truncate("metrics.jsonl")  # rewritten from the checkpoint's history
    run_dir.write_json("config.json", record)
    return run_dir


def make_sinks(options, out: str, name: str, record: dict) -> list:
    """TensorBoard / W&B sinks the options ask for (process 0 only); `options` has the
    fields tensorboard, wandb, wandb_project and wandb_mode, or is None."""
    if options is None or jax.process_index() != 0:
        return []
    from jaxrl_hybrid.logging.sinks import TensorBoardSink, WandbSink

    staging = staging_path(out)
    sinks = []
    if options.tensorboard:
        sinks.append(TensorBoardSink(staging / "tensorboard"))
    if options.wandb:
        sinks.append(WandbSink(options.wandb_project, name, record, staging, mode=options.wandb_mode))
    return sinks


def chunk_scalars(metrics: dict[str, np.ndarray], eval_per_run: np.ndarray) -> dict[str, float]:
    """What the sinks get for one chunk: the evaluation return's mean and IQM over the finite
    runs, each run's return (`eval_return/run_<i>`) and the mean of each training statistic."""
    finite = eval_per_run[np.isfinite(eval_per_run)]
    out: dict[str, float] = {}
    if finite.size:
        out["eval_return/mean"] = float(finite.mean())
        out["eval_return/iqm"] = float(iqm(finite))
    for i, r in enumerate(eval_per_run):
        out[f"eval_return/run_{i}"] = float(r)
    for name, value in metrics.items():
        if name == "eval_returns":
            continue
        v = np.asarray(value, dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size:
            out[f"train/{name}"] = float(v.mean())
    return out


def progress_printer(total_steps: int, num_runs: int, steps_after, warmup_steps: int, label: str = ""):
    """`on_progress` for `run_phase`: a progress line per chunk (with the group when runs are split)."""
    progress = Progress(total_steps, num_runs)

    def on_progress(group, num_groups, chunk, metrics):
        if jax.process_index() != 0:
            return
        if metrics is None:  # the group starts (compiled) after `chunk`
            progress.begin(steps_after(chunk) if chunk >= 0 else warmup_steps)
            return
        returns = np.asarray(metrics["eval_returns"]).mean(-1)
        mean_return = float(np.nanmean(returns)) if np.isfinite(returns).any() else float("nan")
        extra = label + (f" group {group + 1}/{num_groups}" if num_groups > 1 else "")
        progress.update(steps_after(chunk), mean_return, extra.strip())

    return on_progress


def diverged_runs(diverged_step: np.ndarray, num_seeds: int, grid: list[dict]) -> list[dict]:
    """The runs that diverged, each with its seed index, hparam setting and first bad step."""
    return [
        {"run": int(i), "seed_index": int(i % num_seeds), "hparams": grid[i // num_seeds], "step": int(step)}
        for i, step in enumerate(diverged_step)
        if step >= 0
    ]


def finite_summary(values: np.ndarray, ok: np.ndarray, seed: int) -> dict:
    """summarize() over the runs that did not diverge (None aggregates if none is left)."""
    kept = np.asarray(values)[ok]
    if kept.size == 0:
        return {"mean": None, "iqm": None, "ci95": None, "num_runs": 0}
    return summarize(kept, seed=seed)


def note_schedule(program, requested: int, unit: str) -> None:
    """Say at the start when the run will stop short of the requested length, and why."""
    ran = program.total_env_steps
    if ran != requested and jax.process_index() == 0:
        warm = f"{program.warmup_steps} warm-up + " if program.warmup_steps else ""
        print(
            f"note: {requested} {unit} requested, {ran} will run ({warm}{program.num_chunks} chunks of "
            f"{program.steps_per_chunk}, one per evaluation); the remaining {requested - ran} do not fill a chunk "
            f"(ask for {ran + program.steps_per_chunk} to run one more)",
            file=sys.stderr,
            flush=True,
        )


class Recorder:
    """One experiment's run folder, metrics and progress, from `open` to `commit`.

    Off process 0 of a multi-host run, `run_dir` is None: the recorder runs its phases (each
    process trains its share) and writes nothing.
    """

    def __init__(
        self,
        out: str,
        record: dict,
        *,
        fingerprint: str | None,
        seed: int,
        num_runs: int,
        references: tuple[float, float] | None = None,
        overwrite: bool = False,
        resume: bool = False,
        what: str = "run",
        options=None,
        name: str = "run",
        ignore: frozenset[str] = frozenset(),
    ):
        self.out = out
        self.record = record
        self.fingerprint = fingerprint
        self.seed = seed
        self.num_runs = num_runs
        self.references = references
        self.run_dir = open_run_dir(out, overwrite, resume, record, fingerprint, what, ignore)
        self.sinks = make_sinks(options, out, name, record)

    @property
    def writes(self) -> bool:
        """Whether this process writes the folder (process 0)."""
        return self.run_dir is not None

    def scores(self, returns: np.ndarray) -> np.ndarray:
        """Normalised scores from the dataset's reference returns (the returns when it has none)."""
        return returns if self.references is None else normalized_score(returns, *self.references)

    def log_chunk(self, step: int, eval_per_run: np.ndarray, metrics=None, *, tag: str = "", **fields) -> None:
        """One metrics.jsonl line ({**fields, step, eval_return, normalized_score, metrics...})
        and the sinks' scalars (under `tag/` when given)."""
        metrics = metrics or {}
        line = {**fields, "step": step, "eval_return": np.asarray(eval_per_run).tolist()}
        if self.references is not None:
            line["normalized_score"] = self.scores(eval_per_run).tolist()
        for name, value in metrics.items():
            if name != "eval_returns":
                line[name] = np.asarray(value, dtype=np.float64).tolist()
        if self.run_dir is not None:
            self.run_dir.append_jsonl("metrics.jsonl", line)
        if not self.sinks:
            return
        scalars = chunk_scalars(metrics, np.asarray(eval_per_run))
        for sink in self.sinks:
            sink.log(step, {f"{tag}/{k}": v for k, v in scalars.items()} if tag else scalars)

    def run(self, phase: str, program, init, inputs, hparams, *, execution, on_chunk):
        """`engine.run_phase` over every chunk of `program` (a TrainProgram), with resume
        checkpoints under `<out>.partial/resume/<phase>`, a progress line per chunk and
        `on_chunk(chunk, metrics)` for each finished chunk."""
        suffix = f"-p{jax.process_index()}" if jax.process_count() > 1 else ""
        return run_phase(
            phase,
            init,
            program.run_chunk,
            inputs,
            hparams,
            program.num_chunks,
            execution=execution,
            store=ResumeStore(staging_path(self.out) / RESUME_DIR / f"{phase}{suffix}"),
            fingerprint={"data": self.fingerprint, "seed": self.seed, "num_runs": self.num_runs},
            config=as_json(self.record),
            on_chunk=on_chunk,
            on_progress=progress_printer(
                program.total_env_steps, self.num_runs, program.env_steps_after, program.warmup_steps
            ),
        )

    def close_sinks(self) -> None:
        for sink in self.sinks:
            sink.close()

    def flag_diverged(self, diverged_step: np.ndarray, num_seeds: int, grid: list[dict], describe) -> list[dict]:
        """The diverged runs (see `diverged_runs`), each announced by a RuntimeWarning whose
        text `describe(run)` gives."""
        diverged = diverged_runs(diverged_step, num_seeds, grid)
        for d in diverged:
            warnings.warn(describe(d), RuntimeWarning, stacklevel=3)
        return diverged

    def commit(self, summary: dict) -> dict:
        """Move the finished folder into place (resume checkpoints dropped); `summary` with its path."""
        path = self.run_dir.commit(drop=(RESUME_DIR,))
        summary["out"] = str(path)
        return summary
