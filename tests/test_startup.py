"""`--help` and argument errors answer without importing JAX, gymnax, brax or matplotlib
(issue 20, part 5: they took 3.5-6 s of imports; benchmarks/README.md has the timings)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import contextlib, io, sys
from jaxrl_hybrid.cli.main import main
err = io.StringIO()
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
    try:
        rc = main({argv!r})
    except SystemExit as e:
        rc = e.code
heavy = sorted(m for m in ("jax", "gymnax", "brax", "matplotlib", "flax", "optax") if m in sys.modules)
print(rc, ",".join(heavy) or "-", err.getvalue().strip().splitlines()[-1:] if err.getvalue() else "")
"""

CASES = [
    (["--help"], 0),
    (["train", "--help"], 0),
    (["finetune", "--help"], 0),
    (["dataset", "generate", "--help"], 0),
    (["train", "--num-seedz", "3"], 2),  # tyro's unknown flag
    (["train", "--num-seeds", "0"], 2),
    (["train", "--eval-every", "0"], 2),
    (["train", "--env", "gymnax:Pendulm-v1"], 2),
    (["train", "--out", ""], 2),
    (["finetune", "--dataset", "x.hdf5", "--online-steps", "0"], 2),
    (["report", "--out", "somewhere"], 2),
]


@pytest.mark.parametrize("argv, code", CASES, ids=[" ".join(a) for a, _ in CASES])
def test_help_and_argument_errors_import_no_jax(argv, code):
    out = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    rc, heavy = out.stdout.split()[:2]
    assert int(rc) == code, out.stdout
    assert heavy == "-", f"{argv} imported {heavy}"
