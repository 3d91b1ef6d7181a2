"""`jaxrl-hybrid gap` and `jaxrl-hybrid hybrid`: configs and refusals. The gap report itself is
tested on the estimators fitted in test_gap; H2O's program in test_hybrid."""

import pytest
from helpers import heavy_pole_real_data

from jaxrl_hybrid.agents.h2o import H2OConfig
from jaxrl_hybrid.cli.hybrid import Hybrid, build_hybrid_config
from jaxrl_hybrid.cli.main import main
from jaxrl_hybrid.data import save


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    real, sim = folder / "real.hdf5", folder / "sim.hdf5"
    save(heavy_pole_real_data(n=300), real)
    save(heavy_pole_real_data(n=300, dynamics={"mass": 1.0}), sim)
    return str(real), str(sim)


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--sim", "gymnax:CartPole-v1"], "is not the env of --shift"),
        (["--dataset", "SIM"], "not the real side"),
        (["--dataset", ""], "--dataset is required"),
        (["--shift", "pendulum-nowhere"], "unknown dynamics shift"),
    ],
)
def test_gap_refusals(tmp_path, data_files, capsys, extra, message):
    argv = ["gap", "--dataset", data_files[0], "--out", str(tmp_path / "g"), *extra]
    argv = [data_files[1] if a == "SIM" else a for a in argv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_hybrid_cli_builds_the_configs_and_refuses_bad_input(tmp_path, data_files, capsys):
    args = Hybrid(method="h2o", gap="model", dataset=data_files[0], hidden_dims=(32,), model_epochs=7)
    config = build_hybrid_config(args)
    assert isinstance(config.agent, H2OConfig) and config.agent.dynamics.max_epochs == 7
    assert config.algo == "h2o-model" and config.eval_every == 2000 and config.env == "gymnax:Pendulum-v1"
    assert type(build_hybrid_config(Hybrid(method="sac-mix", dataset="x")).agent).__name__ == "SACConfig"
    assert config.agent.critic_out_init == 1.0  # the default H2O keeps (its reference code: 0.01; see SACConfig)
    for method in ("h2o", "sac-mix", "sac-sim"):
        given = build_hybrid_config(Hybrid(method=method, dataset="x", critic_out_init=0.01))
        assert given.agent.critic_out_init == 0.01
    out = str(tmp_path / "h")
    assert main(["hybrid", "--out", out]) == 2
    assert "--dataset is required" in capsys.readouterr().err
    assert main(["hybrid", "--dataset", data_files[1], "--out", out]) == 2
    assert "not the real side" in capsys.readouterr().err
    assert main(["hybrid", "--dataset", data_files[0], "--hparam", "h2o_gamma=1", "--out", out]) == 2
    assert "has no field 'h2o_gamma'" in capsys.readouterr().err
