"""Every agent objective (`agents/<name>/losses.py`) against a float64 numpy reference.

The networks are replaced by linear stand-ins whose outputs numpy computes exactly, so each
test checks the objective's own arithmetic: the targets, the per-member and per-example
losses, the penalties and their importance weights. Random draws use the same keys as the
objective (the noise itself is read from JAX), so the formulas are what is compared.
"""

from __future__ import annotations

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.agents.cql import CalQLConfig, CQLConfig
from jaxrl_hybrid.agents.cql import losses as cql_losses
from jaxrl_hybrid.agents.h2o import losses as h2o_losses
from jaxrl_hybrid.agents.iql import IQLConfig, RIQLConfig
from jaxrl_hybrid.agents.iql import losses as iql_losses
from jaxrl_hybrid.agents.sac import SACConfig
from jaxrl_hybrid.agents.sac import losses as sac_losses
from jaxrl_hybrid.agents.td3bc import ReBRACConfig, TD3BCConfig
from jaxrl_hybrid.agents.td3bc import losses as td3bc_losses
from jaxrl_hybrid.losses.critic import CriticLoss
from jaxrl_hybrid.optim import ModelState
from jaxrl_hybrid.types import Transition

B, OBS, ACT, MEMBERS = 5, 3, 2, 2
RNG = np.random.default_rng(0)


def f64(x):
    return np.asarray(x, np.float64)


class LinearCritic:
    """Q_m(s, a) = [s, a] . W_m, head of width 1: outputs (members, ..., 1)."""

    @staticmethod
    def apply(params, obs, action):
        x = jnp.concatenate([obs, action], axis=-1)
        return jnp.einsum("...d,md->m...", x, params["W"])[..., None]


class LinearGaussian:
    """mean = s A, log_std = 0.1 s C - 0.5 (the SAC / CQL / IQL actors' (mean, log_std))."""

    @staticmethod
    def apply(params, obs):
        return obs @ params["A"], 0.1 * obs @ params["C"] - 0.5


class LinearDeterministic:
    """pi(s) = tanh(s A) (TD3's actor)."""

    @staticmethod
    def apply(params, obs):
        return jnp.tanh(obs @ params["A"])


class LinearValue:
    """V(s) = s v, head of width 1."""

    @staticmethod
    def apply(params, obs):
        return (obs @ params["v"])[..., None]


def np_q(W, obs, action):
    return np.einsum("...d,md->m...", np.concatenate([f64(obs), f64(action)], -1), f64(W))


def np_tanh_gaussian(mean, log_std, noise):
    """numpy float64: tanh-Gaussian action and log-probability from the standard-normal noise."""
    mean, log_std, noise = f64(mean), f64(log_std), f64(noise)
    pre = mean + np.exp(log_std) * noise
    log_prob = -0.5 * noise**2 - log_std - 0.5 * np.log(2 * np.pi) - np.log(1 - np.tanh(pre) ** 2)
    return np.tanh(pre), log_prob.sum(-1)


def batch(with_data=False):
    obs = RNG.normal(size=(B, OBS)).astype(np.float32)
    return Transition(
        obs=jnp.asarray(obs),
        action=jnp.asarray(RNG.uniform(-0.9, 0.9, (B, ACT)), jnp.float32),
        reward=jnp.asarray(RNG.normal(size=B), jnp.float32),
        next_obs=jnp.asarray(RNG.normal(size=(B, OBS)), jnp.float32),
        terminated=jnp.asarray([False, True, False, False, True]),
        truncated=jnp.zeros(B, bool),
        next_action=jnp.asarray(RNG.uniform(-0.9, 0.9, (B, ACT)), jnp.float32) if with_data else None,
        mc_return=jnp.asarray(RNG.normal(size=B), jnp.float32) if with_data else None,
    )


def params(shape):
    return jnp.asarray(0.5 * RNG.normal(size=shape), jnp.float32)


def model(p, target=None):
    return ModelState(params=p, opt_state=(), target_params=target)


