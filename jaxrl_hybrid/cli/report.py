"""`jaxrl-hybrid report`: compare finished run folders with honest statistics.

jaxrl-hybrid report runs/sac runs/td3 --out report/
jaxrl-hybrid report sac=runs/sac_pendulum sac=runs/sac_cartpole td3=runs/td3_pendulum td3=runs/td3_cartpole
"""

from __future__ import annotations

import dataclasses

import tyro


@dataclasses.dataclass
class Report:
    """IQM, mean, median and optimality gap with stratified-bootstrap 95% CIs, probability of
    improvement between every pair of methods, performance profiles and learning curves with
    CI bands: report.md, report.html, comparison.json and PNGs in --out.

    A run folder is a method (its folder name, or LABEL=PATH; one method per hyperparameter
    setting when it holds a grid) on a task (its env or dataset); folders sharing a label on
    different tasks are one method across tasks.
    """

    runs: tyro.conf.Positional[tuple[str, ...]]
    out: str = "report"
    optimality_threshold: float | None = None
    """score counted as optimal; default 100 for normalised scores, none for raw returns"""
    num_resamples: int = 2000
    seed: int = 0
    title: str = "Comparison"
    overwrite: bool = False
    """replace a non-empty --out folder (only once the new report is complete)"""


def report(args: Report) -> dict:
    from pathlib import Path

    from jaxrl_hybrid.logging.run_dir import check_out
    from jaxrl_hybrid.report.compare import load_runs, write_comparison

    check_out(args.out, args.overwrite, resumable=False)  # before reading anything
    out = Path(args.out).resolve()
    for spec in args.runs:
        for candidate in (spec, spec.partition("=")[2]):
            if candidate and Path(candidate).resolve() == out:
                raise ValueError(
                    f"--out {args.out}: is one of the run folders being compared; write the report elsewhere"
                )
    methods, score_name = load_runs(list(args.runs))
    threshold = args.optimality_threshold
    if threshold is None and score_name == "normalized_score":
        threshold = 100.0
    result = write_comparison(
        methods,
        args.out,
        score_name,
        threshold,
        num_resamples=args.num_resamples,
        seed=args.seed,
        title=args.title,
        overwrite=args.overwrite,
    )
    for label, agg in result["aggregates"].items():
        iqm = agg["iqm"]
        print(f"{label}: IQM {iqm['value']:.2f} [{iqm['ci95'][0]:.2f}, {iqm['ci95'][1]:.2f}]")
    print(f"report: {args.out}/report.md and {args.out}/report.html")
    return result
