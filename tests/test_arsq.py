"""ARSQ: coarse-to-fine action codes, normalised auto-regressive soft advantages, decoding.

References are numpy: the code of an action by interval arithmetic, the soft value and the
Boltzmann policy by enumerating every joint action of a small action space.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.agents.arsq import ARSQ, ARSQConfig, coding
from jaxrl_hybrid.agents.arsq import losses as arsq_losses
from jaxrl_hybrid.agents.common.extract import BestOfN, ranking_q
from jaxrl_hybrid.losses import CriticLoss
from jaxrl_hybrid.types import Batch, EnvSpec

SPEC2 = EnvSpec("toy", (3,), 2, False, 10)


def _np_encode(action, levels, bins):
    lo, width, out = -1.0, 2.0, []
    for _ in range(levels):
        width /= bins
        index = min(max(int(np.floor((action - lo) / width)), 0), bins - 1)
        out.append(index)
        lo += index * width
    return out, lo + width / 2


def _all_codes(levels, action_dim, bins):
    """Every code (N, L, D) of a small action space, in step order."""
    steps = levels * action_dim
    choices = np.array(list(itertools.product(range(bins), repeat=steps)))  # (N, K), step k = l * D + d
    return choices.reshape(-1, levels, action_dim)


def test_encode_decode_match_interval_arithmetic_and_stay_in_bounds():
    rng = np.random.default_rng(0)
    actions = np.concatenate([rng.uniform(-1, 1, (200, 3)), [[-1.0, 1.0, 0.0], [1.5, -2.0, 0.9999]]])
    codes = np.asarray(coding.encode(jnp.asarray(actions, jnp.float32), 3, 5))
    decoded = np.asarray(coding.decode(jnp.asarray(codes), 5))
    for i, d in itertools.product(range(len(actions)), range(3)):
        ref_code, ref_centre = _np_encode(actions[i, d], 3, 5)
        assert codes[i, :, d].tolist() == ref_code, (actions[i, d], codes[i, :, d])
        np.testing.assert_allclose(decoded[i, d], ref_centre, atol=1e-6)
    inside = np.abs(actions) <= 1
    assert np.all(np.abs(decoded - actions)[inside] <= 1 / 125 + 1e-6)  # half the finest width
    assert np.all(np.abs(decoded) < 1)
    # a decoded action's code is itself
    np.testing.assert_array_equal(np.asarray(coding.encode(jnp.asarray(decoded), 3, 5)), codes)


def test_teacher_forced_contexts_are_the_partial_actions_decoding_sees():
    """Decoding a fixed code (scores that force it) passes the same contexts teacher forcing builds."""
    codes = jnp.asarray(_all_codes(2, 2, 3)[[5, 40, 77]])  # (3, L=2, D=2)

    def forcing(context, step):
        return jax.nn.one_hot(coding.step_choices(codes)[:, step], 3) * 10.0

    decoded = coding.autoregressive_decode(forcing, (3,), 2, 2, 3)
    np.testing.assert_array_equal(decoded, codes)
    contexts = np.asarray(coding.step_contexts(codes, 3))  # (3, K, D)
    # the contexts of teacher forcing, against the partial actions of a plain loop over the steps
    partial = np.zeros((3, 2, 2), np.int32)
    for k in range(4):
        level, dim = divmod(k, 2)
        chosen = np.where(np.arange(2) < dim, level + 1, level)
        lo = -1 + sum(np.where(j < chosen, partial[:, j] * 2 / 3 ** (j + 1), 0) for j in range(2))
        np.testing.assert_allclose(contexts[:, k], lo + 0.5 * 2 / 3.0**chosen, atol=1e-6)
        partial[:, level, dim] = np.asarray(codes)[:, level, dim]
    assert contexts[0, 0].tolist() == [0.0, 0.0]  # nothing chosen: the centre of [-1, 1]


def test_soft_advantages_normalise_and_the_penalty_is_cqls_logsumexp():
    """With normalised per-step advantages, V is the soft value of all B^(L*D) actions and the
    conservative penalty is temperature * logsumexp(Q / temperature) - Q(a_data), by enumeration."""
    agent = ARSQ(ARSQConfig(hidden_dims=(16, 16), levels=2, bins=3, num_critics=1), SPEC2)
    state = agent.init(jax.random.PRNGKey(0))
    state = state.replace(  # a network whose scores are far from uniform
        critic=state.critic.replace(params=jax.tree.map(lambda p: p * 3.0, state.critic.params))
    )
    obs = jax.random.normal(jax.random.PRNGKey(1), (4, 3))
    codes = _all_codes(2, 2, 3)  # (81, 2, 2)
    actions = np.asarray(coding.decode(jnp.asarray(codes), 3))
    for temperature in (0.3, 2.0):
        hparams = agent.default_hparams(temperature=temperature)
        every = jax.vmap(lambda a, h=hparams: agent.q_value(state, obs, jnp.broadcast_to(a, (4, 2)), h)[0])
        q = np.asarray(jax.jit(every)(actions))  # (81, 4)
        value, _ = agent.nets.critic.apply(state.critic.params, obs)
        top = q.max(0)
        soft_value = top + temperature * np.log(np.exp((q - top) / temperature).sum(0))
        np.testing.assert_allclose(soft_value, np.asarray(value[0]), rtol=1e-4, atol=1e-4)
        assert q.std(0).min() > 0.05 and q.std(0).max() > 0.5  # not vacuous: Q differs across actions
        # the penalty of a data action against its logsumexp form
        data = jnp.asarray(actions[[3, 50, 17, 80]])
        _, scores, choices = agent.teacher_forced(state.critic.params, obs, data)
        penalty = np.asarray(
            arsq_losses.conservative_penalty(arsq_losses.taken_advantage(scores, choices, temperature))
        )
        q_data = q[[3, 50, 17, 80], np.arange(4)]
        np.testing.assert_allclose(penalty[0], soft_value - q_data, rtol=1e-4, atol=1e-4)
        assert np.all(penalty >= 0)
        z = np.asarray(scores)
        a_ref = z - temperature * np.log(np.exp(z / temperature).sum(-1, keepdims=True))
        np.testing.assert_allclose(np.exp(a_ref / temperature).sum(-1), 1.0, rtol=1e-5)
        np.testing.assert_allclose(
            arsq_losses.soft_advantages(jnp.asarray(z), temperature), a_ref, rtol=1e-5, atol=1e-5
        )


def _marginal_lookup(table, temperature, levels, action_dim, bins):
    """A Q table over every code turned into exact per-step scores: for step k and prefix p, the
    soft value of p extended by each bin, temperature * log sum_{suffix} exp(Q / temperature).
    Stored as marg[k, p_0..p_{k-1}, 0.., :] (the prefix padded with zeros to K - 1 entries)."""
    steps = levels * action_dim
    grid = table.reshape((bins,) * steps)
    marg = np.zeros((steps,) + (bins,) * (steps - 1) + (bins,), np.float64)
    for k in range(steps):
        for prefix in itertools.product(range(bins), repeat=k):
            flat = grid[prefix].reshape(bins, -1)
            m = flat.max(-1, keepdims=True)
            soft = m + temperature * np.log(np.exp((flat - m) / temperature).sum(-1, keepdims=True))
            marg[(k, *prefix) + (0,) * (steps - 1 - k)] = soft[:, 0]
    return marg


def _decoder(levels, action_dim, bins):
    """`decode(marg, key)`: autoregressive_decode with scores read from a marginal lookup; the
    prefix is recovered from the context (the partial action's centres encode its chosen bins)."""
    steps = levels * action_dim

    def decode(marg, key=None, temperature=1.0):
        def scores(context, step):
            flat = coding.step_choices(coding.encode(context, levels, bins))  # step order; >= step is junk
            prefix = [jnp.where(j < step, flat[j], 0) for j in range(steps - 1)]
            return marg[(step, *prefix)]

        return coding.autoregressive_decode(scores, (), levels, action_dim, bins, key=key, temperature=temperature)

    return decode


@pytest.mark.parametrize("temperature", [1e-3, 0.05])
def test_greedy_decoding_matches_the_brute_force_argmax_on_a_2d_toy(temperature):
    """Scores that are a Q table's exact soft marginals (2-D actions, 2 levels x 3 bins: 81 joint
    actions) decode greedily to the table's argmax, over 30 random tables; actions in [-1, 1]^2."""
    levels, action_dim, bins = 2, 2, 3
    codes = _all_codes(levels, action_dim, bins)
    decode = jax.jit(_decoder(levels, action_dim, bins))
    rng = np.random.default_rng(1)
    for _ in range(30):
        table = rng.normal(size=len(codes))
        marg = jnp.asarray(_marginal_lookup(table, temperature, levels, action_dim, bins), jnp.float32)
        greedy = np.asarray(decode(marg))
        np.testing.assert_array_equal(greedy, codes[int(np.argmax(table))])
        assert np.all(np.abs(np.asarray(coding.decode(jnp.asarray(greedy), bins))) <= 1.0)


def test_sampled_decoding_is_the_boltzmann_policy_of_the_joint_q():
    """Sampling each step from softmax(scores / temperature) draws joint actions with probability
    softmax(Q / temperature) over all 81 (20,000 draws, within 0.015 of each probability)."""
    levels, action_dim, bins, temperature = 2, 2, 3, 0.5
    codes = _all_codes(levels, action_dim, bins)
    table = np.random.default_rng(2).normal(size=len(codes))
    marg = jnp.asarray(_marginal_lookup(table, temperature, levels, action_dim, bins), jnp.float32)
    decode = _decoder(levels, action_dim, bins)
    draws = jax.jit(jax.vmap(lambda k: decode(marg, k, temperature)))(jax.random.split(jax.random.PRNGKey(0), 20_000))
    flat = np.asarray(draws).reshape(len(draws), -1) @ (bins ** np.arange(levels * action_dim)[::-1])
    freq = np.bincount(flat, minlength=len(codes)) / len(draws)
    probs = np.exp(table / temperature - np.max(table / temperature))
    probs /= probs.sum()
    assert np.abs(freq - probs).max() < 0.015, np.abs(freq - probs).max()


@pytest.mark.slow
def test_arsq_agent_acts_in_bounds_updates_and_ranks_best_of_n_by_its_own_q():
    agent = ARSQ(ARSQConfig(hidden_dims=(16, 16)), SPEC2)
    state = agent.init(jax.random.PRNGKey(0))
    obs = jax.random.normal(jax.random.PRNGKey(1), (32, 3))
    act = jax.jit(agent.act, static_argnums=3)
    for deterministic in (True, False):
        action = act(state, obs, jax.random.PRNGKey(2), deterministic)
        assert action.shape == (32, 2) and np.all(np.abs(np.asarray(action)) <= 1.0)
    # one update on a batch (utd 2): finite metrics, parameters move, the target follows by tau
    key = jax.random.PRNGKey(3)
    batch = Batch(
        obs=jax.random.normal(key, (2, 16, 3)),
        action=jax.random.uniform(key, (2, 16, 2), minval=-1, maxval=1),
        reward=jnp.ones((2, 16)),
        next_obs=jax.random.normal(jax.random.PRNGKey(4), (2, 16, 3)),
        terminated=jnp.zeros((2, 16)),
        truncated=jnp.zeros((2, 16)),
    )
    new, metrics = jax.jit(agent.update)(state, batch, key, agent.default_hparams())
    assert int(new.step) == 2 and all(np.isfinite(float(v)) for v in metrics.values())
    assert float(metrics["cql_penalty"]) >= 0
    # Best-of-N: one candidate is the sampled policy; N ranks by ARSQ's q_value (the members' min)
    one = jax.jit(BestOfN(agent, 1).act, static_argnums=3)(new, obs, key, True)
    np.testing.assert_array_equal(one, act(new, obs, jax.random.split(key, 1)[0], False))
    best = BestOfN(agent, 8)
    chosen = jax.jit(best.act, static_argnums=3)(new, obs, key, True)
    candidates = jax.jit(best.candidates)(new, obs, key)
    rank = jax.jit(jax.vmap(lambda a: ranking_q(agent, new, obs, a)))
    q = np.asarray(rank(candidates))
    np.testing.assert_allclose(np.asarray(rank(chosen[None]))[0], q.max(0), rtol=1e-5, atol=1e-5)


def test_arsq_refuses_classification_critics_and_bad_grids():
    with pytest.raises(ValueError, match="must be mse or huber"):
        ARSQConfig(critic_loss=CriticLoss("hl_gauss"))
    with pytest.raises(ValueError, match="bins must be >= 2"):
        ARSQConfig(bins=1)
    with pytest.raises(ValueError, match="needs a continuous action space"):
        ARSQ(ARSQConfig(), EnvSpec("gymnax:CartPole-v1", (4,), 2, True, 500))
