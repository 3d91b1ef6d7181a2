"""benchmarks/gpu.py and gpu_wheels.py, the prepared accelerator run: what can be checked
without a GPU or a network (the stage plan, the CLI arguments, the report of a finished or
resumed run, the wheel pins). The whole script was rehearsed on a CPU with the same wheels
(`GPU_PYTHON=python3.12 bash benchmarks/gpu.sh OUT --quick`); that needs a network, so it is
not a test here."""

from __future__ import annotations

import io
import json

from helpers import load_script

from jaxrl_hybrid.logging.progress import Progress


def gpu():
    return load_script("benchmarks/gpu.py", "gpu_bench")


def test_plan_runs_the_goals_first_and_every_stage_once(tmp_path):
    module = gpu()
    args = module.parser().parse_args(["--work", str(tmp_path)])
    runner = module.Runner(args, {}, None)
    names = [name for name, _ in module.plan(args, runner)]
    assert names[:4] == ["e2e/auto/1024", "rejax_e2e", "e2e/share/1024", "updates"]
    assert len(names) == len(set(names))
    for n in args.seeds:
        assert f"e2e/auto/{n}" in names
    assert {"e2e/share/4096", "rejax_updates", "pqn"} <= set(names)


def test_sac_arguments_are_the_peer_comparisons_config(tmp_path):
    module = gpu()
    argv = module.sac_argv(1024, 20_000, "share", tmp_path / "run")
    peers = load_script("benchmarks/peers.py", "peers_for_gpu")
    for flag in ("--hidden-dims", "--batch-size", "--buffer-size", "--learning-starts", "--activation"):
        i, j = argv.index(flag), peers.OURS_E2E.index(flag)
        assert argv[i + 1] == peers.OURS_E2E[j + 1], flag
    assert argv[argv.index("--num-seeds") + 1] == "1024"
    assert argv[argv.index("--total-steps") + 1] == str(20_000 + module.WARMUP)
    assert argv[argv.index("--block-size") + 1] == "share"
    assert argv.count("--hparam") == peers.OURS_E2E.count("--hparam") == 4


def test_the_clis_own_rate_is_read_from_its_progress_line():
    module = gpu()
    stream = io.StringIO()
    progress = Progress(total_steps=1000, num_seeds=16, stream=stream)
    progress.begin(0)
    progress.start -= 2.0  # two seconds of running
    progress.update(500, -150.0)
    (rate, seeds), *_ = module.PROGRESS.findall(stream.getvalue())
    assert int(seeds) == 16 and 200 < float(rate) <= 250  # 500 steps in a little over 2 s


def test_a_resumed_run_keeps_finished_stages_and_reports_them(tmp_path):
    module = gpu()
    record = {"num_runs": 1024, "total_env_steps": 20_256, "run_wall_s": 50.0, "compile_s": 20.0,
              "peak_bytes": 3 * 2**30, "final_return_mean": -160.0}  # fmt: skip
    previous = {
        "stages": {
            "e2e/auto/1024": {"status": "ok", "num_seeds": 1024, "env_steps": 20_000, "block_size": "auto",
                              "process_s": 60.0, "env_steps_per_s": 345_000.0, "env_steps_per_s_per_seed": 337.0,
                              "cli_env_steps_per_s": 700_000.0, **record},
            "rejax_e2e": {"status": "ok", "process_s": 150.0, "records": [{"end_to_end": {
                "num_seeds": 1024, "total_steps": 20_000, "seconds_incl_compile": 140.0,
                "final_return_mean": -170.0}}]},
            "updates": {"status": "stopped after 150 s", "records": []},
        }
    }  # fmt: skip
    (tmp_path / "prev.json").write_text(json.dumps(previous))
    out = tmp_path / "out"
    skip = ["e2e", "updates", "rejax_updates", "pqn"]  # everything not finished before: no child runs
    argv = ["--out", str(out), "--work", str(tmp_path / "work"), "--resume-from", str(tmp_path / "prev.json")]
    assert module.main([*argv, "--skip", *skip]) == 0
    result = json.loads((out / "gpu.json").read_text())
    assert result["stages"]["e2e/auto/1024"]["from"] == str(tmp_path / "prev.json")
    assert result["stages"]["updates"]["status"] == "skipped: --skip"  # not kept: it had not finished
    assert result["stages"]["e2e/share/4096"]["status"] == "skipped: --skip"
    report = (out / "gpu.md").read_text()
    assert "2.50x rejax's speed" in report  # 150 s against 60 s
    assert "| 1,024 | 20,000 | auto | 60.0 |" in report
    assert "Not measured:" in report and "pqn (skipped: --skip)" in report
    assert (out / "gpu_e2e.png").stat().st_size > 0


def test_wheel_pins_come_from_the_lock_and_the_peer_file():
    module = load_script("benchmarks/gpu_wheels.py", "gpu_wheels")
    ours = module.requirements_for(module.OURS, module.locked_versions(), "uv.lock")
    rejax = module.requirements_for(
        module.REJAX, module.pinned_versions(module.HERE / "peers" / "requirements-rejax.txt"), "rejax"
    )
    assert "gymnax==1.0.1" in ours and "gymnax==0.0.9" in rejax
    assert all(r.count("==") == 1 for r in ours + rejax)
    assert not any(r.startswith(("jax==", "jaxlib==")) for r in ours + rejax)  # the GPU machine's own
