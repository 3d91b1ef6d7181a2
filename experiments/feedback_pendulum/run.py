"""Offline RL on true rewards vs rewards learned from pairwise preferences (clean and 20% noisy labels).

Preference-based offline RL (Christiano et al., 2017; Preference Transformer; RL from VLM
feedback) replaces the dataset's rewards by a reward model fitted to a labeller's choices between
pairs of trajectory segments. Here the labeller is the scripted one (`dataset label`: it prefers
the segment with the higher true return and flips each label with probability --noise), the
stand-in for a human or a VLM, on Pendulum medium-replay data, where rewards matter (behaviour
cloning scores at the data's level, near 0; IQL with the true rewards far above it):

    .venv/bin/python experiments/feedback_pendulum/run.py --write-readme

Steps, every one a `jaxrl-hybrid` command whose output is kept and reused when present:
`dataset generate` (medium-replay), `dataset label` (1,000 pairs of 25-step segments, noise 0
and 0.2), `dataset fit-reward` (3 x 256x256 Bradley-Terry ensemble, 50 epochs, 20% of the pairs
held out), `dataset relabel`, then `train --algo iql` on the true and on each learned reward
(and `--algo bc`, which reads no reward, as the reward-free reference), 8 seeds each. The
reward models are also scored on 1,000 fresh pairs labelled without noise (accuracy against the
true preferences) and by the per-step correlation of learned and true rewards over the data.
The table is <out>/results.md (and the README's with --write-readme).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from jaxrl_hybrid.experiment.studies import kept_run, publish

ROOT = Path(__file__).resolve().parents[2]
README = Path(__file__).resolve().parent / "README.md"
BEGIN, END = "<!-- feedback_pendulum:begin -->", "<!-- feedback_pendulum:end -->"
ENV, KIND, SIZE = "gymnax:Pendulum-v1", "medium-replay", 100_000
NOISES = (0.0, 0.2)


def log(msg: str) -> None:
    print(f"[feedback_pendulum] {msg}", file=sys.stderr, flush=True)


def cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "jaxrl_hybrid.cli.main", *args], cwd=ROOT, check=True)


def made(path: Path, *args: str) -> Path:
    """`jaxrl-hybrid ARGS --out PATH` unless PATH exists (a finished step: every command writes
    its output through a temporary file, so a file that exists is whole)."""
    if not path.exists():
        log(f"making {path.name}")
        cli(*args, "--out", str(path))
    return path


def tag(noise: float) -> str:
    return "clean" if noise == 0 else f"noise{round(noise * 100)}"


def reward_quality(data, model_path: Path, pairs: int, segment_length: int) -> dict:
    """The model's accuracy on `pairs` fresh pairs labelled by the true return (no noise), and the
    per-step correlation of its reward with the true one over the data."""
    import jax

    from jaxrl_hybrid.data.preferences import ScriptedLabeller, label_pairs, preference_batch, sample_pairs
    from jaxrl_hybrid.models.reward import load_reward_model, predict_reward, preference_accuracy

    model, meta = load_reward_model(model_path)
    fresh = label_pairs(data, sample_pairs(data, jax.random.PRNGKey(12345), pairs, segment_length), ScriptedLabeller())
    learned = np.asarray(predict_reward(model, data.observations, data.actions))
    return {
        "heldout_accuracy": meta["heldout_accuracy"],  # against the file's own (possibly noisy) labels
        "true_accuracy": preference_accuracy(model, preference_batch(data, fresh)),
        "reward_correlation": float(np.corrcoef(learned, np.asarray(data.rewards))[0, 1]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/feedback_pendulum")
    parser.add_argument("--num-seeds", type=int, default=8)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--episodes", type=int, default=10, help="evaluation episodes per seed")
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--segment-length", type=int, default=25)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args(argv)
    out = Path(args.out)
    (out / "data").mkdir(parents=True, exist_ok=True)

    data = made(out / "data" / f"pendulum-{KIND}-{SIZE}.hdf5", "dataset", "generate", "--env", ENV,
                "--kind", KIND, "--size", str(SIZE))  # fmt: skip
    from jaxrl_hybrid.data import load

    files, quality, loaded = {"true": data}, {}, load(str(data))  # read once for both reward models
    for noise in NOISES:
        labels = made(out / "data" / f"labels-{tag(noise)}.json", "dataset", "label", str(data),
                      "--num-pairs", str(args.pairs), "--segment-length", str(args.segment_length),
                      "--noise", str(noise))  # fmt: skip
        model = made(out / "data" / f"reward-{tag(noise)}.msgpack", "dataset", "fit-reward", str(data),
                     "--labels", str(labels))  # fmt: skip
        files[f"learned-{tag(noise)}"] = made(out / "data" / f"learned-{tag(noise)}.hdf5", "dataset", "relabel",
                                              str(data), "--reward-model", str(model))  # fmt: skip
        quality[f"learned-{tag(noise)}"] = reward_quality(loaded, model, args.pairs, args.segment_length)

    runs, seconds = {}, {}
    jobs = [(f"iql-{name}", "iql", path) for name, path in files.items()] + [("bc", "bc", data)]
    for label, algo, path in jobs:
        run = out / "runs" / label
        cmd = ["train", "--algo", algo, "--dataset", str(path), "--num-seeds", str(args.num_seeds)]
        cmd += ["--updates", str(args.updates), "--eval-every", str(args.updates // 4)]
        cmd += ["--num-eval-episodes", str(args.episodes), "--out", str(run)]
        log(f"{label}: {args.num_seeds} seeds x {args.updates} updates")
        seconds[label] = kept_run(cmd, run, "feedback-stamp.json", log, cwd=ROOT)
        runs[label] = run
    body = table(runs, seconds, quality, {"probability_of_improvement": improvement(runs)}, data, args)
    (out / "quality.json").write_text(json.dumps(quality, indent=2))
    readme = README if args.write_readme else None
    publish(body, out / "results.md", "IQL on true vs preference-learned rewards", readme, BEGIN, END)
    return 0


def improvement(runs: dict[str, Path]) -> dict[str, dict]:
    """P(X > Y) over seeds' final normalised scores for every ordered pair of runs, with a 95%
    stratified-bootstrap CI (`report.compare`; `jaxrl-hybrid report` would take each relabelled
    file for a task of its own, and here every run is the same env and the same transitions)."""
    from jaxrl_hybrid.report.compare import bootstrap, probability_of_improvement

    scores = {k: np.asarray(json.loads((r / "summary.json").read_text())["normalized"]["final_score"])[:, None]
              for k, r in runs.items()}  # fmt: skip
    return {
        f"{a} > {b}": {
            "value": probability_of_improvement(scores[a], scores[b]),
            "ci95": list(bootstrap(probability_of_improvement, [scores[a], scores[b]])),
        }
        for a in runs
        for b in runs
        if a != b
    }


def table(runs, seconds, quality, comparison, data: Path, args) -> str:
    from jaxrl_hybrid.data import episode_returns, load, normalized_score

    ds = load(str(data))
    refs = ds.metadata["reference_returns"]
    data_score = float(normalized_score(episode_returns(ds).mean(), refs["random"], refs["expert"]))
    probability = comparison["probability_of_improvement"]  # every ordered pair of runs
    lines = [
        "",
        f"Pendulum {KIND} ({ds.size:,} transitions, the data's own normalised score {data_score:.1f}). Final "
        f"normalised score after {args.updates:,} updates, {args.num_seeds} seeds x {args.episodes} deterministic "
        "episodes, every agent at its defaults (256x256): IQM [95% stratified-bootstrap CI]. Reward models: "
        f"{args.pairs:,} labelled pairs of {args.segment_length}-step segments (80% to train), accuracy on the "
        "held-out 20% of the file's own labels and on 1,000 fresh pairs labelled by the true return; the "
        "correlation of learned and true reward over every row. s = seconds per program of all seeds.",
        "",
        "| rewards | agent | score | held-out accuracy | true-preference accuracy | reward correlation | s |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, run in runs.items():
        summary = json.loads((run / "summary.json").read_text())["normalized"]
        q = quality.get(label.removeprefix("iql-"), {})
        rewards = {"iql-true": "true", "bc": "none (BC)"}.get(label, label.removeprefix("iql-"))
        cell = lambda k, q=q: f"{q[k]:.3f}" if k in q else "-"  # noqa: E731
        lines.append(
            f"| {rewards} | {'bc' if label == 'bc' else 'iql'} | {summary['iqm']:.1f} [{summary['ci95'][0]:.1f}, "
            f"{summary['ci95'][1]:.1f}] | {cell('heldout_accuracy')} | {cell('true_accuracy')} | "
            f"{cell('reward_correlation')} | {seconds[label]:.0f} |"
        )
    pairs = [("iql-learned-clean", "iql-true"), ("iql-learned-noise20", "iql-true"), ("iql-learned-noise20", "bc")]
    found = [
        f"P({a} > {b}) = {probability[f'{a} > {b}']['value']:.2f} [{probability[f'{a} > {b}']['ci95'][0]:.2f}, "
        f"{probability[f'{a} > {b}']['ci95'][1]:.2f}]"
        for a, b in pairs
    ]
    lines += ["", "Probability of improvement over seeds (95% stratified-bootstrap CI): " + "; ".join(found) + "."]
    return "\n".join(lines) + "\n\n"


if __name__ == "__main__":
    raise SystemExit(main())
