"""Multi-agent IQ-Learn (MAMQL-style) on JaxMARL's MPE simple_spread with two agents.

Measured at the learning test's settings (200 scripted episodes of 25 steps, 64x64 critics,
3,000 updates of 128 rows, 2 seeds): greedy team returns -9.8 and -9.4 against the
demonstrator's -8.7 and the uniform policy's -22.8 (50 episodes each); each agent's recovered
reward ranks 80 episodes of the demonstrator at noise 0, 0.3, 0.6 and 1 with correlations
0.67-0.79 to its true episode returns (untrained critics: 0.21-0.61: these episodes differ in
where the agents are, which any function of the state picks up), and pays the demonstrated
action more than another action of the same agent in 89-91% of held-out states (untrained:
45-54%). Per-step correlation with the true reward is near 0: a reward is recovered only up to
shaping.
"""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrl_hybrid.agents.mamql import MAMQL, MAMQLConfig, marginal_policies, marginal_q
from jaxrl_hybrid.envs.marl import MPE, rollout_episodes, spread_expert, transitions


@pytest.fixture(scope="module")
def env():
    return MPE()


@pytest.mark.parametrize("agents", [2, 3])
def test_marginal_q_matches_a_brute_force_sum(agents):
    rng = np.random.default_rng(agents)
    actions, batch = 3, 4
    q = rng.normal(size=(agents, batch, *([actions] * agents)))
    pi = rng.dirichlet(np.ones(actions), size=(agents, batch))
    want = np.zeros((agents, batch, actions))
    for i, b in itertools.product(range(agents), range(batch)):
        for joint in itertools.product(range(actions), repeat=agents):
            weight = np.prod([pi[j, b, joint[j]] for j in range(agents) if j != i])
            want[i, b, joint[i]] += weight * q[(i, b, *joint)]
    np.testing.assert_allclose(marginal_q(jnp.asarray(q), jnp.asarray(pi)), want, rtol=1e-5, atol=1e-6)
    policies, qbar = marginal_policies(jnp.asarray(q), 0.5, 30)
    np.testing.assert_allclose(qbar, marginal_q(jnp.asarray(q), policies), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(policies.sum(-1), 1.0, rtol=1e-5)


def test_mpe_steps_without_reset_and_the_expert_beats_chance(env):
    assert (env.spec.num_agents, env.spec.obs_dim, env.spec.num_actions) == (2, 12, 5)
    traj = jax.jit(lambda k: rollout_episodes(env, spread_expert(env), k, 30))(jax.random.PRNGKey(0))
    assert traj["obs"].shape == (30, 25, 2, 12) and traj["actions"].shape == (30, 25, 2)
    # Within an episode the next observation is the following step's observation, the last included.
    np.testing.assert_array_equal(np.asarray(traj["next_obs"][:, :-1]), np.asarray(traj["obs"][:, 1:]))
    uniform = jax.jit(lambda k: rollout_episodes(env, spread_expert(env, 1.0), k, 30))(jax.random.PRNGKey(0))
    assert float(traj["rewards"].sum(1).mean()) > float(uniform["rewards"].sum(1).mean()) + 8.0
    rows = transitions(traj)
    assert rows["obs"].shape == (750, 2, 12) and rows["terminated"].shape == (750,)


def test_recovered_rewards_are_q_of_the_joint_action_minus_the_discounted_next_value(env):
    agent = MAMQL(MAMQLConfig(hidden_dims=(8,)), env.spec)
    state = agent.init(jax.random.PRNGKey(0))
    rng = np.random.default_rng(1)
    batch = {
        "obs": jnp.asarray(rng.normal(size=(6, 2, 12)), jnp.float32),
        "actions": jnp.asarray(rng.integers(0, 5, (6, 2))),
        "next_obs": jnp.asarray(rng.normal(size=(6, 2, 12)), jnp.float32),
        "terminated": jnp.array([0, 1, 0, 0, 1, 0], bool),
    }
    hparams = agent.default_hparams()
    got = np.asarray(agent.recovered_rewards(state, batch, hparams))
    q = np.asarray(agent.q_tables(state.critic.params, batch["obs"]))
    _, _, next_v = agent.values(state.critic.params, batch["next_obs"])
    a = np.asarray(batch["actions"])
    for b in range(6):
        for i in range(2):
            want = q[i, b, a[b, 0], a[b, 1]] - 0.99 * (1 - float(batch["terminated"][b])) * float(next_v[i, b])
            np.testing.assert_allclose(got[b, i], want, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_mamql_imitates_joint_demonstrations_and_recovers_each_agents_reward(env):
    demos = transitions(jax.jit(lambda k: rollout_episodes(env, spread_expert(env), k, 200))(jax.random.PRNGKey(0)))
    agent = MAMQL(MAMQLConfig(updates=3000), env.spec)
    states, metrics = jax.jit(jax.vmap(agent.train, in_axes=(0, None)))(
        jax.random.split(jax.random.PRNGKey(1), 2), demos
    )
    assert np.all(np.isfinite(np.asarray(metrics["iq_loss"])))

    @jax.jit
    def team_return(state, key):
        policy = lambda obs, k: agent.act(state, obs, k, True)  # noqa: E731
        return rollout_episodes(env, policy, key, 50)["rewards"].sum(1).mean()

    def demonstrator(noise):
        return float(
            rollout_episodes(env, spread_expert(env, noise), jax.random.PRNGKey(9), 50)["rewards"].sum(1).mean()
        )

    expert, uniform = demonstrator(0.0), demonstrator(1.0)
    learned = [float(team_return(jax.tree.map(lambda x, s=s: x[s], states), jax.random.PRNGKey(9))) for s in range(2)]
    print(f"team return per seed {np.round(learned, 2)}, demonstrator {expert:.2f}, uniform {uniform:.2f}")
    assert min(learned) > uniform + 0.8 * (expert - uniform)

    # Each agent's recovered reward ranks episodes of different quality as its true reward does.
    episodes = [rollout_episodes(env, spread_expert(env, n), jax.random.PRNGKey(5), 20) for n in (0.0, 0.3, 0.6, 1.0)]
    true = np.concatenate([np.asarray(e["rewards"]).sum(1) for e in episodes])  # (80, agents)

    def correlations(state):
        rec = [np.asarray(agent.recovered_rewards(state, transitions(e))).reshape(20, 25, 2).sum(1) for e in episodes]
        rec = np.concatenate(rec)
        return [float(np.corrcoef(rec[:, i], true[:, i])[0, 1]) for i in range(2)]

    # And, state by state, it pays the demonstrated action more than another action of the same
    # agent (the other agent's action kept): what a reward learned from these demonstrations
    # must do, and an untrained critic does at chance.
    held = transitions(rollout_episodes(env, spread_expert(env), jax.random.PRNGKey(7), 20))
    rng = np.random.default_rng(0)
    shifts = rng.integers(1, env.spec.num_actions, (2, held["terminated"].shape[0]))

    def prefers_demonstrated(state):
        base = np.asarray(agent.recovered_rewards(state, held))
        share = []
        for i in range(2):
            other = np.asarray(held["actions"]).copy()
            other[:, i] = (other[:, i] + shifts[i]) % env.spec.num_actions
            alternative = np.asarray(agent.recovered_rewards(state, {**held, "actions": jnp.asarray(other)}))
            share.append(float(np.mean(base[:, i] > alternative[:, i])))
        return share

    trained_states = [jax.tree.map(lambda x, s=s: x[s], states) for s in range(2)]
    untrained_states = [agent.init(k) for k in jax.random.split(jax.random.PRNGKey(2), 2)]
    trained = np.array([correlations(s) for s in trained_states])
    untrained = np.array([correlations(s) for s in untrained_states])
    print("per-agent episode-return correlation, trained", trained.round(3), "untrained", untrained.round(3))
    assert trained.mean() > 0.6 and trained.mean() > untrained.mean() + 0.15
    trained = np.array([prefers_demonstrated(s) for s in trained_states])
    untrained = np.array([prefers_demonstrated(s) for s in untrained_states])
    print("demonstrated action preferred, trained", trained.round(3), "untrained", untrained.round(3))
    assert trained.min() > 0.75 and untrained.max() < 0.6
