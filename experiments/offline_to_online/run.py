"""The default experiment (`make run`): offline-to-online fine-tuning on a dynamics-shifted Pendulum.

    .venv/bin/python experiments/offline_to_online/run.py            # writes runs/default/report.md

1. Data (cached in runs/data/): a "real" Pendulum whose pole is heavier than the simulator's
   (shift `pendulum-heavy-pole`: mass 1.6 instead of 1.0). A behaviour SAC is trained in it and
   its medium snapshot (a third of the expert's normalised score) is rolled out into
   10,000 transitions; the file is reused while its generation settings are unchanged.
2. Cal-QL is pretrained on that data, 16 seeds in one vmapped program, and saved.
3. Three ways to spend the same online budget in the real env, 16 seeds each:
   - WSRL: the Cal-QL weights in SAC, offline data dropped, a frozen-policy warm-up, then
     online updates at UTD 4;
   - Cal-QL fine-tuning that keeps the offline data (50/50 batches, penalty kept);
   - SAC from scratch (random warm-up).
   WSRL and Cal-QL start from the same saved pretrained agents (`--init-from`).
4. runs/default/report.md: IQM and 95% bootstrap CI of the start score, final score,
   initial dip and AUC per method, and learning_curves.png with CI bands.

The settings are scaled for a 2-core CPU (about 10 minutes): 64x64 networks, batch 64, Cal-QL with
4 sampled actions per set, WSRL with a 1,000-step warm-up and 2 critics, 5,000 online steps.
The papers use 256x256 networks, 1M-step budgets, WSRL with 10 LayerNorm critics, batch 1024
and a 5,000-step warm-up; `jaxrl-hybrid finetune` has those as its defaults.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

SHIFT = "pendulum-heavy-pole"
DATA_SETTINGS = {
    "env": "gymnax:Pendulum-v1",
    "shift": SHIFT,
    "side": "real",
    "kind": "medium",
    "size": 10_000,
    "seed": 0,
    "behaviour": {"train_steps": 6000, "hidden_dims": [64, 64], "batch_size": 128, "learning_rate": 1e-3},
}
AGENT = {"hidden_dims": (64, 64)}
BATCH_SIZE = 64
PRETRAIN_UPDATES = 3000
ONLINE = {"online_steps": 5000, "eval_every": 500, "num_eval_episodes": 10, "buffer_size": 10_000}
WSRL = {"warmup_steps": 1000, "online_utd": 4, "online_batch_size": BATCH_SIZE}
SAC_WARMUP = 1000
LABELS = {"wsrl": "WSRL (no offline data)", "calql": "Cal-QL (keeps data, 50/50)", "sac": "SAC from scratch"}


def dataset_path(data_dir: Path) -> Path:
    """The cached dataset, regenerated when missing or made with other settings."""
    from jaxrl_hybrid.training.collect import cached_dataset

    return cached_dataset(data_dir / f"{SHIFT}-real-medium.hdf5", DATA_SETTINGS, stream=sys.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/default")
    parser.add_argument("--data-dir", default="runs/data")
    parser.add_argument("--num-seeds", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import dataclasses

    from jaxrl_hybrid.agents import CalQLConfig, SACConfig
    from jaxrl_hybrid.data import load
    from jaxrl_hybrid.experiment import run_finetune
    from jaxrl_hybrid.logging import RunDir
    from jaxrl_hybrid.report.finetune import table, write_finetune_report
    from jaxrl_hybrid.training.finetune import FinetuneConfig

    t0 = time.perf_counter()
    data_file = dataset_path(Path(args.data_dir))
    dataset = load(data_file)
    out = RunDir(args.out, overwrite=True)  # replaced only when everything below has finished
    calql = CalQLConfig(num_actions=4, **AGENT)
    common = dict(seed=args.seed, num_seeds=args.num_seeds, dataset=dataset)
    runs = {}

    def run(method, config, **kw):
        print(f"\n== {LABELS[method]} ==", flush=True)
        summary = run_finetune(config, out=str(out.staging / method), **common, **kw)
        runs[LABELS[method]] = Path(summary["out"])

    base = FinetuneConfig(
        method="calql", agent=calql, pretrain_updates=PRETRAIN_UPDATES, batch_size=BATCH_SIZE, **ONLINE
    )
    run("calql", base)  # pretrains and saves checkpoints/pretrained
    pretrained = str(runs[LABELS["calql"]] / "checkpoints" / f"pretrain_{PRETRAIN_UPDATES}")
    run("wsrl", dataclasses.replace(base, method="wsrl", **WSRL), init_from=pretrained)
    sac = SACConfig(**AGENT)
    run("sac", dataclasses.replace(base, method="sac", agent=sac, pretrain_updates=0, warmup_steps=SAC_WARMUP))

    refs = dataset.metadata["reference_returns"]
    notes = (
        f"Data: {DATA_SETTINGS['size']} transitions of a medium SAC policy in the real `{SHIFT}` Pendulum "
        f"(pole mass 1.6; the simulator's is 1.0), `{data_file}`. Scores are normalised by the data's reference "
        f"returns (random {refs['random']:.0f}, expert {refs['expert']:.0f}). "
        f"Cal-QL pretrained {PRETRAIN_UPDATES} updates (64x64, batch 64, 4 sampled actions per set); "
        f"online {ONLINE['online_steps']} env steps per seed, evaluated every {ONLINE['eval_every']} steps on "
        f"{ONLINE['num_eval_episodes']} episodes. WSRL: {WSRL['warmup_steps']} frozen-policy warm-up steps, "
        f"UTD {WSRL['online_utd']}; Cal-QL: UTD 1, 50/50 batches; SAC: {SAC_WARMUP} random warm-up steps, UTD 1. "
        f"Per-method run folders (metrics.jsonl, summary.json, checkpoints) are beside this report. "
        f"Total wall time {time.perf_counter() - t0:.0f} s."
    )
    report = write_finetune_report(runs, out.staging, f"Offline-to-online on the {SHIFT} Pendulum", notes)
    final = out.commit()
    for label, path in list(runs.items()):
        runs[label] = final / path.name
    print("\n" + table(runs))
    print(f"\nreport: {final / report.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
