"""`jaxrl-hybrid finetune`: offline pretraining then online fine-tuning, every seed in one program.

    jaxrl-hybrid finetune --algo wsrl --dataset pendulum-medium.hdf5 --pretrain-updates 10000 \
        --online-steps 20000 --num-seeds 16 --out runs/wsrl
    jaxrl-hybrid finetune --algo calql --dataset pendulum-medium.hdf5 \
        --init-from runs/wsrl/checkpoints/pretrain_10000 --online-steps 20000 --num-seeds 16 --out runs/calql

A run folder holds config.json, metrics.jsonl (pretraining evaluations with "phase":
"pretrain", then "phase": "online" from step 0), summary.json (per seed: start score, final
score, initial dip, AUC, with IQM and CIs), report.md + learning_curves.png, and
checkpoints/pretrain_<updates> (the agents after pretraining; `--init-from` resumes from it)
and checkpoints/online_<steps>.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Annotated, Literal

import tyro

from jaxrl_hybrid.agents.registry import FINETUNE_METHODS
from jaxrl_hybrid.cli.options import (
    RunOptions,
    check_out_early,
    critic_loss_from,
    eval_every_or_default,
    out_or_default,
    pairs,
    positive,
    reward_scale_from,
    run_arguments,
)

if TYPE_CHECKING:  # JAX is imported only when a command runs (`--help` stays fast)
    from jaxrl_hybrid.training.finetune import FinetuneConfig

Method = Literal[FINETUNE_METHODS]  # agents.registry: the one list of methods


@dataclasses.dataclass
class Finetune(RunOptions):
    """Offline-to-online: pretrain on --dataset, then fine-tune online in the dataset's env.

    wsrl: Cal-QL/CQL pretraining, SAC online without the offline data after a frozen-policy
    warm-up. calql, cql, iql: the same algorithm online with 50/50 offline/online batches.
    moorl: a Reptile meta-policy over the offline and online buffers. iqlearn: online IQ-Learn
    imitating the dataset's demonstrations (no rewards read). sac: SAC from scratch.
    """

    algo: Method = "wsrl"
    dataset: str | None = None
    """offline dataset (HDF5 file, Minari folder or id); its metadata names the env"""
    env: str | None = None
    """env to fine-tune and evaluate in: for data that names none, or overriding the recorded one
    (the data's shapes must fit it)"""
    pretrain_updates: int | None = None
    """offline updates; default 10000 (0 for sac, moorl and iqlearn, which start from scratch)"""
    online_steps: int = 20_000
    """online env steps per seed, warm-up included"""
    num_seeds: int = 8
    seed: int = 0
    out: str | None = None
    """run folder; default runs/finetune_<algo>_s<seed>"""
    overwrite: bool = False
    init_from: str | None = None
    """skip pretraining: start from saved agents (runs/x/checkpoints/pretrain_<updates>, or an offline
    `train` run's checkpoints/ folder)"""
    pretrain_algo: Literal["calql", "cql"] | None = None
    """wsrl and moorl: the offline algorithm pretrained (default calql for wsrl)"""
    eval_every: int | None = None
    """online env steps between evaluations; default a tenth of --online-steps"""
    pretrain_eval_every: int | None = None
    """offline updates between evaluations; default a fifth of --pretrain-updates"""
    num_eval_episodes: int = 10
    warmup_steps: int | None = None
    """online steps before the first update; default wsrl 5000 (frozen policy), sac 1000 (random),
    iqlearn 1000 (its own policy), else 0"""
    offline_fraction: float = 0.5
    """calql / cql / iql: share of offline rows in every online minibatch"""
    reward_scale: str | None = None
    """multiply offline and online rewards alike by none | return_range | a number; default the
    pretrained algorithm's (iql: return_range, else none)"""
    normalize_observations: bool | None = None
    """train on observations normalised by the offline data's statistics, offline and online (the
    agent normalises; buffers stay raw); default the pretrained algorithm's (off for all)"""
    hidden_dims: tuple[int, ...] | None = None
    """network widths; default 256 256"""
    num_critics: int | None = None
    """critic ensemble size; default wsrl 10 (min over a random 2), else 2"""
    layer_norm: bool | None = None
    """LayerNorm in the critic; default on for wsrl"""
    batch_size: int | None = None
    """pretraining minibatch; default 256"""
    online_batch_size: int | None = None
    """rows per online critic step; default wsrl 256 (x UTD 4: the paper's batch of 1024, whose actor step
    takes all of it), else --batch-size"""
    utd: int | None = None
    """online critic updates per env step; default wsrl 4, else 1"""
    num_actions: int | None = None
    """CQL / Cal-QL sampled actions per set; default 10"""
    critic_out_init: float | None = None
    """SAC family (wsrl, calql, cql, sac, moorl): the critics' output-layer init scale (std / sqrt(fan_avg));
    default 1, Cal-QL (and wsrl's Cal-QL) 0.07, its reference code's (see agents.sac.config.SACConfig)"""
    critic_loss: Literal["mse", "huber", "hl_gauss", "two_hot"] = "mse"
    num_bins: int = 101
    v_min: float | None = None
    v_max: float | None = None
    buffer_size: int = 100_000
    moorl_inner_steps: int = 2
    moorl_meta_lr: float = 0.5
    demo_episodes: int | None = None
    """use only the dataset's first N episodes (iqlearn: a handful of demonstrations)"""
    hparam: Annotated[tuple[str, ...], tyro.conf.UseAppendAction] = ()
    """traced hyperparameter NAME=VALUE (repeatable), e.g. actor_lr=1e-4"""


def wsrl_defaults() -> dict:
    """CLI names of WSRL's paper settings (training.finetune.WSRL_CRITICS; WSRL_ONLINE applies itself)."""
    from jaxrl_hybrid.training.finetune import WSRL_CRITICS

    return {"num_critics": WSRL_CRITICS["num_critics"], "layer_norm": WSRL_CRITICS["critic_layer_norm"]}


def check_counts(args: Finetune) -> None:
    """Every count flag is a positive integer (0 is refused by name, never read as a default)."""
    for flag in ("online_steps", "num_seeds", "num_eval_episodes", "eval_every", "pretrain_eval_every", "utd",
                 "batch_size", "online_batch_size", "num_critics", "num_bins", "buffer_size",
                 "demo_episodes"):  # fmt: skip
        positive(getattr(args, flag), "--" + flag.replace("_", "-"))
    for flag in ("pretrain_updates", "warmup_steps"):
        positive(getattr(args, flag), "--" + flag.replace("_", "-"), minimum=0)


def build_finetune_config(args: Finetune, dataset) -> FinetuneConfig:
    """FinetuneConfig from CLI arguments, with each method's defaults filled in."""
    from jaxrl_hybrid.agents import CalQLConfig, CQLConfig, IQLConfig, IQLearnConfig, SACConfig
    from jaxrl_hybrid.training.finetune import FinetuneConfig

    check_counts(args)
    method = args.algo
    if args.pretrain_algo is not None and method not in ("wsrl", "moorl"):
        raise ValueError(f"--pretrain-algo is for wsrl and moorl; --algo {method} pretrains {method}")
    if args.num_actions is not None and method not in ("wsrl", "calql", "cql", "moorl"):
        raise ValueError(f"--num-actions is a CQL / Cal-QL setting; --algo {method} samples no actions")
    pretrain_updates = args.pretrain_updates
    if pretrain_updates is None:
        pretrain_updates = 0 if method in ("sac", "moorl", "iqlearn") and args.pretrain_algo is None else 10_000
    if method == "iqlearn" and args.critic_loss != "mse":
        raise ValueError(
            f"--critic-loss {args.critic_loss}: --algo iqlearn's soft Q minimises its own inverse objective, "
            "not a regression or classification loss"
        )
    pretrained = {"wsrl": args.pretrain_algo or "calql", "moorl": args.pretrain_algo}.get(method, method)
    if pretrain_updates and pretrained in (None, "sac"):
        raise ValueError(f"--algo {method} starts from scratch: pass --pretrain-updates 0 (or --pretrain-algo)")
    cfg_cls = {"calql": CalQLConfig, "cql": CQLConfig, "iql": IQLConfig, "iqlearn": IQLearnConfig}.get(
        pretrained, SACConfig
    )
    defaults = wsrl_defaults() if method == "wsrl" else {}

    def pick(name, fallback):
        value = getattr(args, name)
        return value if value is not None else defaults.get(name, fallback)

    fields = {f.name for f in dataclasses.fields(cfg_cls)}
    if args.critic_out_init is not None and "critic_out_init" not in fields:
        raise ValueError(f"--critic-out-init is a SAC-family setting; --algo {method} pretrains {pretrained}")
    num_critics = pick("num_critics", 2)
    env = args.env or dataset.metadata.get("env") or ""
    given = {
        "hidden_dims": pick("hidden_dims", (256, 256)),
        "num_critics": num_critics,
        "num_min_critics": min(2, num_critics),
        "critic_layer_norm": bool(pick("layer_norm", False)),
        "num_actions": args.num_actions,
        "critic_out_init": args.critic_out_init,
        "critic_loss": critic_loss_from(args, env),
    }
    agent = cfg_cls(**{k: v for k, v in given.items() if k in fields and v is not None})
    return FinetuneConfig(
        method=method,
        agent=agent,
        pretrain_updates=pretrain_updates,
        pretrain_eval_every=args.pretrain_eval_every,
        online_steps=args.online_steps,
        eval_every=eval_every_or_default(args.eval_every, args.online_steps),
        warmup_steps=args.warmup_steps,
        batch_size=pick("batch_size", 256),
        online_batch_size=args.online_batch_size,
        online_utd=args.utd,
        offline_fraction=args.offline_fraction,
        reward_scale=reward_scale_from(args.reward_scale),
        normalize_observations=args.normalize_observations,
        buffer_size=args.buffer_size,
        num_eval_episodes=args.num_eval_episodes,
        moorl_inner_steps=args.moorl_inner_steps,
        moorl_meta_lr=args.moorl_meta_lr,
        dataset=args.dataset,
        demo_episodes=args.demo_episodes,
        env=args.env,
    )


def finetune(args: Finetune) -> dict:
    if args.dataset is None:
        raise ValueError("finetune needs --dataset FILE (its metadata names the env to fine-tune in)")
    check_counts(args)  # these before JAX is imported or the dataset read
    check_out_early(args, args.out)
    if args.env is not None:
        from jaxrl_hybrid.envs.names import check_env_name

        check_env_name(args.env, "--env")
    from jaxrl_hybrid.data import load
    from jaxrl_hybrid.experiment import run_finetune

    dataset = load(args.dataset)
    config = build_finetune_config(args, dataset)
    overrides = dict(pairs(args.hparam, "hparam"))
    summary = run_finetune(
        config,
        dataset=dataset,
        out=out_or_default(args.out, f"runs/finetune_{args.algo}_s{args.seed}"),
        init_from=args.init_from,
        hparams_overrides=overrides,
        **run_arguments(args),
    )
    if "process" in summary:
        print(f"process {summary['process']}: its seeds are done; process 0 writes the run folder")
        return summary
    print(format_summary(summary))
    print(f"summary: {summary['out']}/summary.json  report: {summary['out']}/report.md")
    return summary


def format_summary(summary: dict) -> str:
    parts = [f"{summary['method']} over {summary['num_seeds']} seeds ({summary['score']}, IQM [95% CI]):"]
    for key in ("start_score", "final_score", "initial_dip", "auc"):
        s = summary[key]
        if s["iqm"] is None:
            parts.append(f"{key} -- (every seed diverged)")
        else:
            parts.append(f"{key} {s['iqm']:.1f} [{s['ci95'][0]:.1f}, {s['ci95'][1]:.1f}]")
    return "  ".join(parts)
