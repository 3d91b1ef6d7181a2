#!/usr/bin/env bash
# The accelerator benchmark in one command (issue 27): install the carried wheels, then run
# benchmarks/gpu.py, which writes gpu.json, gpu.md and PNGs to OUT.
#
#   bash benchmarks/gpu.sh OUT [benchmarks/gpu.py flags]        # on the GPU machine (about 8 minutes)
#   GPU_PYTHON=/path/to/python3.12 bash benchmarks/gpu.sh OUT --quick   # CPU rehearsal, same wheels
#
# The GPU machine has no network: its own python3 brings jax with the CUDA plugin, numpy, scipy,
# matplotlib and the compiled packages; what else the benchmark imports travels as wheels made
# beforehand, where there is a network, by `python3 benchmarks/gpu_wheels.py` (.whl/ours and
# .whl/rejax, about 13 MiB). Each set goes into its own folder, never into the machine's python.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: bash benchmarks/gpu.sh OUT [benchmarks/gpu.py flags]}
shift
PY=${GPU_PYTHON:-python3}
WHL=${GPU_WHEELS:-.whl}
SITE=${GPU_SITE:-/tmp/jaxrl-gpu-site}
for part in ours rejax; do
  if ! ls "$WHL/$part"/*.whl >/dev/null 2>&1; then
    echo "gpu.sh: no wheels in $WHL/$part: run 'python3 benchmarks/gpu_wheels.py' first, where there is a network" >&2
    exit 2
  fi
  rm -rf "${SITE:?}/$part"
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE/$part" "$WHL/$part"/*.whl
done
"$PY" -c "import jax; print('gpu.sh: jax', jax.__version__, 'on', jax.devices())"
GPU_BENCH_OURS_SITE="$SITE/ours" exec "$PY" benchmarks/gpu.py --out "$OUT" --rejax-site "$SITE/rejax" "$@"
