"""Ctrl-C (issue 20, part 4): a CLI run stopped by SIGINT at a checkpoint boundary or in the
middle of a chunk exits 130 with one line (no traceback) naming the unfinished folder and the
command that continues it; no half-written checkpoint is left; the resumed run's files equal
an uninterrupted run's byte for byte. `kill` (SIGTERM) stops the same way."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping

import pytest
from helpers import subprocess_env

from jaxrl_hybrid.cli.main import main

pytestmark = pytest.mark.xdist_group("interrupt")

# 8 chunks of 400 env steps (a fraction of a second each), a resume checkpoint every 2.
ARGS = [
    "train", "--algo", "sac", "--env", "gymnax:Pendulum-v1", "--num-seeds", "2", "--seed", "3",
    "--total-steps", "3400", "--learning-starts", "200", "--eval-every", "400", "--hidden-dims", "16", "16",
    "--batch-size", "16", "--buffer-size", "4000", "--num-eval-episodes", "1", "--checkpoint-every", "2",
]  # fmt: skip
FILES = ("metrics.jsonl", "summary.json")


# The CLI as a terminal's foreground job runs it: Ctrl-C raises KeyboardInterrupt. A process
# started in the background by a non-interactive shell (`make test &`, `nohup ... &` in a script)
# inherits SIGINT ignored, and Python then never installs its handler, so the interrupted runs
# here would finish and exit 0. The child restores the handler itself before running the CLI.
_CHILD = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from jaxrl_hybrid.cli.main import main; sys.exit(main(sys.argv[1:]))"
)


def _cli(extra, **kw):
    cmd = [sys.executable, "-c", _CHILD, *extra]
    # The test session's compilation cache: the reference run's compile serves every subprocess.
    env = subprocess_env()
    return subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, **kw)


def _numbers(folder):
    summary = json.loads((folder / "summary.json").read_text())
    for key in ("wall_time_s", "layout"):
        summary.pop(key, None)
    return (folder / "metrics.jsonl").read_text(), summary


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run (in-process: the numbers do not depend on the process's layout)."""
    out = tmp_path_factory.mktemp("reference") / "run"
    assert main([*ARGS, "--out", str(out)]) == 0
    return _numbers(out)


@pytest.mark.parametrize(
    "when, signum",
    # Ctrl-C during a checkpoint (held back by `deferred_interrupt`, which holds SIGTERM the same
    # way), and `kill` inside a chunk (SIGTERM's own handler raises the KeyboardInterrupt that
    # Python's SIGINT handler raises there). Each pair costs two CLI processes (CI time).
    [("checkpoint", signal.SIGINT), ("mid_chunk", signal.SIGTERM)],
)
def test_interrupt_then_resume_repeats_every_number(tmp_path, reference, when, signum):
    out = tmp_path / "run"
    proc = _cli([*ARGS, "--out", str(out)], bufsize=0)
    # Chunk 2 ends with a checkpoint: signal as its progress line appears (the save is under
    # way or about to start). Mid-chunk: 0.15 s after chunk 3's line, inside chunk 4.
    lines_before, delay = (2, 0.0) if when == "checkpoint" else (3, 0.15)
    seen = ""
    while seen.count("steps/s/seed") < lines_before:
        c = proc.stderr.read(1)
        assert c, f"the run ended before chunk {lines_before}: {seen[-2000:]}"
        seen += c
    time.sleep(delay)
    sent = time.monotonic()
    proc.send_signal(signum)
    stdout, rest = proc.communicate(timeout=120)
    err = seen + rest
    assert proc.returncode == 130, err[-3000:]
    assert time.monotonic() - sent < 30  # within a chunk, not after the run
    assert "Traceback" not in err and "cannot schedule" not in err, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"jaxrl-hybrid: interrupted; the unfinished run is in {out}.partial"), last
    staging = tmp_path / "run.partial"
    assert not out.exists() and staging.is_dir()
    assert not list(staging.rglob(".tmp-*")), "a half-written checkpoint was left"
    command = shlex.split(last.split("continue it with: ", 1)[1])
    assert command[0] == "jaxrl-hybrid" and command[-1] == "--resume"
    # The CLI record as it was written before --total-steps / --updates lost their defaults
    # (01f5d68): every flag's value, `updates` at its old default for this online run. A run
    # folder started by that code resumes: the record fills the defaults the same way.
    config = json.loads((staging / "config.json").read_text())
    assert (config["cli"]["total_steps"], config["cli"]["updates"]) == (3400, 100_000)
    resumed = _cli(command[1:])
    stdout, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-3000:]
    if when == "checkpoint" and "with a resume checkpoint" in last:
        assert "resumed from g0000-c000002" in err
    assert _numbers(out) == reference
    assert not staging.exists()


