"""Issue 20, part 1: with the default flags a run's numbers do not depend on the machine's
layout. The same 16-seed config on 1 and 4 forced host devices, and on 2 of 4 in two groups
(--max-parallel) in a process pinned to one core, gives byte-identical metrics.jsonl and final
returns. (The default block is 4 runs on CPU, so 16 runs are 4 blocks: 4 devices get one each.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from helpers import subprocess_env

pytestmark = pytest.mark.xdist_group("layout")

ARGS = [
    "train", "--algo", "sac", "--env", "gymnax:Pendulum-v1", "--num-seeds", "16", "--seed", "5",
    "--total-steps", "300", "--learning-starts", "100", "--eval-every", "100", "--hidden-dims", "16", "16",
    "--batch-size", "16", "--buffer-size", "500", "--num-eval-episodes", "1",
]  # fmt: skip


def _numbers(folder):
    summary = json.loads((folder / "summary.json").read_text())
    return (folder / "metrics.jsonl").read_text(), summary["final_return"], summary["layout"]


def _subprocess_run(out, *extra, prefix=()):
    # What a user's shell has: no XLA flags, no pool size, the CLI's own device count. The
    # test session's compilation cache is shared (hits only where the executables are the same).
    env = subprocess_env(drop=("JAXRL_HOST_DEVICES", "NPROC", "XLA_FLAGS"))
    cmd = [*prefix, sys.executable, "-m", "jaxrl_hybrid.cli.main", *ARGS, "--out", str(out), *extra]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return _numbers(out)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    # One CPU device, in a subprocess too: the test session compiles with its own XLA flags
    # (tests/conftest.py), and every run compared here has a user's defaults.
    return _subprocess_run(tmp_path_factory.mktemp("layout") / "reference", "--host-devices", "1")


def test_reference_is_one_device_in_blocks_of_four(reference):
    layout = reference[2]
    assert (layout["num_devices"], layout["block_size"], layout["num_groups"]) == (1, 4, 1)


@pytest.mark.parametrize(
    "extra, prefix, devices, groups",
    [
        (["--host-devices", "4"], (), 4, 1),
        # one core (taskset) and 2 blocks per group: 2 groups on 2 of the 4 devices; the compile
        # sees one core, the pool stays pinned. (One run for both, CI time: a separate one-core
        # run on 2 devices in one group ran the same 2-device executables once more.)
        (["--host-devices", "4", "--max-parallel", "8"], ("taskset", "-c", "0"), 2, 2),
    ],
    ids=["4-devices", "1-core-4-devices-max-parallel-8"],
)
def test_devices_cores_and_max_parallel_repeat_every_number(reference, tmp_path, extra, prefix, devices, groups):
    if prefix and shutil.which(prefix[0]) is None:
        pytest.skip(f"needs {prefix[0]}")
    metrics, finals, layout = _subprocess_run(tmp_path / "run", *extra, prefix=prefix)
    assert (layout["num_devices"], layout["num_groups"], layout["block_size"]) == (devices, groups, 4)
    assert metrics == reference[0] and finals == reference[1]
