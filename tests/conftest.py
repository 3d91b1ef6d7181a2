import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Tests compare numbers exactly across runs; keep XLA from picking different CPU paths.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
