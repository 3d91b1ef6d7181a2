"""Small configs shared by the training tests."""

import functools
import importlib.util
import sys
from pathlib import Path

import jax

from jaxrl_hybrid.agents import PPOConfig, SACConfig, TD3Config
from jaxrl_hybrid.losses import CriticLoss
from jaxrl_hybrid.training import TrainConfig
from jaxrl_hybrid.training.collect import CollectConfig

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str, name: str):
    """A script of benchmarks/ or experiments/ imported as module `name` (fresh each call), so a
    test can call its functions and patch its settings. It is registered in sys.modules, where
    its dataclasses look their module up."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


PENDULUM_SUPPORT = {"num_bins": 101, "v_min": -1700.0, "v_max": 100.0}


def _tiny_pendulum(algo, agent, total_steps):
    return TrainConfig(
        algo=algo,
        env="gymnax:Pendulum-v1",
        total_steps=total_steps,
        learning_starts=100,
        eval_every=100,
        buffer_size=1000,
        num_eval_episodes=2,
        batch_size=32,
        agent=agent,
    )


def tiny_sac(total_steps=300, loss="mse", **agent_kw):
    loss = CriticLoss(loss, **PENDULUM_SUPPORT)
    return _tiny_pendulum("sac", SACConfig(hidden_dims=(16, 16), critic_loss=loss, **agent_kw), total_steps)


def tiny_td3(total_steps=300):
    return _tiny_pendulum("td3", TD3Config(hidden_dims=(16, 16)), total_steps)


def tiny_ppo(env="gymnax:CartPole-v1", total_steps=512, loss="mse"):
    support = {"num_bins": 51, "v_min": -10.0, "v_max": 110.0}
    agent = PPOConfig(hidden_dims=(16, 16), num_steps=32, critic_loss=CriticLoss(loss, **support))
    return TrainConfig(
        algo="ppo", env=env, total_steps=total_steps, num_envs=4, eval_every=256, num_eval_episodes=2, agent=agent
    )


def seed_keys(n, seed=0):
    from jaxrl_hybrid.training.program import seed_keys as _seed_keys

    return _seed_keys(seed, n)


def final_eval(out):
    """Mean deterministic evaluation return of the last chunk, per leading (seed) index."""
    return out["metrics"]["eval_returns"][..., -1, :].mean(-1)


def block(x):
    return jax.block_until_ready(x)


# Behaviour policies for generated-data tests: small enough for CI, long enough for SAC to learn
# (conftest's session fixture `policies`); the CLI test reproduces them with CLI_FLAGS.
TINY = CollectConfig(
    train_steps=4000,
    snapshot_every=250,
    hidden_dims=(32, 32),
    batch_size=64,
    learning_rate=1e-3,
    num_snapshot_episodes=10,
    num_reference_episodes=8,
)
CLI_FLAGS = ["--train-steps", "4000", "--snapshot-every", "250", "--hidden-dims", "32", "32", "--batch-size", "64",
             "--learning-rate", "1e-3", "--num-snapshot-episodes", "10", "--num-reference-episodes", "8"]  # fmt: skip


def toy_pendulum_dataset(n=400, seed=0, env="gymnax:Pendulum-v1"):
    """Random Pendulum-shaped transitions whose metadata names the env (gymnax's Pendulum, or
    gymnasium's: the same observations and [-1, 1] actions) and reference returns (for plumbing
    tests: nothing learns from it)."""
    import numpy as np

    from jaxrl_hybrid.data import from_arrays

    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, 3)).astype(np.float32)
    timeouts = np.zeros(n, bool)
    timeouts[199::200] = True
    meta = {"env": env, "reference_returns": {"random": -1200.0, "expert": -150.0}}
    return from_arrays(
        obs, rng.uniform(-1, 1, (n, 1)), -rng.uniform(0, 10, n), obs, np.zeros(n, bool), timeouts, metadata=meta
    )


@functools.lru_cache
def _heavy_pole_transitions(n, seed):
    import jax
    import numpy as np

    from jaxrl_hybrid.envs import make_pair

    pair = make_pair("pendulum-heavy-pole")
    rng = np.random.default_rng(seed)
    # Speeds within +-6: Pendulum clips its speed at 8, where both dynamics agree.
    theta, theta_dot = rng.uniform(-np.pi, np.pi, n), rng.uniform(-6, 6, n)
    obs = np.stack([np.cos(theta), np.sin(theta), theta_dot], 1).astype(np.float32)
    action = rng.uniform(-1, 1, (n, 1)).astype(np.float32)
    step = jax.jit(jax.vmap(lambda o, a: pair.env.step_from_obs(jax.random.PRNGKey(0), o, a, pair.real_params)))
    res = step(obs, action)
    return obs, action, np.asarray(res.reward), np.asarray(res.obs)


def heavy_pole_real_data(n=600, seed=0, dynamics=None):
    """Transitions of the real side of `pendulum-heavy-pole` (pole mass 1.6) from uniformly drawn
    states and actions, each row its own one-step episode. `dynamics` overrides the metadata."""
    import numpy as np

    from jaxrl_hybrid.data import from_arrays

    obs, action, reward, next_obs = _heavy_pole_transitions(n, seed)
    meta = {
        "env": "gymnax:Pendulum-v1",
        "dynamics": dynamics if dynamics is not None else {"mass": 1.6},
        "reference_returns": {"random": -1200.0, "expert": -150.0},
    }
    done = np.ones(n, bool)
    return from_arrays(obs, action, reward, next_obs, ~done, done, metadata=meta)


def subprocess_env(drop=(), **extra) -> dict:
    """The test process's environment (CPU, its XLA flags) without the variables in `drop`, with
    `extra`, and its compilation cache: for CLI subprocesses whose numbers are compared with it."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in drop} | extra
    env["JAX_COMPILATION_CACHE_DIR"] = str(jax.config.jax_compilation_cache_dir)
    env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "1"
    return env
