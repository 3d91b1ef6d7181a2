"""The off-policy online loop (SAC, TD3, and every online fine-tuning phase).

Vectorised envs -> replay buffer -> agent updates. `make_online_phase` is the loop itself,
started from any agent state: `make_offpolicy_program` starts it from a fresh agent after
uniform random warm-up steps; `training.finetune` starts it from a pretrained agent, with a
warm-up of the agent's own policy, batches that mix in offline data, or a meta-update.
"""

from __future__ import annotations

from collections.abc import Callable
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
    agent_state: Any  # the agent's named state (parameters, optimiser states, targets)
    buffer: replay.ReplayBuffer
    env_state: Any
    obs: jax.Array
    key: jax.Array
    episodes: replay.EpisodeTracker | None = None  # when Monte-Carlo returns are written back


# learn(agent_state, buffer, (key_sample, key_update), hparams) -> (agent_state, metrics): the
# updates of one env step, drawing batches with key_sample and updating with key_update.
Learn = Callable[[Any, replay.ReplayBuffer, tuple[jax.Array, jax.Array], Any], tuple[Any, dict[str, jax.Array]]]


def scan_updates(update_fn, agent_state, keys: tuple[jax.Array, jax.Array], num_updates: int):
    """`num_updates` calls of `update_fn(state, key_sample, key_update)` as a scan; mean metrics."""
    key_sample, key_update = keys
    state, metrics = jax.lax.scan(
        lambda st, ks: update_fn(st, *ks),
        agent_state,
        (jax.random.split(key_sample, num_updates), jax.random.split(key_update, num_updates)),
    )
    return state, jax.tree.map(jnp.mean, metrics)


def replay_learn(agent, num_updates: int, shape: tuple[int, int], num_envs: int = 1) -> Learn:
    """`num_updates` agent updates, each on `shape` = (utd, batch_size) transitions sampled from the
    buffer; an agent with a `replay_window` (DQN's n-step returns) gets windows of that many
    consecutive steps of one env (`replay.sample_windows`, rows `num_envs` apart) instead."""
    window = getattr(agent, "replay_window", None)

    def draw(buffer, key):
        if window is None:
            return replay.sample(buffer, key, shape)
        return replay.sample_windows(buffer, key, shape, window, num_envs)

    def learn(agent_state, buffer, keys, hparams):
        def one_update(state, k_sample, k_update):
            return agent.update(state, draw(buffer, k_sample), k_update, hparams)

        return scan_updates(one_update, agent_state, keys, num_updates)

    return learn


def mixed_learn(agent, dataset, num_updates: int, offline_fraction: float, shape: tuple[int, int]) -> Learn:
    """Updates on (utd, batch_size) `shape` batches with an exact `offline_fraction` of offline rows
    first (replay.sample_mixed)."""

    def learn(agent_state, buffer, keys, hparams):
        def one_update(state, k_sample, k_update):
            batch = replay.sample_mixed(dataset, buffer, k_sample, shape, offline_fraction)
            return agent.update(state, batch, k_update, hparams)

        return scan_updates(one_update, agent_state, keys, num_updates)

    return learn


