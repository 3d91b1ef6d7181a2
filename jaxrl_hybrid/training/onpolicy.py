"""The on-policy loop (PPO, PQN): roll out `num_envs` envs for `num_steps`, then update.

The loop asks the agent for `sample(state, obs, key, hparams, progress) -> (action, log_prob)`
(`progress`: the fraction of the run's updates made, PQN's exploration schedule) and
`update(state, rollout, key, hparams, total_updates)`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.agents.ppo.state import Rollout
from jaxrl_hybrid.envs.core import Env
from jaxrl_hybrid.envs.wrappers import wrap_for_training
from jaxrl_hybrid.training.program import TrainProgram, make_run_chunk


@struct.dataclass
class OnPolicyRunner:
    agent_state: Any  # the agent's named state (parameters, optimiser states, targets)
    env_state: Any
    obs: jax.Array
    key: jax.Array
    iteration: jax.Array


def make_onpolicy_program(agent, env: Env, env_params: Any, config) -> TrainProgram:
    """Program for an on-policy agent (PPO, PQN); the learning rate anneals linearly to 0 over
    the run if the agent's config says `anneal_lr`."""
    train_env = wrap_for_training(env)
    num_envs, num_steps = config.num_envs, agent.config.num_steps
    steps_per_iter = num_envs * num_steps
    iters_per_chunk = max(1, config.eval_every // steps_per_iter)
    num_chunks = config.total_steps // (iters_per_chunk * steps_per_iter)
    if num_chunks < 1:
        raise ValueError(
            f"total_steps={config.total_steps} is less than one chunk of "
            f"{iters_per_chunk * steps_per_iter} steps (num_envs x num_steps x iterations)"
        )
    total_iters = num_chunks * iters_per_chunk

    def init(key, hparams) -> OnPolicyRunner:
        key, key_agent, key_reset = jax.random.split(key, 3)
        obs, env_state = jax.vmap(train_env.reset, in_axes=(0, None))(jax.random.split(key_reset, num_envs), env_params)
        return OnPolicyRunner(agent.init(key_agent), env_state, obs, key, jnp.zeros((), jnp.int32))

    def iteration(runner: OnPolicyRunner, hparams):
        key, key_roll, key_update = jax.random.split(runner.key, 3)
        progress = runner.iteration.astype(jnp.float32) / total_iters

        def env_step(carry, key_t):
            env_state, obs = carry
            key_act, key_env = jax.random.split(key_t)
            action, log_prob = agent.sample(runner.agent_state, obs, key_act, hparams, progress)
            res = jax.vmap(train_env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(key_env, num_envs), env_state, action, env_params
            )
            step = Rollout(obs, action, log_prob, res.reward, res.info["final_obs"], res.terminated, res.truncated)
            episode = (res.info["episode_done"], res.info["episode_return"])
            return (res.state, res.obs), (step, episode)

        (env_state, obs), (rollout, (done, ret)) = jax.lax.scan(
            env_step, (runner.env_state, runner.obs), jax.random.split(key_roll, num_steps)
        )
        if agent.config.anneal_lr:
            hparams = hparams.replace(lr=hparams.lr * (1.0 - progress))
        agent_state, metrics = agent.update(runner.agent_state, rollout, key_update, hparams, total_iters)
        runner = OnPolicyRunner(agent_state, env_state, obs, key, runner.iteration + 1)
        return runner, (metrics, (done.sum(), jnp.where(done, ret, 0.0).sum()))

    run_chunk = make_run_chunk(iteration, iters_per_chunk, agent, env, env_params, config.num_eval_episodes)

    return TrainProgram(
        init=init,
        run_chunk=run_chunk,
        num_chunks=num_chunks,
        steps_per_chunk=iters_per_chunk * steps_per_iter,
        warmup_steps=0,
        default_hparams=agent.default_hparams(),
    )
