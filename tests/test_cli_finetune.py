"""`jaxrl-hybrid finetune`: the run folder, resuming from the pretraining checkpoint bit for bit, errors."""

import json
import shutil

import jax
import numpy as np
import pytest
from helpers import toy_pendulum_dataset

from jaxrl_hybrid.checkpoint import read_metadata
from jaxrl_hybrid.cli.main import main
from jaxrl_hybrid.data import save

pytestmark = pytest.mark.xdist_group("cli")

TINY = ["--num-seeds", "2", "--online-steps", "400", "--eval-every", "100", "--warmup-steps", "200",
        "--hidden-dims", "16", "16", "--batch-size", "32", "--online-batch-size", "32", "--num-critics", "2",
        "--num-actions", "2", "--buffer-size", "1000", "--num-eval-episodes", "2"]  # fmt: skip


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    # gymnasium's Pendulum, stepped on the host: the interrupt-and-resume test below is also the
    # host-stepped fine-tuning's (issue 25); gymnax's is fine-tuned in tests/test_finetune*.py. (A
    # separate, smaller host-stepped test measured dearer in the suite than this one: programs with
    # host callbacks never come from the compilation cache, so each run compiles in full.)
    path = tmp_path_factory.mktemp("data") / "toy.hdf5"
    save(toy_pendulum_dataset(env="gymnasium:Pendulum-v1"), path)
    return str(path)