def make_online_phase(
    agent,
    env: Env,
    env_params: Any,
    *,
    num_envs: int,
    buffer_size: int,
    iters_per_chunk: int,
    num_eval_episodes: int,
    warmup_iters: int,
    warmup_policy: str = "random",
    learn: Learn,
    mc_gamma: float | None = None,
    eval_params: Any = None,
    reward_scale: float = 1.0,
):
    """The online loop from a given agent state: returns `(start, run_chunk)`.

    `start(agent_state, (key, key_reset, key_warmup), hparams)` resets `num_envs` envs and runs `warmup_iters` steps
    that fill the buffer without any update, acting uniformly at random
    (`warmup_policy="random"`) or with the agent's own stochastic policy (`"agent"`, WSRL's
    frozen-policy warm-up). Every iteration of `run_chunk` then steps the envs once and calls
    `learn` (e.g. `replay_learn(agent, num_envs, shape)`). With `mc_gamma`, the buffer also
    stores each transition's discounted Monte-Carlo return-to-go, written back when its
    episode ends (-inf, "unknown", until then), as Cal-QL's bound needs. Evaluation runs
    with `eval_params` (default `env_params`): a simulator-trained agent is scored in the real
    dynamics. Stored rewards are multiplied by `reward_scale` (the factor the offline data of a
    fine-tuning run was scaled by); episode returns and evaluations stay in the env's rewards.
    """
    if warmup_policy not in ("random", "agent"):
        raise ValueError(f"warmup_policy must be 'random' or 'agent', got {warmup_policy!r}")
    spec = env.spec
    train_env = wrap_for_training(env)
    if mc_gamma is not None and buffer_size < spec.max_episode_steps * num_envs:
        raise ValueError(
            f"buffer_size={buffer_size} cannot hold one episode of every env ({spec.max_episode_steps} steps x "
            f"{num_envs} envs), which Monte-Carlo returns need"
        )

    def env_step(runner: OffPolicyRunner, action, key):
        res = jax.vmap(train_env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(key, num_envs), runner.env_state, action, env_params
        )
        transition = Transition(
            obs=runner.obs,
            action=action,
            reward=res.reward if reward_scale == 1.0 else reward_scale * res.reward,
            next_obs=res.info["final_obs"],
            terminated=res.terminated,
            truncated=res.truncated,
            mc_return=None if mc_gamma is None else jnp.full((num_envs,), -jnp.inf),
        )
        position = runner.buffer.position
        buffer = replay.add_batch(runner.buffer, transition)
        episodes = runner.episodes
        if mc_gamma is not None:
            done = jnp.logical_or(res.terminated, res.truncated)
            buffer, episodes = replay.track_mc_returns(
                buffer, episodes, position, done, mc_gamma, spec.max_episode_steps
            )
        runner = runner.replace(buffer=buffer, env_state=res.state, obs=res.obs, episodes=episodes)
        return runner, res.info

    def random_action(key):
        if spec.discrete:
            return jax.random.randint(key, (num_envs,), 0, spec.action_dim)
        return jax.random.uniform(key, (num_envs, spec.action_dim), minval=-1.0, maxval=1.0)

    def start(agent_state, keys, hparams) -> OffPolicyRunner:
        key, key_reset, key_warmup = keys
        obs, env_state = jax.vmap(train_env.reset, in_axes=(0, None))(jax.random.split(key_reset, num_envs), env_params)
        example = Transition(
            obs=obs[0],
            action=random_action(key)[0],  # only its shape and dtype are used
            reward=jnp.zeros(()),
            next_obs=obs[0],
            terminated=jnp.zeros((), bool),
            truncated=jnp.zeros((), bool),
            mc_return=None if mc_gamma is None else jnp.zeros(()),
        )
        runner = OffPolicyRunner(
            agent_state=agent_state,
            buffer=replay.init_buffer(buffer_size, example),
            env_state=env_state,
            obs=obs,
            key=key,
            episodes=None if mc_gamma is None else replay.init_episode_tracker(num_envs),
        )

        def warmup(runner, key_t):
            key_action, key_env = jax.random.split(key_t)
            if warmup_policy == "random":
                action = random_action(key_action)
            else:
                action = agent.act(runner.agent_state, runner.obs, key_action, False, hparams)
            return env_step(runner, action, key_env)[0], None

        runner, _ = jax.lax.scan(warmup, runner, jax.random.split(key_warmup, warmup_iters))
        return runner

    def iteration(runner: OffPolicyRunner, hparams):
        key, key_act, key_env, key_sample, key_update = jax.random.split(runner.key, 5)
        action = agent.act(runner.agent_state, runner.obs, key_act, False, hparams)
        runner, info = env_step(runner.replace(key=key), action, key_env)
        agent_state, update_metrics = learn(runner.agent_state, runner.buffer, (key_sample, key_update), hparams)
        episode = (
            info["episode_done"].sum(),
            jnp.where(info["episode_done"], info["episode_return"], 0.0).sum(),
        )
        return runner.replace(agent_state=agent_state), (update_metrics, episode)

    eval_params = env_params if eval_params is None else eval_params
    run_chunk = make_run_chunk(iteration, iters_per_chunk, agent, env, eval_params, num_eval_episodes)
    return start, run_chunk


