"""H2O: hybrid offline (real data) and online (simulator) RL with a dynamics-aware critic."""

from jaxrl_hybrid.agents.h2o.agent import H2O, H2OState
from jaxrl_hybrid.agents.h2o.config import H2OConfig, H2OHParams

__all__ = ["H2O", "H2OConfig", "H2OHParams", "H2OState"]
