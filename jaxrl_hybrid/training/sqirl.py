"""SQIRL's loop: one stage per timestep t, each collecting episodes that follow the learned
policies before t and act at random from t on, fitting the Q heads, and freezing the policy of t.

Every stage runs `num_envs` whole episodes (up to the env's time limit) from a reset, without
auto-reset, and stores the steps from t on (the random continuation, whose discounted
Monte-Carlo returns are the random policy's Q-values) in a buffer that keeps every stage's data,
as the authors' code does. Budgets count env-step slots: a stage costs num_envs x time limit.
Evaluation follows policy t at timestep t (the last learned one after them).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.envs.core import Env
from jaxrl_hybrid.losses.td import lambda_returns
from jaxrl_hybrid.training.program import TrainProgram
from jaxrl_hybrid.types import Transition


@struct.dataclass
class SQIRLRunner:
    agent_state: Any
    buffer: Transition  # leaves (capacity, ...), rows of every stage, mc_return filled
    valid: jax.Array  # (capacity,) rows that hold a stored step
    stage: jax.Array
    key: jax.Array


def rollout(agent, env: Env, env_params, state, key, num_episodes: int, random_from: jax.Array):
    """`num_episodes` episodes from a reset: timestep s acts with policy s when s < `random_from`,
    uniformly at random otherwise. Returns (steps with leaves (T, num_episodes, ...) and their
    Monte-Carlo returns, alive mask (T, num_episodes), episode returns)."""
    spec = env.spec
    key_reset, key_steps = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(key_reset, num_episodes), env_params)

    def step(carry, xs):
        obs, env_state, alive = carry
        s, key_t = xs
        key_random, key_env = jax.random.split(key_t)
        greedy = agent.act(state, obs, None, True, timestep=s)
        random = jax.random.randint(key_random, (num_episodes,), 0, spec.action_dim)
        action = jnp.where(s < random_from, greedy, random)
        res = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(key_env, num_episodes), env_state, action, env_params
        )
        row = Transition(obs, action, res.reward, res.obs, res.terminated, res.truncated)
        done = jnp.logical_or(res.terminated, res.truncated)
        return (res.obs, res.state, alive & ~done), (row, alive)

    steps = (jnp.arange(spec.max_episode_steps), jax.random.split(key_steps, spec.max_episode_steps))
    _, (rows, alive) = jax.lax.scan(step, (obs, env_state, jnp.ones(num_episodes, bool)), steps)
    return rows, alive


def mc_returns(rows: Transition, alive: jax.Array, gamma: jax.Array) -> jax.Array:
    """Discounted return-to-go of every step, cut at its episode's end (no bootstrap); 0 on the
    steps after it. The lambda-return with lambda 1 and nothing to bootstrap from."""
    done = jnp.logical_or(rows.terminated, rows.truncated)
    discount = jnp.full_like(rows.reward, gamma)
    g = lambda_returns(rows.reward, discount, jnp.zeros_like(rows.reward), done, 1.0)
    return jnp.where(alive, g, 0.0)


def make_sqirl_program(agent, env: Env, env_params: Any, config) -> TrainProgram:
    """`config.total_steps` env-step slots in stages of `config.num_envs` episodes, evaluated
    every `config.eval_every` slots; each stage makes `agent.config.updates_per_stage` updates on
    batches of `config.batch_size` rows of the buffer."""
    if not env.spec.discrete:
        raise ValueError(f"SQIRL acts greedily over discrete actions; {env.spec.name} is continuous")
    episodes, horizon = config.num_envs, env.spec.max_episode_steps
    slots = episodes * horizon
    stages_per_chunk = max(1, config.eval_every // slots)
    num_stages = config.total_steps // slots
    num_chunks = num_stages // stages_per_chunk
    if num_chunks < 1:
        raise ValueError(
            f"total_steps={config.total_steps} is less than one SQIRL stage of {slots} env-step slots "
            f"({episodes} episodes x time limit {horizon})"
        )
    capacity = num_chunks * stages_per_chunk * slots

    def init(key, hparams) -> SQIRLRunner:
        key, key_agent = jax.random.split(key)
        obs = jnp.zeros((capacity, *env.spec.obs_shape))
        flags = jnp.zeros((capacity,), bool)
        buffer = Transition(
            obs,
            jnp.zeros((capacity,), jnp.int32),
            jnp.zeros((capacity,)),
            obs,
            flags,
            flags,
            mc_return=jnp.zeros((capacity,)),
        )
        return SQIRLRunner(agent.init(key_agent), buffer, flags, jnp.zeros((), jnp.int32), key)

    def stage(runner: SQIRLRunner, hparams):
        key, key_collect, key_sample = jax.random.split(runner.key, 3)
        t = runner.stage
        rows, alive = rollout(agent, env, env_params, runner.agent_state, key_collect, episodes, t)
        g = mc_returns(rows, alive, hparams.gamma)
        keep = alive & (jnp.arange(horizon)[:, None] >= t)  # the random continuation from t on
        flat = jax.tree.map(lambda x: x.reshape((slots, *x.shape[2:])), rows.replace(mc_return=g))
        start = t * slots
        buffer = jax.tree.map(
            lambda b, x: jax.lax.dynamic_update_slice_in_dim(b, x.astype(b.dtype), start, 0), runner.buffer, flat
        )
        valid = jax.lax.dynamic_update_slice_in_dim(runner.valid, keep.reshape(slots), start, 0)
        # Uniform over the stored rows: the cumulative weights once per stage, not once per update
        # (the draw is jax.random.choice's with replacement, from the same cumulative sum).
        cumulative = jnp.cumsum(valid.astype(jnp.float32) / jnp.maximum(valid.sum(), 1))

        def update(state, k):
            k_idx, k_update = jax.random.split(k)
            u = jax.random.uniform(k_idx, (config.batch_size,), dtype=cumulative.dtype)
            idx = jnp.searchsorted(cumulative, cumulative[-1] * (1 - u))
            batch = jax.tree.map(lambda b: b[idx], buffer)
            return agent.update(state, batch, k_update, hparams)

        agent_state, metrics = jax.lax.scan(
            update, runner.agent_state, jax.random.split(key_sample, agent.config.updates_per_stage)
        )
        agent_state = agent.freeze(agent_state)
        returns = jnp.sum(jnp.where(alive, rows.reward, 0.0), axis=0)
        metrics = {k: v.mean() for k, v in metrics.items()}
        metrics["train_episode_return"] = returns.mean()
        return SQIRLRunner(agent_state, buffer, valid, t + 1, key), metrics

    def run_chunk(runner: SQIRLRunner, hparams):
        runner, metrics = jax.lax.scan(lambda r, _: stage(r, hparams), runner, None, length=stages_per_chunk)
        key, key_eval = jax.random.split(runner.key)
        never = jnp.asarray(horizon + 1)  # no random steps: every timestep follows its policy
        rows, alive = rollout(agent, env, env_params, runner.agent_state, key_eval, config.num_eval_episodes, never)
        metrics = {k: v.mean() for k, v in metrics.items()}
        metrics["eval_returns"] = jnp.sum(jnp.where(alive, rows.reward, 0.0), axis=0)
        return runner.replace(key=key), metrics

    return TrainProgram(
        init=init,
        run_chunk=run_chunk,
        num_chunks=num_chunks,
        steps_per_chunk=stages_per_chunk * slots,
        warmup_steps=0,
        default_hparams=agent.default_hparams(),
    )
