"""One XLA CPU device per core (engine.host) and the activation choice of SAC's networks."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.agents import SAC, SACConfig
from jaxrl_hybrid.engine import host
from jaxrl_hybrid.networks import QNetwork
from jaxrl_hybrid.types import EnvSpec


def test_host_device_count_parses_settings(monkeypatch):
    monkeypatch.setattr(host, "available_cores", lambda: 12)
    assert host.host_device_count("auto") == host.MAX_AUTO_DEVICES
    assert host.host_device_count(" 3 ") == 3
    monkeypatch.setenv(host.ENV_VAR, "5")
    assert host.host_device_count(None) == 5
    for bad in ("0", "-2", "many"):
        with pytest.raises(ValueError, match=r"--host-devices .* \(or JAXRL_HOST_DEVICES\)"):
            host.host_device_count(bad)
    with pytest.raises(ValueError, match="at most 8"):  # more would resize the pinned thread pool
        host.host_device_count("9")


def test_configure_leaves_a_started_backend_and_a_users_flag_alone(monkeypatch):
    jax.devices()  # this test process's backend is running
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    assert host.configure_host_devices("4") is None
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_enable_fast_math=false"
    monkeypatch.setattr(host, "_backend_started", lambda: False)
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=3")
    assert host.configure_host_devices("4") is None  # the user's own count wins
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    assert host.configure_host_devices("4") == 4
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_enable_fast_math=false --xla_force_host_platform_device_count=4"


def test_cpu_isa_is_capped_by_the_users_flag(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false --xla_cpu_max_isa=AVX")
    assert host.xla_flag("--xla_cpu_max_isa") == "AVX" and host.xla_flag("--xla_cpu_ftz") is None
    if host.platform.machine().lower() in ("x86_64", "amd64"):
        assert host.cpu_isa() in ("SSE4_2", "AVX")
        monkeypatch.setenv("XLA_FLAGS", "")
        assert host.cpu_isa() in host.X86_ISAS
    assert host.host_settings()["cpu_isa"] == host.cpu_isa()


def test_configure_before_jax_starts_gives_that_many_cpu_devices():
    code = (
        "from jaxrl_hybrid.engine.host import configure_host_devices\n"
        "n = configure_host_devices('3')\n"
        "import jax\n"
        "print(n, len(jax.devices('cpu')))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", host.ENV_VAR)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["3", "3"]


def _numpy_q(params, obs, action, act):
    x = np.concatenate([obs, action], -1)
    mlp = params["params"]["MLP_0"]
    layers = sorted(mlp)
    for i, name in enumerate(layers):
        x = x @ np.asarray(mlp[name]["kernel"]) + np.asarray(mlp[name]["bias"])
        if i < len(layers) - 1:
            x = act(x)
    return x


@pytest.mark.parametrize(
    "name, act",
    [("relu", lambda x: np.maximum(x, 0)), ("swish", lambda x: x / (1 + np.exp(-x))), ("tanh", np.tanh)],
)
def test_q_network_activation_matches_numpy(name, act):
    net = QNetwork((8, 8), activation=name)
    obs, action = np.ones((4, 3), np.float32), np.full((4, 1), 0.5, np.float32)
    params = net.init(jax.random.PRNGKey(0), obs, action)
    got = np.asarray(net.apply(params, obs, action))
    np.testing.assert_allclose(got, _numpy_q(params, obs, action, act), rtol=1e-5, atol=1e-6)


def test_sac_activation_is_validated_and_used():
    with pytest.raises(ValueError, match="unknown activation 'swsh'"):
        SACConfig(activation="swsh")
    spec = EnvSpec("test", (3,), 1, False, 200)
    obs = jnp.ones((2, 3))
    outs = {}
    for name in ("relu", "swish"):
        agent = SAC(SACConfig(hidden_dims=(8, 8), activation=name), spec)
        state = agent.init(jax.random.PRNGKey(0))
        outs[name] = np.asarray(agent.act(state, obs, jax.random.PRNGKey(1), True))
    assert not np.allclose(outs["relu"], outs["swish"])  # same parameters, other activation
