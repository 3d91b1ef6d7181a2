"""`jaxrl-hybrid sweep FILE`: a grid of runs from one TOML or YAML file.

    # sac_pendulum.toml
    command = "train"              # train | hybrid
    num_seeds = 8
    seed = 0

    [options]                      # the command's options, as on its command line
    algo = "sac"
    env = "gymnax:Pendulum-v1"
    total_steps = 20000

    [grid]                         # lists of values to sweep
    actor_lr = [1e-3, 3e-4]        # a traced hyperparameter: vmapped with the seeds, one program
    critic_lr = [1e-3, 3e-4]
    critic_loss = ["mse", "hl_gauss"]   # an option (static): one program per value, run in turn

    jaxrl-hybrid sweep sac_pendulum.toml --out runs/sac_sweep

Every static combination is one run folder under --out (named after its values) holding all
seeds x traced settings; then `report/` compares them all. `--resume` skips finished folders
and continues an interrupted one from its checkpoint.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import sys
from pathlib import Path
from typing import Any

import tyro

from jaxrl_hybrid.cli.options import RunOptions, out_or_default
from jaxrl_hybrid.logging.run_dir import dumps

TOP_LEVEL = {"command", "num_seeds", "seed", "options", "grid", "name"}


@dataclasses.dataclass
class Sweep(RunOptions):
    """Run a sweep file: seeds x a grid of traced hyperparameters (one vmapped program per
    combination of static options), then compare every setting in report/."""

    file: tyro.conf.Positional[str] = ""
    out: str | None = None
    """sweep folder; default runs/<file name>"""
    overwrite: bool = False


def read_sweep_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such sweep file")
    text = path.read_text()
    if path.suffix == ".toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{path}: not valid TOML ({e})") from e
    elif path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ValueError(f"{path}: not valid YAML ({e})") from e
    else:
        raise ValueError(f"{path}: a sweep file ends in .toml, .yaml or .yml")
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a table of settings at the top level")
    unknown = sorted(set(data) - TOP_LEVEL)
    if unknown:
        raise ValueError(f"{path}: unknown top-level keys {unknown}; known: {sorted(TOP_LEVEL)}")
    return data


def _commands() -> dict[str, tuple[type, Any]]:
    """The commands a sweep can run: name -> (options class, the function that runs it)."""
    from jaxrl_hybrid.cli.hybrid import Hybrid, hybrid
    from jaxrl_hybrid.cli.train import Train, train

    return {"train": (Train, train), "hybrid": (Hybrid, hybrid)}


def _command(name: str, path: Path) -> type:
    commands = _commands()
    if name not in commands:
        raise ValueError(f"{path}: command = {name!r}; a sweep runs one of {sorted(commands)}")
    return commands[name][0]


def _hparams_class(command: str, options: dict):
    """The traced hyperparameters of the agent a `command` with these options trains."""
    from jaxrl_hybrid.agents import AGENTS
    from jaxrl_hybrid.agents.h2o import H2O

    if command == "hybrid":
        return H2O.HParams if options.get("method", "h2o") == "h2o" else AGENTS["sac"].HParams
    return AGENTS[options.get("algo", "sac")].HParams


def plan_sweep(data: dict, path: Path) -> tuple[type, list[dict[str, Any]], dict[str, list[float]], list[str]]:
    """(command class, one dict of options per static combination, traced grid name -> values,
    the names of the static grid axes)."""
    command = data.get("command", "train")
    cls = _command(command, path)
    fields = {f.name for f in dataclasses.fields(cls)} - {f.name for f in dataclasses.fields(RunOptions)}
    options = {k.replace("-", "_"): v for k, v in (data.get("options") or {}).items()}
    for key in options:
        if key not in fields or key in ("out", "hparam", "grid", "num_seeds", "seed"):
            raise ValueError(
                f"{path}: options.{key} is not an option of `{cls.__name__.lower()}`; known: {sorted(fields)}"
            )
    grid = {k.replace("-", "_"): v for k, v in (data.get("grid") or {}).items()}
    hp_fields = {f.name for f in dataclasses.fields(_hparams_class(command, options))}
    traced, static = {}, {}
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"{path}: grid.{key} must be a non-empty list of values")
        if key in hp_fields:
            try:
                traced[key] = [float(v) for v in values]
            except (TypeError, ValueError) as e:
                raise ValueError(f"{path}: grid.{key} is a traced hyperparameter; its values must be numbers") from e
        elif key in fields and key not in ("out", "hparam", "grid", "num_seeds", "seed"):
            static[key] = values
        else:
            raise ValueError(
                f"{path}: grid.{key} is neither a traced hyperparameter ({sorted(hp_fields)}) "
                f"nor an option of `{cls.__name__.lower()}`"
            )
    combos = [dict(zip(static, combo, strict=True)) for combo in itertools.product(*static.values())] or [{}]
    return cls, [{**options, **combo} for combo in combos], traced, list(static)


def slug(values: dict[str, Any]) -> str:
    """A folder name from static option values: critic_loss=hl_gauss,hidden_dims=64x64."""
    if not values:
        return "run"

    def text(v):
        return "x".join(str(x) for x in v) if isinstance(v, list | tuple) else str(v)

    name = ",".join(f"{k}={text(v)}" for k, v in values.items())
    return re.sub(r"[^A-Za-z0-9_.,=+x-]", "_", name)


def sweep(args: Sweep) -> dict:
    import jax

    from jaxrl_hybrid.report.compare import load_runs, write_comparison

    path = Path(args.file)
    data = read_sweep_file(path)
    cls, combos, traced, static_keys = plan_sweep(data, path)
    run = _commands()[data.get("command", "train")][1]
    out = Path(out_or_default(args.out, f"runs/{data.get('name') or path.stem}"))
    run_options = {f.name: getattr(args, f.name) for f in dataclasses.fields(RunOptions)}
    hparam_specs = tuple(f"{k}={','.join(repr(v) for v in vals)}" for k, vals in traced.items())
    num_settings = 1
    for vals in traced.values():
        num_settings *= len(vals)
    print(
        f"sweep {path}: {len(combos)} program(s) x {num_settings} traced setting(s) x {data.get('num_seeds', 8)} seeds",
        file=sys.stderr,
        flush=True,
    )
    folders = []
    for i, combo in enumerate(combos):
        static_values = {k: combo[k] for k in static_keys}
        folder = out / slug(static_values)
        folders.append(folder)
        if (folder / "summary.json").is_file() and args.resume:
            print(f"[{i + 1}/{len(combos)}] {folder}: finished before, kept", file=sys.stderr, flush=True)
            continue
        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in combo.items()}
        cmd_args = cls(
            **fields,
            **run_options,
            num_seeds=int(data.get("num_seeds", 8)),
            seed=int(data.get("seed", 0)),
            hparam=hparam_specs,
            out=str(folder),
            overwrite=args.overwrite,
        )
        print(f"[{i + 1}/{len(combos)}] {folder}", file=sys.stderr, flush=True)
        run(cmd_args)
    if jax.process_index() != 0:
        return {"out": str(out)}
    methods, score_name = load_runs([str(f) for f in folders])
    threshold = 100.0 if score_name == "normalized_score" else None
    # the sweep's own report folder, rewritten whenever the sweep (or its resume) finishes
    result = write_comparison(
        methods, out / "report", score_name, threshold, title=f"Sweep {path.name}", overwrite=True
    )
    record = {
        "file": str(path),
        "sweep": data,
        "programs": len(combos),
        "traced_settings": num_settings,
        "runs": [str(f) for f in folders],
    }
    (out / "sweep.json").write_text(dumps(record, indent=2))
    print(f"sweep report: {out / 'report' / 'report.md'}")
    return {"out": str(out), "comparison": result, **record}
