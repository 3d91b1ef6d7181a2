import os
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Tests compare numbers exactly across runs; keep XLA from picking different CPU paths. LLVM at -O1
# instead of XLA's default -O2: most of the suite's time is compiling small programs, and -O1
# measured 21% faster on the offline-to-online script test and 8% on the ES test, both at once on
# 2 cores (the layout tests' subprocesses drop these flags and run at the defaults users get).
# `--xla_cpu_use_fusion_emitters=false` compiles fusions with XLA's older elemental emitter instead
# of the MLIR fusion emitters (2026-12-07, JAX 0.10.2, cold caches): 38 s against 48 s for the
# determinism, H2O and ARSQ tests together, and the whole suite 755 s against 919-992 s on 2
# cores. Execution can be slower (DQN's CartPole acceptance run: 67 s against 59 s); compiling
# is most of the suite's time.
os.environ.setdefault(
    "XLA_FLAGS",
    "--xla_cpu_enable_fast_math=false --xla_backend_optimization_level=1 --xla_cpu_use_fusion_emitters=false",
)
# CLI subprocesses in tests run on one CPU device unless a test asks for more (see engine.host):
# every extra device is one more compile, and the suites two workers already use both cores.
os.environ.setdefault("JAXRL_HOST_DEVICES", "1")
os.environ["NPROC"] = "8"  # the intra-op pool the CLI pins (engine.host.INTRA_OP_THREADS), for in-process runs too

import jax  # noqa: E402  (after the environment above)

# Many tests run the same program twice (reruns, CLI vs library); a persistent compilation
# cache turns the second compile into a load. One folder per xdist worker: without the
# optional `filelock` package JAX writes cache entries without a lock.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
_cache = Path(__file__).resolve().parent.parent / ".pytest_cache" / f"jax-compilation-cache-{_worker}"
jax.config.update("jax_compilation_cache_dir", str(_cache))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def policies():
    """SAC behaviour policies (expert, medium, replay) on Pendulum, trained once per worker.

    Modules that use it mark themselves `xdist_group("collect")` so one worker trains them.
    """
    from helpers import TINY

    from jaxrl_hybrid.training.collect import train_behaviour_policies

    return train_behaviour_policies(TINY, seed=0, stream=None)


@pytest.fixture(scope="session")
def medium(policies):
    """10,000 transitions (50 episodes) of the medium policy of `policies`: offline data for learning tests."""
    from jaxrl_hybrid.training.collect import collect

    return collect(policies, "medium", 10_000)


@pytest.fixture(autouse=True, scope="session")
def _mujoco_warnings_as_python_warnings():
    """The tests' own `gym.make` MuJoCo envs too: MuJoCo's warnings as Python warnings, never a
    MUJOCO_LOG.TXT written into the working directory (the repository)."""
    from jaxrl_hybrid.envs.quiet import mujoco_warnings

    with mujoco_warnings():
        yield


def pytest_collection_modifyitems(config, items):
    """`slow` tests (about 20 s and more on a CPU) first. pytest-xdist's loadgroup hands out the
    xdist groups largest first and then single tests in this order: long tests left for the end
    would keep one worker busy while the other sits idle (CI time)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
