"""The behaviour policies: one SAC run trained and snapshotted, each snapshot scored, the
random and expert reference returns measured."""

from __future__ import annotations

import dataclasses
import sys
import time
import warnings
from typing import Any, TextIO

import jax
import jax.numpy as jnp
import numpy as np

from jaxrl_hybrid.envs.core import Env
from jaxrl_hybrid.training.collect.rollout import _uniform_policy, stitch_next_obs, with_actor
from jaxrl_hybrid.training.evaluation import evaluate
from jaxrl_hybrid.types import Transition

KINDS = ("random", "medium", "expert", "medium-replay", "medium-expert")

# SAC environment steps that reach a converged expert with the default networks.
DEFAULT_TRAIN_STEPS: dict[str, int] = {
    "gymnax:Pendulum-v1": 20_000,
    "gymnax:MountainCarContinuous-v0": 50_000,
    "brax:inverted_pendulum": 50_000,
    "brax:hopper": 1_000_000,
}
FALLBACK_TRAIN_STEPS = 200_000


@dataclasses.dataclass(frozen=True)
class CollectConfig:
    """How the behaviour policies are trained and the data is rolled out (static).

    `train_steps=None` takes `DEFAULT_TRAIN_STEPS` for the env; 0 trains nothing (only the
    `random` kind can then be collected, and there is no expert reference return).
    Snapshots of the actor are taken every `snapshot_every` steps (default: train_steps / 100)
    and each is scored on `num_snapshot_episodes` episodes; reference returns use
    `num_reference_episodes`.
    """

    env: str = "gymnax:Pendulum-v1"
    shift: str | None = None
    side: str = "real"
    train_steps: int | None = None
    snapshot_every: int | None = None
    hidden_dims: tuple[int, ...] = (256, 256)
    batch_size: int = 256
    learning_rate: float = 3e-4
    learning_starts: int = 1_000
    num_snapshot_episodes: int = 20
    num_reference_episodes: int = 100
    max_rollout_envs: int = 64
    medium_fraction: float = 1.0 / 3.0
    gamma: float = 0.99

    def __post_init__(self):
        if self.side not in ("sim", "real"):
            raise ValueError(f"CollectConfig.side must be 'sim' or 'real', got {self.side!r}")
        if self.train_steps is not None and self.train_steps < 0:
            raise ValueError(f"CollectConfig.train_steps must be >= 0, got {self.train_steps}")
        if not 0.0 < self.medium_fraction < 1.0:
            raise ValueError(f"CollectConfig.medium_fraction must be in (0, 1), got {self.medium_fraction}")

    @property
    def resolved_train_steps(self) -> int:
        if self.train_steps is not None:
            return self.train_steps
        return DEFAULT_TRAIN_STEPS.get(self.env, FALLBACK_TRAIN_STEPS)

    def dynamics(self) -> dict[str, float]:
        """The dynamics overrides of `shift` on `side` (empty without a shift)."""
        if self.shift is None:
            return {}
        from jaxrl_hybrid.envs.shifts import get_shift

        s = get_shift(self.shift)
        if s.env_name != self.env:
            raise ValueError(f"shift {self.shift!r} is defined for {s.env_name}, not {self.env}")
        return {k: float(v) for k, v in (s.real if self.side == "real" else s.sim).items()}


@dataclasses.dataclass
class BehaviourPolicies:
    """What one SAC training run leaves for data collection (host arrays)."""

    config: CollectConfig
    seed: int
    agent: Any
    env: Env
    env_params: Any
    final_state: Any  # the agent state at the end of training (its critic is what attacks use)
    snapshots: Any  # actor parameters stacked on a leading snapshot axis
    snapshot_steps: np.ndarray
    snapshot_returns: np.ndarray
    expert_index: int
    medium_index: int
    random_return: float
    expert_return: float | None
    medium_return: float | None
    replay: Transition | None  # every training transition up to the medium snapshot, in order

    def snapshot(self, i: int):
        """The agent state that acts with actor snapshot `i`."""
        return with_actor(self.final_state, jax.tree.map(lambda x: x[i], self.snapshots))

    def normalized(self, ret: float) -> float | None:
        if self.expert_return is None or self.expert_return == self.random_return:
            return None
        return 100.0 * (ret - self.random_return) / (self.expert_return - self.random_return)