def _online(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"online"' in line]


def test_finetune_writes_the_run_and_resumes_from_its_pretraining_checkpoint(tmp_path, data_file, capsys, monkeypatch):
    first = tmp_path / "wsrl"
    argv = ["finetune", "--algo", "wsrl", "--dataset", data_file, *TINY]
    assert main([*argv, "--pretrain-updates", "100", "--pretrain-eval-every", "100", "--out", str(first)]) == 0
    out = capsys.readouterr().out
    assert "initial_dip" in out and "report.md" in out
    for name in ("config.json", "metrics.jsonl", "summary.json", "report.md", "learning_curves.png"):
        assert (first / name).is_file(), name
    lines = [json.loads(x) for x in (first / "metrics.jsonl").read_text().splitlines()]
    assert [x["phase"] for x in lines] == ["pretrain"] + ["online"] * 3  # start + 2 chunks after the warm-up
    assert [x["step"] for x in lines] == [100, 0, 300, 400]
    summary = json.loads((first / "summary.json").read_text())
    for key in ("start_score", "final_score", "initial_dip", "auc"):
        assert len(summary[key]["per_seed"]) == 2 and "ci95" in summary[key]
    assert summary["pretrain_algo"] == "calql" and summary["warmup_steps"] == 200
    assert "| wsrl | 2 |" in (first / "report.md").read_text()
    assert (first / "checkpoints" / "online_400" / "checkpoint.json").is_file()

    # Interrupted in the online phase (after its first checkpoint) and resumed: the same run.
    from jaxrl_hybrid.experiment.record import Recorder

    real = Recorder.log_chunk

    def crash_at_400(self, step, returns, metrics=None, **kw):  # after the line is written, as Ctrl-C would
        real(self, step, returns, metrics, **kw)
        if len(returns) == 2 and metrics and crash_at_400.armed and crash_at_400.calls == 3:
            raise KeyboardInterrupt("killed")
        crash_at_400.calls += 1

    crash_at_400.calls, crash_at_400.armed = 0, True
    monkeypatch.setattr(Recorder, "log_chunk", crash_at_400)
    interrupted = tmp_path / "interrupted"
    resumable = [*argv, "--pretrain-updates", "100", "--pretrain-eval-every", "100", "--checkpoint-every", "1"]
    capsys.readouterr()
    assert main([*resumable, "--out", str(interrupted)]) == 130  # Ctrl-C: one line, no traceback
    err = capsys.readouterr().err
    assert "with a resume checkpoint" in err and f"--out {interrupted} --resume" in err
    crash_at_400.armed = False
    assert (tmp_path / "interrupted.partial" / "resume" / "online" / "LATEST").read_text() == "g0000-c000001"
    assert main([*resumable, "--out", str(interrupted), "--resume"]) == 0
    assert (interrupted / "metrics.jsonl").read_text() == (first / "metrics.jsonl").read_text()
    assert json.loads((interrupted / "summary.json").read_text())["final_score"] == summary["final_score"]

    # Fine-tuning again from the saved pretrained agents repeats the online phase bit for bit.
    pretrained = str(first / "checkpoints" / "pretrain_100")
    resumed = tmp_path / "resumed"
    assert main([*argv, "--init-from", pretrained, "--out", str(resumed)]) == 0
    assert _online(resumed) == _online(first)
    assert json.loads((resumed / "summary.json").read_text())["init_from"] == pretrained
    hparams = json.loads((first / "config.json").read_text())["hparams"]
    recorded = json.loads((resumed / "config.json").read_text())
    assert recorded["pretrain_hparams"] == [hparams]
    assert recorded["pretrain_agent"] == json.loads((first / "config.json").read_text())["finetune"]["agent"]

    # An offline `train` run's checkpoints/ folder (its metadata holds the TrainConfig) is taken the
    # same way: accepted, and the same agents restored. From the same agents the online phase is the
    # same bit for bit (`resumed` above); the run is stopped after the restore (CI time: a third
    # host-stepped program, which the compilation cache cannot serve, would repeat that).
    meta = read_metadata(pretrained)
    train_meta = {"train": {"algo": "calql"}, "num_seeds": 2, "seed": 0, "grid": [{"cql_alpha": 3.0}],
                  "hparams": hparams, "dataset_fingerprint": meta["dataset_fingerprint"]}  # fmt: skip
    shutil.copytree(first / "checkpoints" / "pretrain_100", tmp_path / "train_run" / "checkpoints")
    (tmp_path / "train_run" / "checkpoints" / "checkpoint.json").write_text(json.dumps(train_meta))
    import jaxrl_hybrid.experiment.finetune as finetune_run

    class Restored(Exception):
        pass

    real_restore, restored = finetune_run.restore_like, []

    def restore_then_stop(directory, target):
        restored.append(real_restore(directory, target))
        raise Restored

    monkeypatch.setattr(finetune_run, "restore_like", restore_then_stop)
    # Hyperparameters or a static agent setting other than the pretraining's are named (config.json
    # keeps both).
    runs = [(pretrained, ["--hparam", "cql_alpha=3"], "cql_alpha: pretrained with 5, this run 3"),
            (tmp_path / "train_run" / "checkpoints", [], "cql_alpha: pretrained with 3, this run 5"),
            (pretrained, ["--critic-out-init", "1"], "critic_out_init: pretrained with 0.07, this run 1.0"),
            ]  # fmt: skip
    for i, (folder, extra, note) in enumerate(runs):
        capsys.readouterr()
        with pytest.raises(Restored):
            main([*argv, "--init-from", str(folder), "--out", str(tmp_path / f"restored{i}"), *extra])
        assert note in capsys.readouterr().err
    leaves = [jax.tree.leaves(agents) for agents in restored]
    assert len(leaves[0]) == len(leaves[1]) == len(leaves[2]) > 0
    for x, y, z in zip(*leaves, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
        np.testing.assert_array_equal(np.asarray(x), np.asarray(z))

    # A checkpoint that does not fit the run is refused, naming why.
    for extra, message in [
        (["--seed", "1"], "its seed is 0"),
        (["--num-seeds", "3"], "holds 2 runs"),
    ]:
        args = [*argv, "--init-from", pretrained, "--out", str(tmp_path / "x"), *extra]
        assert main(args) == 2
        assert message in capsys.readouterr().err
    assert main(["finetune", "--algo", "iql", "--dataset", data_file, "--init-from", pretrained, "--out",
                 str(tmp_path / "y"), "--num-seeds", "2"]) == 2  # fmt: skip
    assert "holds 'calql' agents" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--algo", "calql", "--pretrain-algo", "cql"], "--pretrain-algo is for wsrl and moorl"),
        (["--algo", "sac", "--pretrain-updates", "5"], "starts from scratch"),
        (["--algo", "iql", "--num-actions", "4"], "--num-actions is a CQL"),
        (["--algo", "iql", "--critic-out-init", "0.01"], "--critic-out-init is a SAC-family setting"),
        (["--algo", "calql", "--hparam", "gamma=0.9"], "dataset's Monte-Carlo returns use gamma 0.99"),
        (["--algo", "wsrl", "--hparam", "cql_alpah=1"], "not hyperparameters of wsrl"),
    ],
)
def test_finetune_bad_input_gets_a_clear_error(args, message, data_file, tmp_path, capsys):
    assert main(["finetune", "--dataset", data_file, "--out", str(tmp_path / "r"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