def sac_like(config, **nets):
    critic = {"W": params((MEMBERS, OBS + ACT))}
    state = types.SimpleNamespace(
        actor=model({"A": params((OBS, ACT)), "C": params((OBS, ACT))}),
        critic=model(critic, {"W": params((MEMBERS, OBS + ACT))}),
        log_temp=model(jnp.float32(np.log(0.3))),
    )
    agent = types.SimpleNamespace(
        config=config,
        nets=types.SimpleNamespace(actor=LinearGaussian, critic=LinearCritic, action_dim=ACT, **nets),
    )
    return agent, state


def hparams(**kw):
    base = {"gamma": 0.9, "cql_alpha": 2.0, "cql_temperature": 0.7, "alpha": 2.5, "actor_bc": 1.0, "critic_bc": 0.3}
    base.update(kw)
    return types.SimpleNamespace(**{k: jnp.float32(v) for k, v in base.items()})


def close(got, want, rtol=2e-5, atol=1e-5):
    np.testing.assert_allclose(f64(got), want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("backup_entropy", [True, False])
def test_sac_td_target_td_loss_actor_and_temperature_losses(backup_entropy):
    agent, state = sac_like(SACConfig(num_critics=MEMBERS, num_min_critics=MEMBERS, backup_entropy=backup_entropy))
    b, hp, key = batch(), hparams(), jax.random.PRNGKey(1)
    # target: r + gamma (1 - d) (min_m Q'_m(s', a') - temp log pi(a'|s')), a' ~ pi(s')
    y = sac_losses.soft_td_target(agent, state, b, key, hp)
    mean, log_std = LinearGaussian.apply(state.actor.params, b.next_obs)
    noise = jax.random.normal(jax.random.split(key)[0], mean.shape)
    a_next, logp_next = np_tanh_gaussian(mean, log_std, noise)
    v = np_q(state.critic.target_params["W"], b.next_obs, a_next).min(0)
    if backup_entropy:
        v = v - 0.3 * logp_next
    want_y = f64(b.reward) + 0.9 * (1 - f64(b.terminated)) * v
    close(y, want_y)
    # TD loss (MSE): 0.5 (Q_m(s, a) - y)^2 per member and example
    loss, q = sac_losses.td_loss(state.critic.params, agent, state, b, jnp.asarray(want_y, jnp.float32), hp)
    want_q = np_q(state.critic.params["W"], b.obs, b.action)
    close(q, want_q)
    close(loss, 0.5 * (want_q - want_y[None]) ** 2)
    # actor: temp log pi(a|s) - min_m Q_m(s, a), a ~ pi(s)
    per_example, logp = sac_losses.actor_loss(state.actor.params, agent, state, b, key, hp)
    mean, log_std = LinearGaussian.apply(state.actor.params, b.obs)
    a, want_logp = np_tanh_gaussian(mean, log_std, jax.random.normal(key, mean.shape))
    close(logp, want_logp)
    close(per_example, 0.3 * want_logp - np_q(state.critic.params["W"], b.obs, a).min(0))
    # temperature: -log temp (log pi + target entropy)
    close(sac_losses.temperature_loss(jnp.float32(np.log(0.3)), logp, -2.0), -np.log(0.3) * (want_logp - 2.0))


def test_sac_actor_averages_ensembles_larger_than_two():
    agent, state = sac_like(SACConfig(num_critics=3, num_min_critics=2))
    state.critic = model({"W": params((3, OBS + ACT))})
    b, key = batch(), jax.random.PRNGKey(2)
    per_example, logp = sac_losses.actor_loss(state.actor.params, agent, state, b, key, hparams())
    mean, log_std = LinearGaussian.apply(state.actor.params, b.obs)
    a, _ = np_tanh_gaussian(mean, log_std, jax.random.normal(key, mean.shape))
    close(per_example, 0.3 * f64(logp) - np_q(state.critic.params["W"], b.obs, a).mean(0))


SUPPORT = {"num_bins": 11, "v_min": -5.0, "v_max": 5.0}


def wide_critic(width):
    """A critic whose `width` outputs per member are a value (LinearCritic) or bin logits."""
    if width == 1:
        return LinearCritic

    class WideCritic:
        @staticmethod
        def apply(p, obs, action):
            return LinearCritic.apply(p, obs, action) * jnp.linspace(-1.0, 1.0, width)

    return WideCritic


def np_probs(W, obs, action):
    """numpy float64 softmax of `wide_critic`'s logits, and the bin centres."""
    logits = np_q(W, obs, action)[..., None] * np.linspace(-1.0, 1.0, SUPPORT["num_bins"])
    p = np.exp(logits - logits.max(-1, keepdims=True))
    w = (SUPPORT["v_max"] - SUPPORT["v_min"]) / SUPPORT["num_bins"]
    return p / p.sum(-1, keepdims=True), SUPPORT["v_min"] + w * (np.arange(SUPPORT["num_bins"]) + 0.5)


def np_values(kind, W, obs, action):
    """numpy float64 Q-values of `wide_critic`: the value, or the softmax's expected bin centre."""
    if kind == "mse":
        return np_q(W, obs, action)
    p, centres = np_probs(W, obs, action)
    return (p * centres).sum(-1)


def np_penalty_weight(kind, W, obs, action):
    """Per member: 0.5 (MSE: the reference code's TD loss is (Q - y)^2, ours half that), or
    0.5 / max(batch mean of the predicted variance, the HL-Gauss target's variance
    sigma^2 + w^2 / 12 with sigma = 0.75 w)."""
    if kind == "mse":
        return 0.5
    p, centres = np_probs(W, obs, action)
    var = (p * centres**2).sum(-1) - (p * centres).sum(-1) ** 2  # (members, B)
    w = (SUPPORT["v_max"] - SUPPORT["v_min"]) / SUPPORT["num_bins"]
    return 0.5 / np.maximum(var.mean(-1), (0.75 * w) ** 2 + w**2 / 12)


@pytest.mark.parametrize("kind", ["mse", "hl_gauss"])
@pytest.mark.parametrize("calibrated", [False, True])
def test_cql_and_calql_penalty(calibrated, kind):
    """alpha * mean_batch(T logsumexp_j(Q_j / T) - Q(s, a_data)) per member, the logsumexp over
    n uniform actions (minus log 0.5^d), n policy actions at s and n at s' (minus their log-probs);
    Cal-QL raises the policy actions' Q to the Monte-Carlo return first. A classification
    critic's penalty is on its expected values, alpha times `np_penalty_weight` (1 / the
    predicted distributions' variance at the data actions)."""
    n = 3
    cls = CalQLConfig if calibrated else CQLConfig
    loss = CriticLoss(kind, **(SUPPORT if kind != "mse" else {}))
    agent, state = sac_like(cls(num_critics=MEMBERS, num_actions=n, critic_loss=loss))
    agent.nets.critic = wide_critic(loss.output_dim)
    b, hp, key = batch(with_data=True), hparams(), jax.random.PRNGKey(3)
    penalty, metrics = cql_losses.conservative_penalty(agent, state, b, key, hp)(state.critic.params)

    k_uniform, k_pi, k_next = jax.random.split(key, 3)
    uniform = f64(jax.random.uniform(k_uniform, (n, B, ACT), minval=-1.0, maxval=1.0))

    def policy(obs, k):
        mean, log_std = LinearGaussian.apply(state.actor.params, obs)
        noise = np.stack([f64(jax.random.normal(kk, mean.shape)) for kk in jax.random.split(k, n)])
        return np_tanh_gaussian(mean[None], log_std[None], noise)

    a_pi, logp_pi = policy(b.obs, k_pi)
    a_next, logp_next = policy(b.next_obs, k_next)
    W = state.critic.params["W"]
    obs = np.broadcast_to(f64(b.obs), (n, B, OBS))
    q_u, q_pi, q_next = (np_values(kind, W, obs, a) for a in (uniform, a_pi, a_next))  # (members, n, B)
    if calibrated:
        q_pi, q_next = np.maximum(q_pi, f64(b.mc_return)), np.maximum(q_next, f64(b.mc_return))
    cat = np.concatenate([q_u - ACT * np.log(0.5), q_pi - logp_pi, q_next - logp_next], axis=1) / 0.7
    m = cat.max(1, keepdims=True)
    lse = 0.7 * (m[:, 0] + np.log(np.exp(cat - m).sum(1)))
    gap = (lse - np_values(kind, W, b.obs, b.action)).mean(1)
    scale = np_penalty_weight(kind, W, b.obs, b.action)
    close(penalty, 2.0 * scale * gap, rtol=1e-4, atol=1e-4)
    close(metrics["cql_gap"], gap.mean(), rtol=1e-4, atol=1e-4)
    close(metrics["cql_weight"], np.mean(scale), rtol=1e-4)


@pytest.mark.parametrize("config", [IQLConfig(num_critics=MEMBERS), RIQLConfig(num_critics=4)], ids=["iql", "riql"])
def test_iql_and_riql_value_q_target_and_awr_losses(config):
    members = config.num_critics
    agent, state = sac_like(config, value=LinearValue)
    state.critic = model({"W": params((members, OBS + ACT))}, {"W": params((members, OBS + ACT))})
    state.value = model({"v": params((OBS,))})
    b, hp = batch(), hparams(quantile=0.25, expectile=0.7)
    # V's target: the target critic's min (IQL) or its 0.25-quantile, linearly interpolated (RIQL)
    q = iql_losses.target_q(agent, state, b.obs, b.action, hp)
    qs = np_q(state.critic.target_params["W"], b.obs, b.action)
    want_q = np.quantile(qs, 0.25, axis=0, method="linear") if config.ensemble_quantile else qs.min(0)
    close(q, want_q)
    # expectile loss |tau - 1(Q - V < 0)| (Q - V)^2
    loss, v = iql_losses.value_loss(state.value.params, agent, jnp.asarray(want_q, jnp.float32), b.obs, 0.7)
    want_v = f64(b.obs) @ f64(state.value.params["v"])
    diff = want_q - want_v
    close(v, want_v)
    close(loss, np.where(diff < 0, 0.3, 0.7) * diff**2)
    # Q's target: r + gamma (1 - d) V(s')
    y = iql_losses.value_td_target(agent, state, b, None, hp)
    close(y, f64(b.reward) + 0.9 * (1 - f64(b.terminated)) * (f64(b.next_obs) @ f64(state.value.params["v"])))
    # AWR: -min(exp(beta A), 100) log N(a; mean, std)
    adv = jnp.asarray([-1.0, 0.0, 0.5, 2.0, 40.0], jnp.float32)
    per_example, weights = iql_losses.actor_loss(state.actor.params, agent, b.obs, b.action, adv, 3.0)
    mean, log_std = (f64(x) for x in LinearGaussian.apply(state.actor.params, b.obs))
    z = (f64(b.action) - mean) / np.exp(log_std)
    log_prob = (-0.5 * z**2 - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)
    want_w = np.minimum(np.exp(3.0 * f64(adv)), 100.0)
    close(weights, want_w)
    close(per_example, -want_w * log_prob, rtol=1e-4)


@pytest.mark.parametrize("config", [TD3BCConfig(), ReBRACConfig()], ids=["td3bc", "rebrac"])
def test_td3bc_and_rebrac_target_and_actor_losses(config):
    agent, state = sac_like(config)
    agent.nets.actor = LinearDeterministic
    A = params((OBS, ACT))
    state.actor = model({"A": A}, {"A": params((OBS, ACT))})
    b, key = batch(with_data=True), jax.random.PRNGKey(4)
    hp = hparams(policy_noise=0.2, noise_clip=0.5)
    # target: smoothed a' = clip(pi'(s') + clip(N(0, 0.2), +-0.5), -1, 1); ReBRAC subtracts
    # critic_bc ||a' - a'_data||^2 from min_m Q'_m(s', a')
    y = td3bc_losses.penalised_td_target(agent, state, b, key, hp)
    noise = np.clip(0.2 * f64(jax.random.normal(key, (B, ACT))), -0.5, 0.5)
    a_next = np.clip(np.tanh(f64(b.next_obs) @ f64(state.actor.target_params["A"])) + noise, -1, 1)
    v = np_q(state.critic.target_params["W"], b.next_obs, a_next).min(0)
    if config.critic_bc:
        v = v - 0.3 * ((a_next - f64(b.next_action)) ** 2).sum(-1)
    close(y, f64(b.reward) + 0.9 * (1 - f64(b.terminated)) * v)
    # actor: actor_bc ||pi(s) - a||^2 - alpha Q_1(s, pi(s)) / mean|Q_1|
    per_example, _ = td3bc_losses.actor_loss({"A": A}, agent, state, b, key, hp)
    a = np.tanh(f64(b.obs) @ f64(A))
    q1 = np_q(state.critic.params["W"], b.obs, a)[0]
    close(per_example, ((a - f64(b.action)) ** 2).sum(-1) - 2.5 / (np.abs(q1).mean() + 1e-6) * q1, rtol=1e-4)


def test_td3bc_critic_loss_is_td3s_and_rebrac_needs_next_actions():
    from jaxrl_hybrid.agents.td3 import losses as td3_losses

    assert td3bc_losses.LOSSES.td_loss is td3_losses.LOSSES.td_loss
    agent, state = sac_like(ReBRACConfig())
    agent.nets.actor = LinearDeterministic
    state.actor = model({"A": params((OBS, ACT))}, {"A": params((OBS, ACT))})
    with pytest.raises(ValueError, match="next actions"):
        td3bc_losses.penalised_td_target(agent, state, batch(), jax.random.PRNGKey(0), hparams(policy_noise=0.2))


@pytest.mark.parametrize("kind", ["huber", "hl_gauss"])
def test_h2o_weighted_bellman_error(kind):
    """Each example's TD loss times its H2O weight (real rows batch/n_real, sim rows w batch/n_sim)."""
    config = SACConfig(num_critics=MEMBERS, critic_loss=CriticLoss(kind, **SUPPORT))
    agent, state = sac_like(config)
    agent.nets.critic = WideCritic = wide_critic(config.critic_loss.output_dim)
    weights = np.asarray([2.5, 2.5, 0.1, 0.9, 1.6], np.float32)
    agent.weights = lambda st, mb: jnp.asarray(weights)
    b = batch()
    target = jnp.asarray([0.3, -2.0, 4.0, 7.5, -1.0], jnp.float32)
    loss, q = h2o_losses.weighted_td_loss(state.critic.params, agent, state, b, target, hparams())
    outputs = f64(WideCritic.apply(state.critic.params, b.obs, b.action))  # (members, B, width)
    if kind == "huber":
        err = np.abs(outputs[..., 0] - f64(target))
        plain = np.where(err <= 1.0, 0.5 * err**2, err - 0.5)
    else:
        probs = f64(config.critic_loss.target_probs(target))  # HL-Gauss targets are tested in test_losses_*
        log_softmax = outputs - outputs.max(-1, keepdims=True)
        log_softmax = log_softmax - np.log(np.exp(log_softmax).sum(-1, keepdims=True))
        plain = -(probs[None] * log_softmax).sum(-1)
    close(loss, plain * f64(weights)[None], rtol=1e-4)
    assert q.shape == (MEMBERS, B)


@pytest.mark.parametrize("kind", ["mse", "hl_gauss"])
def test_h2o_gap_penalty(kind):
    """beta * (logsumexp_sim(Q + log(u / sum u)) - mean_real Q) per member, on the expected values
    of a classification critic with beta times `np_penalty_weight` over all the batch's rows."""
    loss = CriticLoss(kind, **(SUPPORT if kind != "mse" else {}))
    agent, state = sac_like(SACConfig(num_critics=MEMBERS, critic_loss=loss))
    agent.nets.critic = wide_critic(loss.output_dim)
    agent.config = types.SimpleNamespace(critic_loss=loss, num_real=lambda rows: 2)
    u = np.asarray([0.3, 1.2, 0.05], np.float32)
    agent.gap = lambda st, key, obs, action, next_obs: jnp.asarray(u)
    b = batch()
    penalty, _ = h2o_losses.gap_penalty(agent, state, b, jax.random.PRNGKey(0), hparams(h2o_beta=0.4))(
        state.critic.params
    )
    q = np_values(kind, state.critic.params["W"], b.obs, b.action)  # (members, B)
    z = q[:, 2:] + np.log(f64(u) / f64(u).sum())
    diff = z.max(1) + np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) - q[:, :2].mean(1)
    scale = np_penalty_weight(kind, state.critic.params["W"], b.obs, b.action)
    close(penalty, 0.4 * scale * diff, rtol=1e-4, atol=1e-5)
