"""The one list of agents: every other list (the CLI's choices, the loops' dispatch, the
fine-tuning methods) is derived from it. Pure data: importing it imports no JAX, so the CLI
checks `--algo` and prints `--help` at once.

An agent class satisfies `Agent`: it is built from (static config, env spec), names its
static `Config` and traced `HParams` dataclasses, and exposes pure, jittable init / update / act.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Literal, Protocol


class Agent(Protocol):
    """The agent contract (../shared/DESIGN.md): arrays in, arrays out, never envs or files."""

    Config: type  # static: network widths, loss kind, ensemble size... (select the compiled program)
    HParams: type  # traced: learning rates, discount, penalties... (vmapped like seeds)

    def __init__(self, config: Any, spec: Any) -> None: ...

    def init(self, key) -> Any:
        """The agent's named state (parameters, optimiser states, target networks)."""

    def update(self, state, batch, key, hparams) -> tuple[Any, dict]:
        """One fused update on a Batch: (new state, metrics)."""

    def act(self, state, obs, key, deterministic: bool):
        """Actions for a batch of observations."""


@dataclasses.dataclass(frozen=True)
class AgentInfo:
    """Where an agent lives and which loop trains it.

    `data`: "online" agents learn in an env, "offline" ones from a dataset. `loop`: the
    training loop (training.offpolicy, training.onpolicy or training.offline). `train`: offered
    by `jaxrl-hybrid train` (LPG learns nothing without a meta-learned rule). `model_rollouts`:
    offline agents whose batches may mix in learned-model rollouts (MOPO; Cal-QL's Monte-Carlo
    bound needs whole real episodes, BC and ReBRAC are left as their papers run them).

    The loop settings' paper defaults, which the loop configs (`TrainConfig`...) take when not
    given: `batch_size` of the off-policy and offline loops' minibatches (None: on-policy
    agents set their own minibatches), `normalize_observations` by the dataset's statistics
    and the dataset's `reward_scale` (offline loop; `data.reward_scale_factor`: IQL and RIQL
    scale by 1000 / the episode-return range, as the IQL paper and CORL's IQL do). `num_envs`:
    the online loops' parallel envs per seed by default (PPO 4, DQN 4: one update per 4 env
    steps, PQN 32 as purejaxql's CartPole).
    `discrete`: the agent acts in discrete action spaces only (DQN, PQN, SQIRL). `loop` "sqirl":
    SQIRL's own stage-per-timestep loop (`training.sqirl`).
    """

    name: str
    target: str  # "module:Class"
    data: Literal["online", "offline"]
    loop: Literal["off_policy", "on_policy", "offline", "sqirl"]
    train: bool = True
    model_rollouts: bool = False
    batch_size: int | None = 256
    normalize_observations: bool = False
    reward_scale: str = "none"
    num_envs: int = 1
    discrete: bool = False

    def load(self) -> type:
        module, _, cls = self.target.partition(":")
        return getattr(importlib.import_module(module), cls)


_A = "jaxrl_hybrid.agents."
REGISTRY: dict[str, AgentInfo] = {
    info.name: info
    for info in [
        AgentInfo("sac", _A + "sac:SAC", "online", "off_policy"),
        AgentInfo("td3", _A + "td3:TD3", "online", "off_policy"),
        AgentInfo("ppo", _A + "ppo:PPO", "online", "on_policy", batch_size=None, num_envs=4),
        AgentInfo("dqn", _A + "dqn:DQN", "online", "off_policy", batch_size=128, num_envs=4, discrete=True),
        AgentInfo("pqn", _A + "pqn:PQN", "online", "on_policy", batch_size=None, num_envs=32, discrete=True),
        AgentInfo("sqirl", _A + "sqirl:SQIRL", "online", "sqirl", num_envs=16, discrete=True),
        AgentInfo("lpg", _A + "lpg:LPG", "online", "on_policy", train=False, batch_size=None, num_envs=4),
        AgentInfo("bc", _A + "bc:BC", "offline", "offline"),
        AgentInfo("cql", _A + "cql:CQL", "offline", "offline", model_rollouts=True),
        AgentInfo("calql", _A + "cql:CalQL", "offline", "offline"),
        AgentInfo("iql", _A + "iql:IQL", "offline", "offline", model_rollouts=True, reward_scale="return_range"),
        AgentInfo(
            "riql",
            _A + "iql:RIQL",
            "offline",
            "offline",
            model_rollouts=True,
            normalize_observations=True,
            reward_scale="return_range",
        ),
        AgentInfo("td3bc", _A + "td3bc:TD3BC", "offline", "offline", model_rollouts=True),
        AgentInfo("rebrac", _A + "td3bc:ReBRAC", "offline", "offline", batch_size=1024),
        AgentInfo("arsq", _A + "arsq:ARSQ", "offline", "offline"),
        AgentInfo("iqlearn", _A + "iqlearn:IQLearn", "offline", "offline"),
    ]
}

ONLINE = tuple(n for n, a in REGISTRY.items() if a.data == "online")
OFFLINE = tuple(n for n, a in REGISTRY.items() if a.data == "offline")
ON_POLICY = tuple(n for n, a in REGISTRY.items() if a.loop == "on_policy")
TRAINABLE = tuple(n for n, a in REGISTRY.items() if a.train)  # `jaxrl-hybrid train --algo`
MODEL_ROLLOUTS = tuple(n for n, a in REGISTRY.items() if a.model_rollouts)
# Agents that bootstrap from their own head's next-state outputs, so C51's distributional backup applies.
DISTRIBUTIONAL = ("dqn", "pqn")

# Offline-to-online methods (training.finetune) and the offline agents each may pretrain:
# wsrl and moorl start from Cal-QL or CQL, calql / cql / iql fine-tune themselves keeping the
# data, iqlearn imitates online beside its demonstrations (from scratch by default), sac starts
# from scratch.
FINETUNE_PRETRAINERS: dict[str, tuple[str, ...]] = {
    "wsrl": ("calql", "cql"),
    "calql": ("calql",),
    "cql": ("cql",),
    "iql": ("iql",),
    "moorl": ("calql", "cql"),
    "iqlearn": ("iqlearn",),
    "sac": (),
}
FINETUNE_METHODS = tuple(FINETUNE_PRETRAINERS)


def agent_info(name: str) -> AgentInfo:
    """The registry entry of `name`; an unknown name lists the known ones."""
    if name not in REGISTRY:
        raise ValueError(f"unknown algo {name!r}; known algos: {sorted(REGISTRY)}")
    return REGISTRY[name]


def agent_class(name: str) -> type:
    """The agent class registered as `name` (imported on first use)."""
    return agent_info(name).load()
