"""The default experiment's script (`make run`) end to end, at toy scale: Cal-QL and WSRL run and
report, with the critics' Q against the data's Monte-Carlo returns; the configurations of the SAC,
CQL and WSRL-without-warm-up arms are checked on a rerun that fails part-way (their programs run in
tests/test_finetune_parts.py and tests/test_finetune.py), and that failure leaves the previous
report untouched."""

import json
from pathlib import Path

import pytest
from helpers import load_script


@pytest.fixture
def o2o(monkeypatch):
    module = load_script("experiments/offline_to_online/run.py", "o2o_run")
    behaviour = {**module.DATA_SETTINGS["behaviour"], "train_steps": 300, "hidden_dims": [16, 16]}
    monkeypatch.setattr(module, "DATA_SETTINGS", {**module.DATA_SETTINGS, "size": 1000, "behaviour": behaviour})
    monkeypatch.setattr(module, "AGENT", {**module.AGENT, "hidden_dims": (16, 16)})
    monkeypatch.setattr(module, "SAC_WARMUP", 100)
    arms = ("calql", "wsrl")  # WSRL restores Cal-QL's pretrained agents
    monkeypatch.setattr(module, "PRESETS", {"quick": module.Preset(2, 100, 300, 100, 100, arms, cql_alpha=7.0)})
    return module


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:no snapshot scored near")  # the toy behaviour SAC's snapshots are coarse
def test_every_arm_reports_and_a_failure_keeps_the_old_report(o2o, tmp_path, monkeypatch):
    out, data = tmp_path / "default", tmp_path / "data"
    assert o2o.main(["--out", str(out), "--data-dir", str(data)]) == 0
    report = (out / "report.md").read_text()
    for arm in ("calql", "wsrl"):
        assert f"| {o2o.LABELS[arm]} | 2 |" in report
    assert "MC return of the data" in report and (out / "learning_curves.png").exists()
    calql = json.loads((out / "calql" / "summary.json").read_text())
    wsrl = json.loads((out / "wsrl" / "summary.json").read_text())
    # WSRL starts from Cal-QL's saved pretrained agents: the same start scores.
    assert wsrl["start_score"]["per_seed"] == calql["start_score"]["per_seed"]
    assert wsrl["warmup_steps"] == 100
    for arm in ("calql", "wsrl"):  # the preset's penalty weight is the one trained with, and recorded
        assert json.loads((out / arm / "config.json").read_text())["hparams"]["cql_alpha"] == 7.0

    # A rerun that fails part-way leaves the finished report and its run folders as they were. The
    # SAC, CQL and WSRL-without-warm-up arms stand in for runs that wrote part of their folders (no
    # training: CI time; the configurations they are given are checked), then the preset's unknown
    # last arm fails the script.
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    arms = ("calql", "sac", "cql", "wsrl_no_warmup", "unknown-arm")
    o2o.PRESETS["quick"] = o2o.Preset(2, 100, 300, 100, 100, arms, cql_alpha=7.0)
    configs, init_from, overrides = {}, {}, {}

    def partial_run(config, out, **kw):
        configs[config.method], init_from[config.method] = config, kw.get("init_from")
        overrides[config.method] = kw.get("hparams_overrides")
        (Path(out) / "checkpoints").mkdir(parents=True)
        (Path(out) / "metrics.jsonl").write_text('{"step": 0}\n')
        return {"out": out, "wall_time_s": 0.0}

    monkeypatch.setattr("jaxrl_hybrid.experiment.run_finetune", partial_run)
    with pytest.raises(ValueError, match="unknown-arm"):
        o2o.main(["--out", str(out), "--data-dir", str(data)])
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert (configs["sac"].pretrain_updates, configs["sac"].warmup_steps) == (0, o2o.SAC_WARMUP)
    assert type(configs["sac"].agent).__name__ == "SACConfig" and configs["cql"].pretrain_updates == 100
    assert type(configs["cql"].agent).__name__ == "CQLConfig" and configs["cql"].agent.num_actions == o2o.NUM_ACTIONS
    no_warmup = configs["wsrl"]  # the arm fine-tunes with the wsrl method, from Cal-QL's saved agents
    wsrl_run = json.loads((out / "wsrl" / "config.json").read_text())["finetune"]
    assert no_warmup.warmup_steps == 0
    # in all else WSRL's config (compared as config.json holds it: through JSON, tuples as lists)
    assert json.loads(json.dumps({**no_warmup.to_dict(), "warmup_steps": 100})) == wsrl_run
    assert init_from["wsrl"].endswith("pretrain_100") and init_from["cql"] is None
    # SAC has no penalty weight; the CQL arm gets the preset's
    assert overrides["sac"] is None and overrides["cql"] == overrides["wsrl"] == {"cql_alpha": 7.0}
