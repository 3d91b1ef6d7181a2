"""D4RL's reference returns for its MuJoCo locomotion tasks, the denominators of every published
D4RL normalised score: 100 * (return - random) / (expert - random).

Source: `REF_MIN_SCORE` (a random policy) and `REF_MAX_SCORE` (an expert SAC policy) in
d4rl/infos.py of github.com/Farama-Foundation/D4RL (Fu et al., 2020, "D4RL: Datasets for Deep
Data-Driven Reinforcement Learning"); the same numbers for every dataset of a task (random,
medium, medium-replay, medium-expert, expert). They were measured in the v2 (mujoco-py) envs;
gymnasium's v4 / v5 tasks have the same observations, actions and rewards, and Minari's D4RL
ports score against D4RL's numbers too. Data that carries its own reference returns (our files,
Minari's `ref_min_score` / `ref_max_score`) keeps them; this table fills in for D4RL-layout files
that carry none.
"""

from __future__ import annotations

D4RL_SOURCE = "D4RL REF_MIN_SCORE / REF_MAX_SCORE (d4rl/infos.py, Fu et al. 2020)"

# task -> (random, expert) undiscounted episode returns over 1,000 steps
D4RL_REFERENCE_RETURNS: dict[str, tuple[float, float]] = {
    "halfcheetah": (-280.178953, 12135.0),
    "hopper": (-20.272305, 3234.3),
    "walker2d": (1.629008, 4592.3),
    "ant": (-325.6, 3879.7),
}

# env names (any backend that runs gymnasium's MuJoCo models) -> D4RL task
_TASKS = {"HalfCheetah": "halfcheetah", "Hopper": "hopper", "Walker2d": "walker2d", "Ant": "ant"}


def d4rl_task(env_name: str) -> str | None:
    """The D4RL locomotion task an env name runs (`gymnasium:Hopper-v5` -> hopper), or None."""
    backend, _, env_id = env_name.partition(":")
    if backend not in ("gymnasium", "mjx"):
        return None
    return _TASKS.get(env_id.rsplit("-v", 1)[0])


def d4rl_reference_returns(env_name: str) -> dict | None:
    """{"random", "expert", "source"} for a D4RL locomotion env, else None."""
    task = d4rl_task(env_name)
    if task is None:
        return None
    random, expert = D4RL_REFERENCE_RETURNS[task]
    return {"random": random, "expert": expert, "source": D4RL_SOURCE}
