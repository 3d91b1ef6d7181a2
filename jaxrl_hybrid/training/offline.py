"""The offline loop: updates on batches sampled from a device-resident Dataset, evaluation in its env.

Each chunk is a `lax.scan` of `eval_every` updates followed by deterministic evaluation
episodes in the env recorded in the dataset's metadata (with its dynamics shift). One copy of
the dataset serves every vmapped seed: sampling is an index gather.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import jax
import numpy as np
from flax import struct

from jaxrl_hybrid.agents.common.extract import BestOfN
from jaxrl_hybrid.agents.registry import MODEL_ROLLOUTS
from jaxrl_hybrid.data import (
    Dataset,
    ObsNormalizer,
    first_episodes,
    normalize_observations,
    obs_normalizer,
    reward_scale_factor,
    sample,
    scale_rewards,
)
from jaxrl_hybrid.envs.core import Env
from jaxrl_hybrid.models.rollouts import model_rollout
from jaxrl_hybrid.training import replay
from jaxrl_hybrid.training.program import TrainProgram, make_run_chunk


@struct.dataclass
class OfflineRunner:
    agent_state: Any  # the agent's named state (parameters, optimiser states, targets)
    key: jax.Array
    model: Any = None  # DynamicsModel, with model rollouts
    model_buffer: Any = None  # ReplayBuffer of model transitions, with model rollouts


# Offline agents whose batches may mix in model rollouts (Cal-QL needs Monte-Carlo returns and
# ReBRAC the data's next actions, which model transitions lack; BC would imitate its own policy).
ROLLOUT_ALGOS = MODEL_ROLLOUTS  # offline agents whose batches may mix in model rollouts


class NormalizedAgent:
    """An agent trained on normalised observations, fed raw ones: `act` normalises the
    observations and `update` a batch's `obs` and `next_obs` with the (fixed) `normalizer`, so
    that datasets and replay buffers keep raw observations. Everything else is the agent's."""

    def __init__(self, agent, normalizer: ObsNormalizer):
        self.agent, self.normalizer = agent, normalizer

    def __getattr__(self, name):
        return getattr(self.agent, name)

    def act(self, state, obs, key, deterministic, hparams=None):
        return self.agent.act(state, self.normalizer(obs), key, deterministic, hparams)

    def update(self, state, batch, key, hparams, *args):
        batch = batch.replace(obs=self.normalizer(batch.obs), next_obs=self.normalizer(batch.next_obs))
        return self.agent.update(state, batch, key, hparams, *args)


class DatasetEnv(NamedTuple):
    """`dataset_env`'s answer: the dataset made to fit the env, the env and its params."""

    dataset: Dataset
    env: Env
    params: Any


def dataset_env(dataset: Dataset, source: str = "the dataset", env: str | None = None) -> DatasetEnv:
    """The env (and dynamics) a dataset's metadata names, and the dataset made to fit it.

    `env` names the env for data that records none, or overrides the recorded one (the user
    knows better: a D4RL file of a v2 task evaluated in gymnasium's v5); the recorded dynamics
    then do not apply, and a note says so. Either way the data must fit the env (observation and
    action shapes, action range): a clear error otherwise. Actions recorded in a gymnasium env's
    own bounds are mapped onto the agents' [-1, 1] (`data.unit_actions`); data without reference
    returns, evaluated in a D4RL locomotion task, takes D4RL's (`data.d4rl`).
    """
    import sys

    from jaxrl_hybrid.data import unit_actions, unit_bounds
    from jaxrl_hybrid.data.d4rl import d4rl_reference_returns
    from jaxrl_hybrid.data.dataset import check_env
    from jaxrl_hybrid.envs import make_env
    from jaxrl_hybrid.envs.names import check_env_name

    meta = dataset.metadata
    recorded = meta.get("env")
    name = env or recorded
    if not name:
        raise ValueError(f"{source}: metadata names no env ('env'); offline training evaluates in the data's env")
    dynamics = meta.get("dynamics") or {}
    if recorded and env and env != recorded:
        print(f"{source}: recorded in {recorded}; evaluating in {env} as asked (its shapes checked)", file=sys.stderr)
        dynamics = {}
    try:
        check_env_name(name)
    except ValueError as e:
        raise ValueError(f"{source}: {e}; pass --env NAME, an env whose shapes match the data") from e
    made, params = make_env(name, **dynamics)
    bounds = meta.get("action_bounds")
    native = getattr(made, "action_bounds", None)  # gymnasium envs: their own Box bounds
    if bounds is not None and native is not None and not unit_bounds(bounds):
        low, high = (np.broadcast_to(np.asarray(b, np.float64), (made.spec.action_dim,)) for b in bounds)
        if not (np.allclose(low, native[0]) and np.allclose(high, native[1])):
            raise ValueError(
                f"{source}: actions were recorded in bounds {low.tolist()}..{high.tolist()}, but {name} acts in "
                f"{np.asarray(native[0]).tolist()}..{np.asarray(native[1]).tolist()}"
            )
        dataset = unit_actions(dataset, (low, high))
    if dataset_reference_returns(dataset) is None and (refs := d4rl_reference_returns(name)) is not None:
        dataset = dataset.replace(metadata_json=json.dumps({**dataset.metadata, "reference_returns": refs}))
    check_env(dataset, made.spec, source)
    return DatasetEnv(dataset, made, params)


