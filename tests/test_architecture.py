"""The package's shape (issue 21): layers and no cycles (.importlinter), orchestration in the
library rather than the CLI, and one agent registry every list is derived from."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _cli_imports(folder: Path) -> dict[str, set[str]]:
    """file -> the jaxrl_hybrid.cli modules it imports."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue  # .venv, the benchmarks' peer venvs (.venv-d3rlpy...) and other hidden folders
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith("jaxrl_hybrid.cli.") and name.count(".") == 2:
                    found.setdefault(str(path.relative_to(ROOT)), set()).add(name)
    return found


def test_import_contracts_hold():
    """lint-imports (also run by `make lint` and CI): layers, the engine, argv, no cycles."""
    exe = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(exe), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_experiments_and_benchmarks_use_the_library_not_the_cli():
    """Only the CLI's entry point (`cli.main`) may be called from outside the package: every
    library function (run_experiment, run_finetune, seed_keys...) lives below `cli`."""
    for folder in ("experiments", "benchmarks"):
        for path, modules in _cli_imports(ROOT / folder).items():
            assert modules <= {"jaxrl_hybrid.cli.main"}, f"{path} imports {sorted(modules)}"


def test_tests_import_only_command_modules_from_the_cli():
    allowed = {f"jaxrl_hybrid.cli.{m}" for m in ("main", "train", "hybrid", "sweep", "finetune", "options")}
    for path, modules in _cli_imports(ROOT / "tests").items():
        assert modules <= allowed, f"{path} imports {sorted(modules - allowed)}"


def test_the_registry_imports_no_jax():
    code = "import sys, jaxrl_hybrid.agents.registry as r; r.TRAINABLE; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_list_of_agents_comes_from_the_registry():
    from jaxrl_hybrid import agents
    from jaxrl_hybrid.agents import registry
    from jaxrl_hybrid.cli.finetune import Finetune
    from jaxrl_hybrid.cli.train import Train
    from jaxrl_hybrid.training import finetune, offline

    def choices(cls, name):
        return typing.get_args(typing.get_type_hints(cls)[name])

    assert choices(Train, "algo") == registry.TRAINABLE
    assert "lpg" in registry.REGISTRY and "lpg" not in registry.TRAINABLE  # LPG needs a meta-learned rule
    assert choices(Finetune, "algo") == registry.FINETUNE_METHODS == finetune.METHODS
    assert offline.ROLLOUT_ALGOS == registry.MODEL_ROLLOUTS
    assert set(agents.AGENTS) == set(registry.REGISTRY)
    assert set(agents.OFFLINE_AGENTS) == set(registry.OFFLINE)
    assert agents.ON_POLICY_AGENTS == ("ppo", "pqn", "lpg")


@pytest.mark.parametrize("name", sorted(__import__("jaxrl_hybrid.agents.registry").agents.registry.REGISTRY))
def test_every_agent_meets_the_contract(name):
    from jaxrl_hybrid.agents.registry import agent_class

    cls = agent_class(name)
    assert dataclasses.is_dataclass(cls.Config) and dataclasses.is_dataclass(cls.HParams), name
    for method in ("init", "update", "act"):
        assert callable(getattr(cls, method, None)), f"{name}.{method}"


def test_an_unknown_algo_names_the_known_ones():
    from jaxrl_hybrid.agents.registry import agent_class

    with pytest.raises(ValueError, match="unknown algo 'sak'; known algos: .*'sac'"):
        agent_class("sak")


def test_loop_settings_live_in_the_loop_configs():
    """batch_size, utd and normalize_observations are loop settings: no agent config has them, and
    the loop configs take each algorithm's paper default from the registry."""
    from jaxrl_hybrid.agents import AGENTS, SACConfig
    from jaxrl_hybrid.agents.h2o import H2OConfig
    from jaxrl_hybrid.training import TrainConfig
    from jaxrl_hybrid.training.finetune import FinetuneConfig
    from jaxrl_hybrid.training.hybrid import HybridConfig, hybrid_agent

    for cls in AGENTS.values():
        names = {f.name for f in dataclasses.fields(cls.Config)}
        assert not names & {"batch_size", "utd", "normalize_observations"}, cls.name
    assert "batch_size" not in {f.name for f in dataclasses.fields(H2OConfig)}
    defaults = {algo: TrainConfig(algo=algo) for algo in ("sac", "rebrac", "riql", "iql", "ppo")}
    assert [defaults[a].batch_size for a in defaults] == [256, 1024, 256, 256, None]
    assert [defaults[a].normalize_observations for a in defaults] == [False, False, True, False, False]
    assert [defaults[a].reward_scale for a in defaults] == ["none", "none", "return_range", "return_range", "none"]
    with pytest.raises(ValueError, match="reward_scale is an offline-loop setting"):
        TrainConfig(algo="sac", reward_scale="return_range")
    with pytest.raises(ValueError, match="reward_scale must be 'none', 'return_range' or a positive number"):
        TrainConfig(algo="iql", reward_scale="max")
    assert FinetuneConfig(method="iql").resolved_reward_scale == "return_range"
    assert FinetuneConfig(method="wsrl").resolved_reward_scale == "none"
    with pytest.raises(ValueError, match="FinetuneConfig.reward_scale must be > 0"):
        FinetuneConfig(method="iql", reward_scale=0.0)
    recorded = FinetuneConfig(method="iql").to_dict()  # what ran, not the None that asked for it
    assert (recorded["batch_size"], recorded["reward_scale"], recorded["normalize_observations"]) == (
        256,
        "return_range",
        False,
    )
    assert TrainConfig(algo="rebrac", batch_size=64, utd=3).batch_size == 64
    with pytest.raises(ValueError, match="ppo sets its own minibatches"):
        TrainConfig(algo="ppo", batch_size=64)
    with pytest.raises(ValueError, match="offline-loop setting; sac is online"):
        TrainConfig(algo="sac", normalize_observations=True)
    with pytest.raises(ValueError, match="TrainConfig.utd must be >= 1"):
        TrainConfig(utd=0)
    with pytest.raises(ValueError, match="unknown algo"):
        TrainConfig(algo="dqn2")
    assert FinetuneConfig(method="wsrl").online_shape == (4, 256)
    assert FinetuneConfig(method="calql", batch_size=64, utd=2).online_shape == (2, 64)
    with pytest.raises(ValueError, match="leaves no real or no sim rows"):
        HybridConfig(batch_size=1)
    with pytest.raises(ValueError, match="needs an H2OConfig"):
        hybrid_agent(HybridConfig(agent=SACConfig()), None)
