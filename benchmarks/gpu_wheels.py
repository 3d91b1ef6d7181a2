"""Download the wheels that `benchmarks/gpu.sh` installs on a GPU machine that has no network.

The GPU machine has its own Python 3.12 with jax 0.11.2 and its CUDA plugin, numpy, scipy,
matplotlib, h5py, tensorstore and the other compiled packages. What the benchmark imports
beyond that travels as wheels, at the versions this project pins:

- `<dest>/ours`: the packages our CLI's SAC and PQN programs and `benchmarks/updates.py`
  import that the image lacks, plus the pure-Python JAX libraries at uv.lock's versions (flax,
  optax, chex, orbax-checkpoint), so that only jax itself differs from the lock.
- `<dest>/rejax`: rejax 0.1.3 and what it imports, at benchmarks/peers/requirements-rejax.txt's
  versions; installed into its own folder, because rejax needs gymnax 0.0.9 and we need 1.x.

Which distributions the programs import was read off `sys.modules` at the end of each program
(SAC and PQN through `jaxrl_hybrid.cli.main`, updates.py, and rejax_sac.py in its peer venv).

    python3 benchmarks/gpu_wheels.py            # into .whl/ (git-ignored through .git/info/exclude)
    python3 benchmarks/gpu_wheels.py --dest DIR --python-version 3.12

Any Python 3.11+ with pip runs it (the project's uv-made .venv has no pip).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OURS = (
    "gymnax", "gymnasium", "farama-notifications", "tyro", "docstring-parser", "typeguard",
    "flax", "optax", "chex", "orbax-checkpoint",
    "six",  # gymnax imports it without declaring it (the image has one too: 11 kB to be sure)
)  # fmt: skip
REJAX = (
    "rejax", "gymnax", "gymnasium", "farama-notifications", "distrax", "tfp-nightly", "dm-tree", "decorator",
    "flax", "optax", "chex", "six",
)  # fmt: skip
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions() -> dict[str, str]:
    """Every package's version in uv.lock."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {canonical(p["name"]): p["version"] for p in lock["package"]}


def pinned_versions(requirements: Path) -> dict[str, str]:
    """NAME==VERSION lines of a pip-freeze file."""
    pins = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[canonical(name)] = version.strip()
    return pins


def requirements_for(names: tuple[str, ...], versions: dict[str, str], source: str) -> list[str]:
    missing = [n for n in names if canonical(n) not in versions]
    if missing:
        raise SystemExit(f"gpu_wheels: {source} pins no version of {', '.join(missing)}")
    return [f"{n}=={versions[canonical(n)]}" for n in names]


def download(requirements: list[str], dest: Path, python_version: str) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.whl"):  # one version of each package: two would stop the install
        old.unlink()
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
           "--python-version", python_version, "--implementation", "cp", "-d", str(dest)]  # fmt: skip
    for platform in PLATFORMS:
        cmd += ["--platform", platform]
    subprocess.run([*cmd, *requirements], check=True)
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != len(requirements):
        raise SystemExit(f"gpu_wheels: {len(wheels)} wheels in {dest} for {len(requirements)} requirements")
    size = sum(w.stat().st_size for w in wheels)
    print(f"{dest}: {len(wheels)} wheels, {size / 2**20:.1f} MiB", file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dest", default=str(ROOT / ".whl"))
    parser.add_argument("--python-version", default="3.12", help="the GPU machine's Python")
    args = parser.parse_args(argv)
    dest = Path(args.dest)
    download(requirements_for(OURS, locked_versions(), "uv.lock"), dest / "ours", args.python_version)
    rejax_pins = pinned_versions(HERE / "peers" / "requirements-rejax.txt")
    download(requirements_for(REJAX, rejax_pins, "requirements-rejax.txt"), dest / "rejax", args.python_version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
