"""The real-dynamics model and the two dynamics-gap estimators on a Pendulum shift.

Data: 4,000 transitions of the "real" heavy-pole Pendulum (pole mass 1.6) from uniformly
drawn states (speed within +-6: Pendulum clips its speed at 8, where both dynamics agree and
the true gap collapses) and actions. Both estimators are fitted twice in one vmapped program: against
the simulator of the shift (mass 1.0), and against a "simulator" that is the real system
itself. Their estimated gap on the 400 held-out rows is compared, by Spearman rank
correlation, with the true gap ||s'_real - s'_sim|| of the shift.

Thresholds, from measurements at these settings (data and fit seeds 0-2):
- shifted: the model gap ranks at 0.995-0.998, the discriminator at 0.38-0.59. With 400 rows,
  unrelated scores have a rank correlation of standard deviation 0.05, so > 0.9 (model) and
  > 0.25 (discriminator, five standard deviations) fail for an estimator that learned nothing;
- same env: rank correlations -0.24 to -0.13 (model; what is left is its own uncertainty) and
  -0.09 to 0.16 (discriminator), so |rho| < 0.3; and the gap itself vanishes: mean 0.005
  (model) and -0.001 (discriminator) against 0.23 and 0.36 for the shift (seed 0), so the
  same-env mean must stay under a tenth of the shifted one.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import heavy_pole_real_data

from jaxrl_hybrid.envs import make_pair
from jaxrl_hybrid.models import dynamics as dyn
from jaxrl_hybrid.models.gap import (
    DiscriminatorConfig,
    GapStudyConfig,
    fit_gap_estimators,
    gap_functions,
    true_gap,
)
from jaxrl_hybrid.report.stats import spearman

pytestmark = pytest.mark.xdist_group("gap")

CONFIG = GapStudyConfig(
    dynamics=dyn.DynamicsConfig(num_members=3, hidden_dims=(32, 32), max_epochs=40, batch_size=128),
    discriminator=DiscriminatorConfig(hidden_dims=(32, 32), input_noise=0.02),
    disc_steps=3000,
    disc_batch_size=128,
    disc_learning_rate=1e-3,
)


@pytest.fixture(scope="module")
def fitted():
    pair = make_pair("pendulum-heavy-pole")
    data = heavy_pole_real_data(n=4000)
    sims = jax.tree.map(lambda a, b: jnp.stack([jnp.asarray(a), jnp.asarray(b)]), pair.sim_params, pair.real_params)
    fit = jax.jit(jax.vmap(lambda s: fit_gap_estimators(jax.random.PRNGKey(0), pair.env, s, data, CONFIG)))
    return pair, data, sims, fit(sims)


def _gaps(pair, data, sims, both, i):
    fitted = jax.tree.map(lambda x: x[i], both)
    sim = jax.tree.map(lambda x: x[i], sims)
    obs, action = data.observations[fitted.holdout], data.actions[fitted.holdout]
    truth = np.asarray(jax.jit(lambda o, a: true_gap(pair.env, pair.sim_params, pair.real_params, o, a))(obs, action))
    fns = gap_functions(fitted, pair.env, sim, CONFIG)
    estimates = {name: np.asarray(jax.jit(f)(obs, action)) for name, f in fns.items()}
    return fitted, truth, estimates


def test_gap_estimators_rank_state_actions_by_true_gap(fitted):
    pair, data, sims, both = fitted
    _, truth, estimates = _gaps(pair, data, sims, both, 0)
    assert truth.mean() > 0.05  # the shift is visible in one step
    rho = {name: spearman(est, truth) for name, est in estimates.items()}
    assert rho["model"] > 0.9, rho
    assert rho["discriminator"] > 0.25, rho


def test_gap_estimators_see_no_gap_when_sim_is_real(fitted):
    pair, data, sims, both = fitted
    _, truth, estimates = _gaps(pair, data, sims, both, 1)
    _, _, shifted = _gaps(pair, data, sims, both, 0)
    rho = {name: spearman(est, truth) for name, est in estimates.items()}
    assert all(abs(r) < 0.3 for r in rho.values()), rho
    for name, est in estimates.items():
        assert abs(est.mean()) < 0.1 * shifted[name].mean(), (name, est.mean(), shifted[name].mean())
    # The discriminators cannot tell the two apart: D_sas stays at chance (log 2).
    assert float(both.disc_history["d_sas_loss"][1, -200:].mean()) > 0.68


def test_dynamics_model_heldout_nll_improves_and_beats_constant_delta(fitted):
    pair, data, sims, both = fitted
    model, history = jax.tree.map(lambda x: x[0], (both.dynamics, both.model_history))
    holdout = both.holdout[0]
    curve = np.nanmean(np.asarray(history["holdout_nll"]), axis=-1)
    assert curve[-1] < curve[0] - 2.0 < np.asarray(history["initial_holdout_nll"]).mean()
    rows = (data.observations[holdout], data.actions[holdout], data.next_observations[holdout], data.rewards[holdout])

    @jax.jit
    def evaluate(model, rows):
        nll = dyn.member_nll(model, *rows).mean()
        baseline = dyn.constant_delta_nll(model, rows[0], rows[2], rows[3]).mean()
        pred = dyn.predict(model, rows[0], rows[1])
        return nll, baseline, pred, dyn.sample_next(model, jax.random.PRNGKey(1), rows[0], rows[1])[:2]

    nll, baseline, pred, (next_obs, reward) = evaluate(model, rows)
    assert float(nll) < float(baseline) - 3.0, (nll, baseline)
    assert pred.mean.shape == (400, 4) and bool(jnp.all(pred.epistemic_var >= 0))
    assert next_obs.shape == (400, 3) and reward.shape == (400,)
    assert float(jnp.abs(next_obs - rows[2]).mean()) < 0.1


def test_gap_report_writes_json_markdown_and_heat_map(fitted, tmp_path):
    from jaxrl_hybrid.report.gap import write_gap_report

    pair, data, sims, both = fitted
    one = jax.tree.map(lambda x: x[0], both)
    summary = write_gap_report(
        tmp_path,
        shift="pendulum-heavy-pole",
        env=pair.env,
        sim_params=pair.sim_params,
        real_params=pair.real_params,
        dataset=data,
        fitted=one,
        gap_fns=gap_functions(one, pair.env, pair.sim_params, CONFIG),
    )
    saved = json.loads((tmp_path / "gap.json").read_text())
    assert saved["spearman"] == summary["spearman"] and saved["num_holdout"] == 400
    assert saved["spearman"]["model"]["holdout"] > 0.9  # the same estimate as above
    # Heavy pole: the gap grows with the torque, which the slice's action axis shows.
    assert saved["spearman"]["model"]["slice"] > 0.5, saved["spearman"]
    assert saved["slice"]["labels"] == ["pole angle theta (rad)", "action (torque command)"]
    assert saved["dynamics_model"]["holdout_nll"] < saved["dynamics_model"]["constant_delta_nll"]
    report = (tmp_path / "report.md").read_text()
    assert "| model |" in report and "![gap heat map](gap_heatmap.png)" in report
    assert (tmp_path / "gap_heatmap.png").read_bytes()[:4] == b"\x89PNG"