def test_interrupt_before_any_folder_says_nothing_was_written(tmp_path, monkeypatch, capsys):
    import jaxrl_hybrid.cli.train as cli  # the train command main() dispatches to

    def stop(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "train", stop)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--out", str(tmp_path / "x")]) == 130
    assert capsys.readouterr().err.strip() == "jaxrl-hybrid: interrupted; nothing was written"
    assert list(tmp_path.iterdir()) == []


def test_a_failed_command_leaves_no_open_run_for_the_next_interrupt(tmp_path, monkeypatch, capsys):
    """main() called twice in one process: a run folder the first call left (it failed) is
    not named by the second call's interrupt, and a non-resumable one is removed."""
    import jaxrl_hybrid.cli.train as cli  # the train command main() dispatches to
    from jaxrl_hybrid.logging.run_dir import OPEN_RUNS, RunDir

    def fail(args):
        RunDir(tmp_path / "kept")  # resumable: survives the failure for --resume
        RunDir(tmp_path / "report", resumable=False)
        raise ValueError("boom")

    def stop(args):
        raise KeyboardInterrupt

    before = len(OPEN_RUNS)
    monkeypatch.setattr(cli, "train", fail)
    assert main(["train", "--out", str(tmp_path / "kept")]) == 2
    assert len(OPEN_RUNS) == before
    assert (tmp_path / "kept.partial").is_dir() and not (tmp_path / "report.partial").exists()
    monkeypatch.setattr(cli, "train", stop)
    capsys.readouterr()
    assert main(["train", "--out", str(tmp_path / "y")]) == 130
    assert capsys.readouterr().err.strip() == "jaxrl-hybrid: interrupted; nothing was written"


def test_a_save_finishes_before_the_interrupt_takes_effect(tmp_path):
    """SIGINT in the middle of a checkpoint write: the write completes, LATEST names it, and
    only then does KeyboardInterrupt arrive."""
    import numpy as np

    from jaxrl_hybrid.engine.store import ResumeStore

    store = ResumeStore(tmp_path / "store")
    arrays = {"x": np.arange(3)}

    class Interrupting(Mapping):  # the signal arrives while the arrays are being written
        def __getitem__(self, key):
            os.kill(os.getpid(), signal.SIGINT)
            return arrays[key]

        def __iter__(self):
            return iter(arrays)

        def __len__(self):
            return len(arrays)

    with pytest.raises(KeyboardInterrupt):
        store.save("g0000-c000001", {"w": np.ones(2)}, Interrupting(), {"chunks_done": 1})
    latest = store.latest()
    assert latest is not None and latest.name == "g0000-c000001"
    assert ResumeStore.meta(latest)["chunks_done"] == 1 and list(ResumeStore.arrays(latest)) == ["x"]
    assert not list((tmp_path / "store").glob(".tmp-*"))
    (tmp_path / "store" / ".tmp-g0000-c000002").mkdir()  # what a `kill -9` mid-save leaves
    assert store.latest().name == "g0000-c000001" and not list((tmp_path / "store").glob(".tmp-*"))
