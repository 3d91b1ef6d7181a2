"""Every env name `make_env` accepts, and the check that names a typo's closest matches.

Kept as data so that checking a name imports neither JAX nor gymnax nor brax (an argument
error costs a fraction of a second); tests/test_envs.py checks these lists against the
libraries' own registries at the locked versions.
"""

from __future__ import annotations

BACKENDS = ("gymnax", "brax", "gymnasium", "mjx")

DEFAULT_ENV = "gymnax:Pendulum-v1"  # online runs that name no env

GYMNAX_IDS = (
    "CartPole-v1",
    "Pendulum-v1",
    "Acrobot-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
    "Asterix-MinAtar",
    "Breakout-MinAtar",
    "Freeway-MinAtar",
    "Seaquest-MinAtar",
    "SpaceInvaders-MinAtar",
    "Catch-bsuite",
    "DeepSea-bsuite",
    "MemoryChain-bsuite",
    "UmbrellaChain-bsuite",
    "DiscountingChain-bsuite",
    "MNISTBandit-bsuite",
    "SimpleBandit-bsuite",
    "FourRooms-misc",
    "MetaMaze-misc",
    "PointRobot-misc",
    "BernoulliBandit-misc",
    "GaussianBandit-misc",
    "Reacher-misc",
    "Swimmer-misc",
    "Pong-misc",
    "FrozenLake-misc",
)

BRAX_IDS = (
    "ant",
    "fast",
    "halfcheetah",
    "hopper",
    "humanoid",
    "humanoidstandup",
    "inverted_double_pendulum",
    "inverted_pendulum",
    "pusher",
    "reacher",
    "swimmer",
    "walker2d",
)


# gymnasium envs stepped on the host (envs.gymnasium_env): its MuJoCo tasks, in which Minari's and
# D4RL's datasets are recorded, and the classic Pendulum. Only envs whose whole state the host
# env can save and restore are listed.
GYMNASIUM_MUJOCO = (
    "Ant",
    "HalfCheetah",
    "Hopper",
    "Humanoid",
    "HumanoidStandup",
    "InvertedDoublePendulum",
    "InvertedPendulum",
    "Pusher",
    "Reacher",
    "Swimmer",
    "Walker2d",
)
GYMNASIUM_IDS = ("Pendulum-v1", *(f"{n}-v{v}" for n in GYMNASIUM_MUJOCO for v in (5, 4)))
# gymnasium's MuJoCo models in MJX inside the compiled program (envs.mjx_env)
MJX_IDS = ("HalfCheetah-v5", "Hopper-v5", "Walker2d-v5")


def known_env_names() -> list[str]:
    """Every name `make_env` accepts."""
    return (
        [f"gymnax:{n}" for n in GYMNAX_IDS]
        + [f"brax:{n}" for n in BRAX_IDS]
        + [f"gymnasium:{n}" for n in GYMNASIUM_IDS]
        + [f"mjx:{n}" for n in MJX_IDS]
    )


def check_env_name(name: str, flag: str = "env") -> None:
    """Raise a ValueError naming `flag` for an unknown env name, with the closest known names."""
    import difflib

    known = known_env_names()
    if name in known:
        return
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    if not close:  # a bare id ("Pendulum-v1") or a wrong backend: match on the id alone
        ids = {n.partition(":")[2]: n for n in known}
        close = [ids[i] for i in difflib.get_close_matches(name.partition(":")[2] or name, list(ids), n=3, cutoff=0.6)]
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    raise ValueError(
        f"{flag} {name!r}: unknown env; {hint}names are '<backend>:<id>' with backend in {BACKENDS} "
        f"(known envs: {', '.join(known)})"
    )


# Value supports for the classification critic losses, per env (returns at gamma = 0.99).
DEFAULT_VALUE_RANGES: dict[str, tuple[float, float]] = {
    "gymnax:Pendulum-v1": (-1700.0, 100.0),
    "gymnax:CartPole-v1": (-10.0, 110.0),
    "gymnax:MountainCarContinuous-v0": (-100.0, 200.0),
    "gymnax:Acrobot-v1": (-110.0, 10.0),
    # MinAtar: rewards are 0 or 1 per step (Breakout, Asterix, Freeway, Seaquest, SpaceInvaders),
    # so a discounted return at gamma 0.99 lies in [0, 100]; the margin below 0 keeps the
    # classification targets' mass off the edge bin.
    **{
        f"gymnax:{game}-MinAtar": (-10.0, 100.0)
        for game in ("Asterix", "Breakout", "Freeway", "Seaquest", "SpaceInvaders")
    },
}