def online_schedule(total: tuple[str, int], warmup: tuple[str, int], eval_every: int, num_envs: int):
    """(warm-up iterations, iterations per chunk, env steps per chunk, chunks) of an online run of
    `total` env steps starting with `warmup` steps without updates, evaluated every `eval_every`.
    Both are (name, value) so that the error names the caller's settings."""
    warmup_iters = -(-warmup[1] // num_envs)
    iters_per_chunk = max(1, eval_every // num_envs)
    steps_per_chunk = iters_per_chunk * num_envs
    num_chunks = (total[1] - warmup_iters * num_envs) // steps_per_chunk
    if num_chunks < 1:
        raise ValueError(
            f"{total[0]}={total[1]} leaves no training after {warmup[0]}={warmup[1]}; "
            f"need at least one chunk of eval_every={eval_every} steps"
        )
    return warmup_iters, iters_per_chunk, steps_per_chunk, num_chunks


def make_offpolicy_program(
    agent,
    env: Env,
    env_params: Any,
    config,
    *,
    learn: Learn | None = None,
    eval_params: Any = None,
    init_agent: Callable[[jax.Array], Any] | None = None,
    reference_returns: tuple[float, float] | None = None,
) -> TrainProgram:
    """Build the program for an off-policy `agent` on `env` with `env_params`.

    The first `config.learning_starts` steps take uniform random actions and make no update
    (done in `init`); afterwards every iteration steps `num_envs` envs once and calls `learn`
    (default: `num_envs` agent updates, each on `config.utd` minibatches of `config.batch_size`
    replay samples; `num_envs / agent.train_frequency` for an agent that updates every few env
    steps, as DQN).
    `init_agent(key)` (default `agent.init`) makes the starting agent state; evaluation runs
    with `eval_params` (default `env_params`).
    """
    num_envs = config.num_envs
    train_frequency = getattr(agent, "train_frequency", 1)  # env steps per update (DQN's update period)
    if num_envs % train_frequency:
        raise ValueError(
            f"{agent.name} updates once every {train_frequency} env steps (its train_frequency): "
            f"num_envs={num_envs} must be a multiple of it"
        )
    warmup_iters, iters_per_chunk, steps_per_chunk, num_chunks = online_schedule(
        ("total_steps", config.total_steps), ("learning_starts", config.learning_starts), config.eval_every, num_envs
    )
    start, run_chunk = make_online_phase(
        agent,
        env,
        env_params,
        num_envs=num_envs,
        buffer_size=config.buffer_size,
        iters_per_chunk=iters_per_chunk,
        num_eval_episodes=config.num_eval_episodes,
        warmup_iters=warmup_iters,
        learn=learn or replay_learn(agent, num_envs // train_frequency, (config.utd, config.batch_size), num_envs),
        eval_params=eval_params,
    )
    init_agent = init_agent or agent.init

    def init(key, hparams) -> OffPolicyRunner:
        key, key_agent, key_reset, key_warmup = jax.random.split(key, 4)
        return start(init_agent(key_agent), (key, key_reset, key_warmup), hparams)

    return TrainProgram(
        init=init,
        run_chunk=run_chunk,
        num_chunks=num_chunks,
        steps_per_chunk=steps_per_chunk,
        warmup_steps=warmup_iters * num_envs,
        default_hparams=agent.default_hparams(),
        reference_returns=reference_returns,
    )
