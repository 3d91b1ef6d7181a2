"""jaxrl_hybrid: offline, online and offline-to-online RL in JAX, one compiled program per experiment.

Entry points:
    jaxrl_hybrid.envs.make_env          one stateless env API over gymnax and brax
    jaxrl_hybrid.agents.make_train      config -> pure train(key, hparams)
    jaxrl_hybrid.losses                 pure, unreduced loss functions
"""

__version__ = "0.1.0"
