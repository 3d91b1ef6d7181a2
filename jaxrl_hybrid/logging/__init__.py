"""Run folders, JSONL metrics and progress output."""

from jaxrl_hybrid.logging.progress import Progress
from jaxrl_hybrid.logging.run_dir import RunDir, RunDirExistsError

__all__ = ["Progress", "RunDir", "RunDirExistsError"]
