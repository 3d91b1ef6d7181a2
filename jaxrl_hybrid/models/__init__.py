"""Learned models of the environment: the real-dynamics ensemble and the sim-to-real gap estimators."""
