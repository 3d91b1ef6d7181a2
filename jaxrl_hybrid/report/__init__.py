"""Statistics and reports over seeds: IQM, stratified bootstrap confidence intervals."""

from jaxrl_hybrid.report.stats import iqm, mean, stratified_bootstrap_ci, summarize

__all__ = ["iqm", "mean", "stratified_bootstrap_ci", "summarize"]
