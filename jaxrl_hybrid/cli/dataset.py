"""`jaxrl-hybrid dataset generate | record | info | corrupt | label | fit-reward | relabel`: make,
record (Minari's DataCollector in a gymnasium env), inspect, corrupt and relabel offline datasets.

jaxrl-hybrid dataset generate --env gymnax:Pendulum-v1 --kind medium --size 100000 --out pendulum-medium.hdf5
jaxrl-hybrid dataset info pendulum-medium.hdf5 --json
jaxrl-hybrid dataset corrupt pendulum-medium.hdf5 --target rewards --kind random --out corrupted.hdf5
jaxrl-hybrid dataset label pendulum-medium.hdf5 --num-pairs 1000 --noise 0.2 --out labels.json
jaxrl-hybrid dataset fit-reward pendulum-medium.hdf5 --labels labels.json --out reward.msgpack
jaxrl-hybrid dataset relabel pendulum-medium.hdf5 --reward-model reward.msgpack --out learned.hdf5
jaxrl-hybrid dataset record --env gymnasium:HalfCheetah-v5 --policy random --episodes 10 \
    --dataset-id mujoco/halfcheetah/random-v0
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Annotated, Literal

import numpy as np
import tyro

from jaxrl_hybrid.cli.options import positive

Format = Literal["hdf5", "minari"]


@dataclasses.dataclass
class Generate:
    """Train SAC behaviour policies and roll them out into a dataset file (deterministic given --seed)."""

    kind: Literal["random", "medium", "expert", "medium-replay", "medium-expert"]
    size: int
    """number of transitions (medium-replay: at most this many, the tail of the replay)"""
    out: str
    """output file (.hdf5) or Minari dataset folder (with --format minari)"""
    env: str = "gymnax:Pendulum-v1"
    shift: str | None = None
    """named dynamics shift (jaxrl_hybrid.envs.shifts); the data comes from its --side"""
    side: Literal["real", "sim"] = "real"
    seed: int = 0
    format: Format = "hdf5"
    dataset_id: str | None = None
    """Minari dataset id (default: the folder's path under the Minari data path, else its name)"""
    train_steps: int | None = None
    """SAC steps for the behaviour policies; default per env (Pendulum 20000), else 200000"""
    snapshot_every: int | None = None
    """steps between policy snapshots (the medium candidates); default train_steps / 100"""
    hidden_dims: tuple[int, ...] = (256, 256)
    batch_size: int = 256
    learning_rate: float = 3e-4
    """SAC actor, critic and temperature learning rate"""
    num_snapshot_episodes: int = 20
    """episodes that score each snapshot (to pick the expert and the medium policy)"""
    num_reference_episodes: int = 100
    """episodes that measure the random and expert reference returns"""
    overwrite: bool = False


@dataclasses.dataclass
class Record:
    """Record a Minari dataset with Minari's own DataCollector in a gymnasium env (a random or a
    briefly trained SAC policy), under the local Minari data path (MINARI_DATASETS_PATH), so that
    `--dataset <id>` loads it by id as it would a downloaded one."""

    env: str
    """gymnasium:<id>, e.g. gymnasium:HalfCheetah-v5"""
    dataset_id: str
    """Minari id, e.g. mujoco/halfcheetah/random-v0"""
    policy: Literal["random", "medium", "expert"] = "random"
    """random: uniform actions; medium / expert: SAC trained for --train-steps, snapshots picked as `generate` does"""
    episodes: int = 10
    seed: int = 0
    train_steps: int | None = None
    """SAC steps for medium / expert (default per env: jaxrl_hybrid.training.collect)"""
    hidden_dims: tuple[int, ...] = (256, 256)
    num_snapshot_episodes: int = 5
    """episodes that score each SAC snapshot (gymnasium steps on the host: kept small)"""
    num_reference_episodes: int = 10
    overwrite: bool = False


@dataclasses.dataclass
class Info:
    """Size, episodes, returns, normalised score, env and shift of a dataset."""

    file: tyro.conf.Positional[str]
    """HDF5 file, Minari folder or local Minari dataset id"""
    json: bool = False
    """print one JSON object instead of text"""


@dataclasses.dataclass
class Corrupt:
    """Corrupt a fraction of one field of a dataset (RIQL's random or adversarial attacks)."""

    file: tyro.conf.Positional[str]
    out: str
    target: Literal["observations", "actions", "rewards", "dynamics"] = "observations"
    kind: Literal["random", "adversarial"] = "random"
    rate: float = 0.3
    scale: float = 1.0
    seed: int = 0
    format: Format = "hdf5"
    overwrite: bool = False
    attack_train_steps: int | None = None
    """adversarial: SAC steps that pretrain the attacked critic on the dataset's env (default per env)"""
    attack_steps: int = 100
    """adversarial: projected gradient steps per corrupted row"""
    step_size: float = 0.01
    """adversarial: step of each projected gradient step, as a fraction of --scale"""


@dataclasses.dataclass
class Label:
    """Label random pairs of segments of a dataset by their true return, flipping a share at random:
    the scripted stand-in for a human or VLM labeller. Writes a labels file (JSON or CSV) that
    `fit-reward` reads; a labels file made by any other labeller, same layout, works the same."""

    file: tyro.conf.Positional[str]
    out: str
    """labels file, .json or .csv"""
    num_pairs: int = 1000
    segment_length: int = 25
    """rows per segment, inside one episode"""
    noise: float = 0.0
    """probability that each decided label is flipped (0.2: one label in five wrong)"""
    seed: int = 0
    overwrite: bool = False


@dataclasses.dataclass
class FitReward:
    """Fit a Bradley-Terry reward model (an ensemble of MLPs r(s, a)) to a labels file of segment
    pairs of a dataset; report its preference accuracy on held-out pairs."""

    file: tyro.conf.Positional[str]
    labels: str
    """labels file (`dataset label`, or any JSON/CSV of the same layout)"""
    out: str
    """reward model file"""
    holdout: float = 0.2
    """share of the pairs kept out of training to measure accuracy"""
    epochs: int = 50
    hidden_dims: tuple[int, ...] = (256, 256)
    num_members: int = 3
    seed: int = 0
    overwrite: bool = False


@dataclasses.dataclass
class Relabel:
    """Write a dataset with every reward replaced by a learned reward model's r(s, a); any offline
    agent then trains on it (scores stay in the env's own rewards)."""

    file: tyro.conf.Positional[str]
    reward_model: str
    """reward model file (`dataset fit-reward`)"""
    out: str
    format: Format = "hdf5"
    overwrite: bool = False


DatasetCommand = (
    Annotated[Generate, tyro.conf.subcommand("generate")]
    | Annotated[Record, tyro.conf.subcommand("record")]
    | Annotated[Info, tyro.conf.subcommand("info")]
    | Annotated[Corrupt, tyro.conf.subcommand("corrupt")]
    | Annotated[Label, tyro.conf.subcommand("label")]
    | Annotated[FitReward, tyro.conf.subcommand("fit-reward")]
    | Annotated[Relabel, tyro.conf.subcommand("relabel")]
)


def generate(args: Generate) -> dict:
    from jaxrl_hybrid.data import save
    from jaxrl_hybrid.training.collect import CollectConfig
    from jaxrl_hybrid.training.collect import generate as generate_dataset

    _check_out(args.out, args.overwrite)
    _check_env_name(args.env, "--env")
    for flag, value, least in (
        ("--size", args.size, 1),
        ("--train-steps", args.train_steps, 0),
        ("--snapshot-every", args.snapshot_every, 1),
        ("--batch-size", args.batch_size, 1),
        ("--num-snapshot-episodes", args.num_snapshot_episodes, 1),
        ("--num-reference-episodes", args.num_reference_episodes, 1),
    ):
        positive(value, flag, least)
    if args.learning_rate <= 0:
        raise ValueError(f"--learning-rate {args.learning_rate}: expected a positive number")
    if args.kind != "random" and args.train_steps == 0:
        raise ValueError(f"--kind {args.kind} needs trained behaviour policies; --train-steps 0 only allows random")
    if args.shift is not None:
        from jaxrl_hybrid.envs.shifts import get_shift

        get_shift(args.shift)  # an unknown name fails here, before any training
    config = CollectConfig(
        env=args.env,
        shift=args.shift,
        side=args.side,
        train_steps=args.train_steps,
        snapshot_every=args.snapshot_every,
        hidden_dims=args.hidden_dims,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        num_snapshot_episodes=args.num_snapshot_episodes,
        num_reference_episodes=args.num_reference_episodes,
    )
    dataset = generate_dataset(config, args.kind, args.size, seed=args.seed)
    path = save(dataset, args.out, format=args.format, overwrite=args.overwrite, dataset_id=args.dataset_id)
    summary = describe(dataset, str(path))
    print(_format(summary))
    return summary


def record(args: Record) -> dict:
    from jaxrl_hybrid.data import load
    from jaxrl_hybrid.training.collect import CollectConfig
    from jaxrl_hybrid.training.collect.minari_record import record_minari

    _check_env_name(args.env, "--env")
    for flag, value, least in (
        ("--episodes", args.episodes, 1),
        ("--train-steps", args.train_steps, 1),
        ("--num-snapshot-episodes", args.num_snapshot_episodes, 1),
        ("--num-reference-episodes", args.num_reference_episodes, 1),
    ):
        positive(value, flag, least)
    config = None
    if args.policy != "random":
        config = CollectConfig(
            env=args.env,
            train_steps=args.train_steps,
            hidden_dims=args.hidden_dims,
            num_snapshot_episodes=args.num_snapshot_episodes,
            num_reference_episodes=args.num_reference_episodes,
            max_rollout_envs=8,
        )
    path = record_minari(
        args.env, args.dataset_id, args.policy, args.episodes, args.seed, collect_config=config,
        overwrite=args.overwrite,
    )  # fmt: skip
    summary = describe(load(args.dataset_id), str(path))
    print(_format(summary))
    return summary


def describe(dataset, source: str) -> dict:
    """The facts `dataset info` prints."""
    from jaxrl_hybrid.data import episode_returns, normalized_score

    meta = dataset.metadata
    returns = episode_returns(dataset)
    out = {
        "source": source,
        "size": dataset.size,
        "episodes": dataset.num_episodes,
        "terminals": int(np.asarray(dataset.terminals).sum()),
        "timeouts": int(np.asarray(dataset.timeouts).sum()),
        "return_mean": float(returns.mean()),
        "return_min": float(returns.min()),
        "return_max": float(returns.max()),
        "normalized_score": None,
        "env": meta.get("env"),
        "shift": meta.get("shift"),
        "side": meta.get("side"),
        "kind": meta.get("kind"),
        "gamma": dataset.gamma,
        "obs_shape": list(dataset.observations.shape[1:]),
        "action_shape": list(dataset.actions.shape[1:]),
        "reference_returns": meta.get("reference_returns"),
        "corruption": meta.get("corruption"),
        "reward_model": meta.get("reward_model"),
    }
    out["env_mismatch"] = []
    if meta.get("env"):
        from jaxrl_hybrid.data.dataset import env_mismatches
        from jaxrl_hybrid.envs import make_env

        try:
            env, _ = make_env(meta["env"])
        except ValueError as e:
            out["env_mismatch"] = [f"the env cannot be made ({e})"]
        else:
            out["env_mismatch"] = env_mismatches(dataset, env.spec)
    refs = meta.get("reference_returns") or {}
    if "random" in refs and "expert" in refs and not out["reward_model"]:  # learned rewards are not the env's
        out["normalized_score"] = float(normalized_score(returns.mean(), refs["random"], refs["expert"]))
    return out


def _format(info: dict) -> str:
    lines = [f"{info['source']}"]
    lines.append(f"  transitions {info['size']}, episodes {info['episodes']} "
                 f"(terminals {info['terminals']}, timeouts {info['timeouts']})")  # fmt: skip
    lines.append(
        f"  episode return mean {info['return_mean']:.2f}, min {info['return_min']:.2f}, max {info['return_max']:.2f}"
    )
    score, learned = info["normalized_score"], info.get("reward_model")
    why = "the rewards are learned, not the env's" if learned else "no reference returns stored"
    lines.append("  normalised score " + (f"{score:.1f}" if score is not None else f"unavailable ({why})"))
    if learned:
        accuracy = learned.get("heldout_accuracy")
        lines.append(f"  rewards from the reward model {learned.get('file')}"
                     + (f" (held-out preference accuracy {accuracy:.3f})" if accuracy is not None else ""))  # fmt: skip
    shift = f", shift {info['shift']} ({info['side']} side)" if info["shift"] else ""
    lines.append(f"  env {info['env'] or 'unknown'}{shift}, kind {info['kind'] or 'unknown'}, gamma {info['gamma']}")
    lines.append(f"  observations {info['obs_shape']}, actions {info['action_shape']}")
    for problem in info.get("env_mismatch") or []:
        lines.append(f"  MISMATCH with {info['env']}: {problem}")
    for c in info["corruption"] or []:
        lines.append(f"  corrupted: {c['kind']} {c['target']} on {c['num_corrupted']} rows (rate {c['rate']}, "
                     f"scale {c['scale']})")  # fmt: skip
    return "\n".join(lines)


def info(args: Info) -> dict:
    from jaxrl_hybrid.data import load

    summary = describe(load(args.file), args.file)
    print(json.dumps(summary, sort_keys=True) if args.json else _format(summary))
    if summary["env_mismatch"]:
        print(f"jaxrl-hybrid: warning: {args.file} does not fit {summary['env']}: "
              + "; ".join(summary["env_mismatch"]), file=sys.stderr)  # fmt: skip
    return summary


def corrupt(args: Corrupt) -> dict:
    import jax

    from jaxrl_hybrid.data import corrupt as corrupt_dataset
    from jaxrl_hybrid.data import load, save

    _check_out(args.out, args.overwrite)
    dataset = load(args.file)
    key = jax.random.PRNGKey(args.seed)
    critic = policy = None
    if args.kind == "adversarial" and args.target != "rewards":
        critic, policy = _pretrained_attacker(dataset, args)
    corrupted = corrupt_dataset(
        dataset,
        key,
        target=args.target,
        kind=args.kind,
        rate=args.rate,
        scale=args.scale,
        critic=critic,
        policy=policy,
        attack_steps=args.attack_steps,
        step_size=args.step_size,
    )
    path = save(corrupted, args.out, format=args.format, overwrite=args.overwrite)
    summary = describe(corrupted, str(path))
    print(_format(summary))
    return summary


def _pretrained_attacker(dataset, args: Corrupt):
    """SAC trained online on the dataset's own env and dynamics: its critic and policy."""
    import jax

    from jaxrl_hybrid.training.collect import CollectConfig, q_and_policy, train_sac

    meta = dataset.metadata
    if not meta.get("env"):
        raise ValueError(
            f"{args.file}: adversarial corruption pretrains the attacked critic on the dataset's env, "
            "but the file's metadata names no env ('env')"
        )
    config = CollectConfig(
        env=meta["env"], shift=meta.get("shift"), side=meta.get("side") or "real", train_steps=args.attack_train_steps
    )
    run = train_sac(config, jax.random.fold_in(jax.random.PRNGKey(args.seed), 1))
    return q_and_policy(run.agent, run.final_state)


def label(args: Label) -> dict:
    import jax

    from jaxrl_hybrid.data import load
    from jaxrl_hybrid.data.preferences import ScriptedLabeller, label_pairs, sample_pairs, save_labels

    _check_out(args.out, args.overwrite)
    positive(args.num_pairs, "--num-pairs")
    positive(args.segment_length, "--segment-length")
    if not 0.0 <= args.noise <= 1.0:
        raise ValueError(f"--noise {args.noise}: expected a probability in [0, 1]")
    dataset = load(args.file)
    pairs = sample_pairs(dataset, jax.random.PRNGKey(args.seed), args.num_pairs, args.segment_length)
    pairs = label_pairs(dataset, pairs, ScriptedLabeller(args.noise, seed=args.seed))
    path = save_labels(pairs, args.out, dataset, overwrite=args.overwrite)
    summary = {"labels": str(path), "pairs": len(pairs), "segment_length": args.segment_length,
               "noise": args.noise, "ties": int(np.sum(pairs.labels == 0.5))}  # fmt: skip
    print(json.dumps(summary))
    return summary


def fit_reward(args: FitReward) -> dict:
    import jax

    from jaxrl_hybrid.data import fingerprint, load
    from jaxrl_hybrid.data.preferences import load_labels, preference_batch
    from jaxrl_hybrid.models.reward import RewardModelConfig, fit_reward_model, preference_accuracy, save_reward_model

    _check_out(args.out, args.overwrite)
    if not 0.0 < args.holdout < 1.0:
        raise ValueError(f"--holdout {args.holdout}: expected a share in (0, 1)")
    config = RewardModelConfig(hidden_dims=args.hidden_dims, num_members=args.num_members, epochs=args.epochs)
    dataset = load(args.file)
    pairs = load_labels(args.labels, dataset)
    order = np.random.default_rng(args.seed).permutation(len(pairs))
    n_hold = int(round(len(pairs) * args.holdout))
    if n_hold < 1 or n_hold >= len(pairs):
        raise ValueError(
            f"{args.labels}: {len(pairs)} pairs leave no training or held-out pairs at --holdout {args.holdout}"
        )
    train, held = pairs.take(order[n_hold:]), pairs.take(order[:n_hold])
    meta = dataset.metadata
    discrete = np.issubdtype(np.asarray(dataset.actions).dtype, np.integer)
    num_actions = None
    if discrete:  # one-hot over the env's actions (the data may never take the last one)
        from jaxrl_hybrid.envs import make_env

        env = meta.get("env")
        num_actions = make_env(env)[0].spec.action_dim if env else int(np.asarray(dataset.actions).max()) + 1
    fit = jax.jit(fit_reward_model, static_argnums=(1, 3))
    model, history = fit(jax.random.PRNGKey(args.seed), config, preference_batch(dataset, train), num_actions)
    held_batch = preference_batch(dataset, held)
    decided = np.asarray(held.labels) != 0.5
    accuracy = preference_accuracy(model, held_batch) if decided.any() else None
    summary = {
        "reward_model": args.out,
        "dataset": args.file,
        "dataset_fingerprint": fingerprint(dataset),
        "env": meta.get("env"),
        "labels": args.labels,
        "train_pairs": len(train),
        "heldout_pairs": len(held),
        "heldout_accuracy": accuracy,
        "final_train_loss": float(np.asarray(history["train_loss"])[-1]),
        "segment_length": pairs.segment_length,
        "config": dataclasses.asdict(config),
    }
    save_reward_model(model, args.out, summary, overwrite=args.overwrite)
    print(json.dumps(summary))
    return summary


def relabel(args: Relabel) -> dict:
    from jaxrl_hybrid.data import load, save
    from jaxrl_hybrid.data.preferences import relabel as relabel_dataset
    from jaxrl_hybrid.models.reward import load_reward_model, predict_reward

    _check_out(args.out, args.overwrite)
    model, model_meta = load_reward_model(args.reward_model)
    dataset = load(args.file)
    obs_shape, actions = tuple(dataset.observations.shape[1:]), np.asarray(dataset.actions)
    if tuple(model.obs_mean.shape) != obs_shape:
        raise ValueError(
            f"{args.reward_model}: the model reads observations of shape {tuple(model.obs_mean.shape)}, "
            f"{args.file} has {obs_shape}"
        )
    discrete = np.issubdtype(actions.dtype, np.integer)
    if (model.num_actions is not None) != discrete or (discrete and actions.max() >= model.num_actions):
        raise ValueError(
            f"{args.reward_model}: the model's actions ({model.num_actions or 'continuous'}) do not fit {args.file}'s"
        )
    provenance = {
        "file": args.reward_model,
        **{k: model_meta.get(k) for k in ("dataset", "labels", "heldout_accuracy")},
    }
    import jax

    relabelled = relabel_dataset(dataset, jax.jit(lambda o, a: predict_reward(model, o, a)), provenance)
    path = save(relabelled, args.out, format=args.format, overwrite=args.overwrite)
    summary = describe(relabelled, str(path))
    print(_format(summary))
    return summary


def _check_out(out: str, overwrite: bool) -> None:
    """Fail before any training if the output exists (the save would refuse it anyway) or
    cannot be created."""
    from pathlib import Path

    if not out.strip():
        raise ValueError("--out '': expected a file path")
    if Path(out).exists() and not overwrite:
        raise FileExistsError(f"--out {out}: already exists; pass --overwrite to replace it")
    from jaxrl_hybrid.logging.run_dir import check_creatable

    check_creatable(Path(out))


def _check_env_name(name: str, flag: str) -> None:
    from jaxrl_hybrid.envs.registry import check_env_name

    check_env_name(name, flag)


def run(args) -> dict:
    commands = {Generate: generate, Record: record, Info: info, Corrupt: corrupt, Label: label, FitReward: fit_reward,
                Relabel: relabel}  # fmt: skip
    if type(args) in commands:
        return commands[type(args)](args)
    raise TypeError(f"not a dataset command: {type(args).__name__}")
