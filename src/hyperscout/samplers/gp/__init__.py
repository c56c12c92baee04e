"""Gaussian-process Bayesian optimization: :class:`GPSampler` (registry name ``"gp"``).

Modules, from the math up: ``_kernel`` (Matern-5/2, robust Cholesky), ``_model`` (priors,
marginal likelihood, fit, posterior), ``_transform`` (output transforms), ``_acquisition``
(log EI), ``_encoding`` (search space <-> model columns), ``_optimize_acqf`` (maximizing log EI
over mixed spaces) and ``_sampler`` (the sampler).
"""

from __future__ import annotations

from hyperscout.samplers.gp._sampler import GPSampler

__all__ = ["GPSampler"]