def make_offline_program(agent, dataset: Dataset, env: Env, env_params: Any, config) -> TrainProgram:
    """`config.total_steps` updates in chunks of `config.eval_every`, evaluated in `env`.

    The dataset's rewards are first multiplied by `config.reward_scale`'s factor (returns-to-go
    recomputed) and its observations normalised if `config.normalize_observations`. With
    `config.extract == "best-of-n"` the evaluated policy is the agent's Best-of-N re-ranking
    (`agents.common.extract.BestOfN`); training is unchanged. With `config.demo_episodes` only
    the dataset's first episodes are used.
    """
    if config.demo_episodes is not None:
        dataset = first_episodes(dataset, config.demo_episodes, config.dataset or "the dataset")
    reward_scale = reward_scale_factor(dataset, config.reward_scale)
    if reward_scale != 1.0:
        dataset = scale_rewards(dataset, reward_scale)
    actor = agent
    if config.extract == "best-of-n":  # Digi-Q's extraction: act by the best of N policy samples
        actor = BestOfN(agent, config.extract_n)
    if config.normalize_observations:
        normalizer = obs_normalizer(dataset)
        dataset = normalize_observations(dataset, normalizer)
        actor = NormalizedAgent(actor, normalizer)
    rollouts = config.model_rollouts
    if rollouts is not None:
        _check_rollouts(agent.name, dataset)
    updates_per_chunk = config.eval_every
    num_chunks = config.total_steps // updates_per_chunk
    if num_chunks < 1:
        raise ValueError(
            f"total_steps={config.total_steps} updates is less than one chunk of eval_every={config.eval_every}"
        )
    shape = (config.utd, config.batch_size)

    def init(key, hparams) -> OfflineRunner:
        key, key_agent = jax.random.split(key)
        runner = OfflineRunner(agent_state=agent.init(key_agent), key=key)
        if rollouts is None:
            return runner
        from jaxrl_hybrid.models.dynamics import fit

        key, key_model = jax.random.split(key)
        example = jax.tree.map(lambda x: x[0], sample(dataset, key, (1,)).replace(next_action=None, mc_return=None))
        return runner.replace(
            key=key,
            model=fit(key_model, dataset, rollouts.dynamics)[0],
            model_buffer=replay.init_buffer(rollouts.buffer_size, example),
        )

    def iteration(runner: OfflineRunner, hparams):
        if rollouts is None:
            key, key_sample, key_update = jax.random.split(runner.key, 3)
            batch = sample(dataset, key_sample, shape)
        else:
            key, key_sample, key_update, key_start, key_rollout = jax.random.split(runner.key, 5)
            start = sample(dataset, key_start, (rollouts.rollout_batch,)).obs
            model_data = model_rollout(
                runner.model,
                key_rollout,
                start,
                lambda obs, k: agent.act(runner.agent_state, obs, k, False, hparams),
                rollouts.horizon,
                rollouts.penalty,
            )
            runner = runner.replace(model_buffer=replay.add_batch(runner.model_buffer, model_data))
            batch = replay.sample_mixed(dataset, runner.model_buffer, key_sample, shape, rollouts.real_fraction)
        state, metrics = agent.update(runner.agent_state, batch, key_update, hparams)
        if batch.mc_return is not None:  # the data's discounted return-to-go, beside the critics' q_mean
            metrics = {**metrics, "mc_return_mean": batch.mc_return.mean()}
        return runner.replace(agent_state=state, key=key), (metrics, None)

    run_chunk = make_run_chunk(iteration, updates_per_chunk, actor, env, env_params, config.num_eval_episodes)
    return TrainProgram(
        init=init,
        run_chunk=run_chunk,
        num_chunks=num_chunks,
        steps_per_chunk=updates_per_chunk,
        warmup_steps=0,
        default_hparams=agent.default_hparams(),
        reference_returns=dataset_reference_returns(dataset),
        reward_scale=reward_scale,
    )


def _check_rollouts(algo: str, dataset: Dataset) -> None:
    if algo not in ROLLOUT_ALGOS:
        raise ValueError(f"model rollouts are for the offline algorithms {ROLLOUT_ALGOS}, not {algo!r}")
    if bool(jax.numpy.any(dataset.terminals)):
        raise NotImplementedError(
            "model rollouts: the dynamics model does not predict termination, and this dataset has terminal "
            "transitions; use data without terminals (Pendulum, MountainCar without the goal) or no rollouts"
        )


def check_mc_discount(algo: str | None, hparams, dataset: Dataset) -> None:
    """Cal-QL bounds Q by the data's Monte-Carlo returns, computed at the dataset's (static)
    discount: training at another `gamma` would bound values of a different scale."""
    if algo != "calql":
        return
    gammas = sorted({round(float(g), 6) for g in jax.numpy.ravel(jax.numpy.asarray(hparams.gamma)).tolist()})
    if gammas != [round(float(dataset.gamma), 6)]:
        raise ValueError(
            f"calql trains with gamma {gammas} but the dataset's Monte-Carlo returns use gamma {dataset.gamma}; "
            "rebuild the dataset at that discount (data.from_arrays(..., gamma=)) or train at the dataset's"
        )


def dataset_reference_returns(dataset: Dataset) -> tuple[float, float] | None:
    refs = dataset.metadata.get("reference_returns") or {}
    if "random" in refs and "expert" in refs and refs["random"] != refs["expert"]:
        return float(refs["random"]), float(refs["expert"])
    return None