def _log(stream: TextIO | None, message: str) -> None:
    if stream is not None:
        print(message, file=stream, flush=True)


@dataclasses.dataclass
class SACRun:
    """One SAC training run: the final state, actor snapshots and every transition in order."""

    agent: Any
    final_state: Any
    actors: Any  # actor parameters stacked on a leading snapshot axis
    steps: np.ndarray  # env steps at each snapshot
    replay: Transition  # the whole replay buffer, in collection order (capacity = train steps)


def _sac_config(config: CollectConfig):
    from jaxrl_hybrid.agents import SACConfig

    return SACConfig(hidden_dims=config.hidden_dims)


def train_sac(config: CollectConfig, key: jax.Array, stream: TextIO | None = sys.stderr) -> SACRun:
    """Train SAC online on `config.env` (with its shift), snapshotting the actor every `snapshot_every` steps."""
    from jaxrl_hybrid.envs import make_env
    from jaxrl_hybrid.logging import Progress
    from jaxrl_hybrid.training import TrainConfig, make_agent, make_program

    train_steps = config.resolved_train_steps
    if train_steps < 2:
        raise ValueError(f"training SAC needs train_steps >= 2, got {train_steps}")
    snapshot_every = config.snapshot_every or max(1, train_steps // 100)
    train_config = TrainConfig(
        algo="sac",
        env=config.env,
        env_overrides=tuple(config.dynamics().items()),
        total_steps=train_steps,
        num_envs=1,
        learning_starts=min(config.learning_starts, train_steps // 2),
        buffer_size=train_steps,
        eval_every=snapshot_every,
        num_eval_episodes=5,
        batch_size=config.batch_size,
        agent=_sac_config(config),
    )
    program = make_program(train_config)
    program_env_spec = make_env(config.env, **config.dynamics())[0].spec
    lr = jnp.float32(config.learning_rate)
    hparams = program.default_hparams.replace(gamma=jnp.float32(config.gamma), actor_lr=lr, critic_lr=lr, temp_lr=lr)
    t0 = time.perf_counter()
    runner = jax.jit(program.init)(key, hparams)
    run_chunk = jax.jit(program.run_chunk).lower(runner, hparams).compile()
    progress = Progress(program.total_env_steps, 1, stream=stream) if stream is not None else None
    if progress is not None:
        progress.begin(
            program.warmup_steps, f"training SAC on {config.env} (compiled in {time.perf_counter() - t0:.1f}s)"
        )
    actors, steps = [jax.device_get(runner.agent_state.actor.params)], [program.warmup_steps]
    for chunk in range(program.num_chunks):
        runner, metrics = run_chunk(runner, hparams)
        actors.append(jax.device_get(runner.agent_state.actor.params))
        steps.append(program.env_steps_after(chunk))
        if progress is not None:
            progress.update(steps[-1], float(np.mean(metrics["eval_returns"])))
    return SACRun(
        agent=make_agent(train_config, program_env_spec),
        final_state=jax.device_get(runner.agent_state),
        actors=jax.tree.map(lambda *xs: np.stack(xs), *actors),
        steps=np.asarray(steps),
        replay=jax.device_get(runner.buffer.data),
    )


def train_behaviour_policies(config: CollectConfig, seed: int = 0, stream: TextIO | None = sys.stderr):
    """Train one SAC run, snapshot it, score every snapshot, pick expert and medium."""
    from jaxrl_hybrid.envs import make_env
    from jaxrl_hybrid.training import TrainConfig, make_agent

    dynamics = config.dynamics()
    env, env_params = make_env(config.env, **dynamics)
    if env.spec.discrete:
        raise ValueError(f"dataset generation trains SAC, which needs continuous actions; {config.env} is discrete")
    key = jax.random.PRNGKey(seed)
    key_train, key_snapshots, key_random, key_reference = jax.random.split(key, 4)
    spec = env.spec

    random_returns = jax.jit(
        lambda k: evaluate(k, env, env_params, _uniform_policy(spec), config.num_reference_episodes)
    )(key_random)
    random_return = float(np.mean(random_returns))
    _log(stream, f"random policy on {config.env}: mean return {random_return:.2f}")

    train_steps = config.resolved_train_steps
    if train_steps == 0:
        agent = make_agent(TrainConfig(algo="sac", env=config.env, agent=_sac_config(config)), spec)
        state = agent.init(key_train)
        snapshots = jax.tree.map(lambda x: x[None], state.actor.params)
        return BehaviourPolicies(
            config, seed, agent, env, env_params, state, snapshots, np.zeros(1, np.int64),
            np.array([random_return]), 0, 0, random_return, None, None, None,
        )  # fmt: skip

    run = train_sac(config, key_train, stream)
    agent, final_state, snapshots, steps = run.agent, run.final_state, run.actors, run.steps

    def score(actor_params, k, n):
        state = with_actor(final_state, actor_params)
        return evaluate(k, env, env_params, lambda obs, kk: agent.act(state, obs, kk, False), n)

    keys = jax.random.split(key_snapshots, len(steps))
    snapshot_returns = np.asarray(
        jax.jit(jax.vmap(lambda s, k: score(s, k, config.num_snapshot_episodes).mean()))(snapshots, keys)
    )
    expert_index = int(np.argmax(snapshot_returns))
    best = snapshot_returns[expert_index]
    if best - random_return <= 1e-6 * max(1.0, abs(random_return)):
        raise ValueError(
            f"SAC did not beat the random policy on {config.env} in {train_steps} steps "
            f"(best snapshot {best:.2f} vs random {random_return:.2f}); raise train_steps"
        )
    scores = 100.0 * (snapshot_returns - random_return) / (best - random_return)
    target = 100.0 * config.medium_fraction
    medium_index = int(np.argmin(np.abs(scores[: expert_index + 1] - target)))

    key_expert, key_medium = jax.random.split(key_reference)
    ref = jax.jit(lambda s, k: score(s, k, config.num_reference_episodes))
    expert_return = float(np.mean(ref(jax.tree.map(lambda x: x[expert_index], snapshots), key_expert)))
    medium_return = float(np.mean(ref(jax.tree.map(lambda x: x[medium_index], snapshots), key_medium)))
    medium_step = int(steps[medium_index])
    replay = jax.tree.map(lambda x: np.asarray(x[:medium_step]), run.replay)
    done = replay.terminated | replay.truncated
    replay = replay.replace(next_obs=stitch_next_obs(replay.obs, replay.next_obs, done))
    policies = BehaviourPolicies(
        config, seed, agent, env, env_params, final_state, snapshots, np.asarray(steps), snapshot_returns,
        expert_index, medium_index, random_return, expert_return, medium_return, replay,
    )  # fmt: skip
    if abs(scores[medium_index] - target) > 15.0:
        warnings.warn(
            f"no snapshot scored near {target:.0f} (closest: {scores[medium_index]:.0f} at step {medium_step}); "
            "lower snapshot_every for a finer choice of the medium policy",
            UserWarning,
            stacklevel=2,
        )
    _log(
        stream,
        f"expert: step {steps[expert_index]}, return {expert_return:.2f}; medium: step {medium_step}, "
        f"return {medium_return:.2f} (normalised {policies.normalized(medium_return):.1f})",
    )
    return policies


def q_and_policy(agent, state):
    """A trained SAC agent's critic `q(obs, actions) -> (members, batch)` and deterministic policy.

    What the adversarial corruption attacks (`jaxrl_hybrid.data.corrupt`); RIQL attacks a
    fully trained agent.
    """
    loss = agent.config.critic_loss

    def critic(obs, actions):
        return loss.values(agent.nets.critic.apply(state.critic.params, obs, actions))

    def policy(obs):
        return agent.act(state, obs, jax.random.PRNGKey(0), True)

    return critic, policy
