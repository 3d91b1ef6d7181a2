"""The off-policy online loop (SAC, TD3): vectorised envs -> replay buffer -> agent updates."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxrl_hybrid.envs.core import Env
from jaxrl_hybrid.envs.wrappers import wrap_for_training
from jaxrl_hybrid.training import replay
from jaxrl_hybrid.training.program import TrainProgram, make_run_chunk
from jaxrl_hybrid.types import Transition


@struct.dataclass
class OffPolicyRunner:
    agent: Any
    buffer: replay.ReplayBuffer
    env_state: Any
    obs: jax.Array
    key: jax.Array


def make_offpolicy_program(agent, env: Env, env_params: Any, config) -> TrainProgram:
    """Build the program for an off-policy `agent` on `env` with `env_params`.

    The first `config.learning_starts` steps take uniform random actions and make no update
    (done in `init`); afterwards every iteration steps `num_envs` envs once and makes
    `num_envs` agent updates (each of `utd` critic minibatches).
    """
    spec = env.spec
    train_env = wrap_for_training(env)
    num_envs = config.num_envs
    agent_cfg = agent.config
    warmup_iters = -(-config.learning_starts // num_envs)
    iters_per_chunk = max(1, config.eval_every // num_envs)
    steps_per_chunk = iters_per_chunk * num_envs
    num_chunks = (config.total_steps - warmup_iters * num_envs) // steps_per_chunk
    if num_chunks < 1:
        raise ValueError(
            f"total_steps={config.total_steps} leaves no training after learning_starts="
            f"{config.learning_starts}; need at least one chunk of eval_every={config.eval_every} steps"
        )

    def env_step(runner: OffPolicyRunner, action, key):
        res = jax.vmap(train_env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(key, num_envs), runner.env_state, action, env_params
        )
        transition = Transition(
            obs=runner.obs,
            action=action,
            reward=res.reward,
            next_obs=res.info["final_obs"],
            terminated=res.terminated,
            truncated=res.truncated,
        )
        buffer = replay.add_batch(runner.buffer, transition)
        runner = runner.replace(buffer=buffer, env_state=res.state, obs=res.obs)
        return runner, res.info

    def random_action(key):
        if spec.discrete:
            return jax.random.randint(key, (num_envs,), 0, spec.action_dim)
        return jax.random.uniform(key, (num_envs, spec.action_dim), minval=-1.0, maxval=1.0)

    def init(key, hparams) -> OffPolicyRunner:
        key, key_agent, key_reset, key_warmup = jax.random.split(key, 4)
        obs, env_state = jax.vmap(train_env.reset, in_axes=(0, None))(jax.random.split(key_reset, num_envs), env_params)
        example = Transition(
            obs=obs[0],
            action=random_action(key)[0],
            reward=jnp.zeros(()),
            next_obs=obs[0],
            terminated=jnp.zeros((), bool),
            truncated=jnp.zeros((), bool),
        )
        runner = OffPolicyRunner(
            agent=agent.init(key_agent),
            buffer=replay.init_buffer(config.buffer_size, example),
            env_state=env_state,
            obs=obs,
            key=key,
        )

        def warmup(runner, key_t):
            key_action, key_env = jax.random.split(key_t)
            return env_step(runner, random_action(key_action), key_env)[0], None

        runner, _ = jax.lax.scan(warmup, runner, jax.random.split(key_warmup, warmup_iters))
        return runner

    def iteration(runner: OffPolicyRunner, hparams):
        key, key_act, key_env, key_sample, key_update = jax.random.split(runner.key, 5)
        action = agent.act(runner.agent, runner.obs, key_act, False, hparams)
        runner, info = env_step(runner.replace(key=key), action, key_env)

        def one_update(agent_state, keys):
            k_sample, k_update = keys
            batch = replay.sample(runner.buffer, k_sample, (agent_cfg.utd, agent_cfg.batch_size))
            return agent.update(agent_state, batch, k_update, hparams)

        agent_state, update_metrics = jax.lax.scan(
            one_update,
            runner.agent,
            (jax.random.split(key_sample, num_envs), jax.random.split(key_update, num_envs)),
        )
        episode = (
            info["episode_done"].sum(),
            jnp.where(info["episode_done"], info["episode_return"], 0.0).sum(),
        )
        return runner.replace(agent=agent_state), (jax.tree.map(jnp.mean, update_metrics), episode)

    run_chunk = make_run_chunk(iteration, iters_per_chunk, agent, env, env_params, config.num_eval_episodes)

    return TrainProgram(
        init=init,
        run_chunk=run_chunk,
        num_chunks=num_chunks,
        steps_per_chunk=steps_per_chunk,
        warmup_steps=warmup_iters * num_envs,
        default_hparams=agent.default_hparams(),
    )
