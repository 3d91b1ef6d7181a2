"""jaxrl_hybrid: offline, online and offline-to-online RL in JAX, one compiled program per experiment.

Entry points:
    jaxrl_hybrid.envs.make_env          one stateless env API over gymnax and brax
    jaxrl_hybrid.make_train             config -> pure train(key, hparams) (from .training)
    jaxrl_hybrid.losses                 pure, unreduced loss functions
"""

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy, so `import jaxrl_hybrid` stays cheap and the layering (training above agents) holds.
    if name in ("make_train", "make_program", "TrainConfig"):
        from jaxrl_hybrid import training

        return getattr(training, name)
    raise AttributeError(f"module 'jaxrl_hybrid' has no attribute {name!r}")
