"""Shared fixtures: small synthetic claims whose truth the test controls."""

from __future__ import annotations

import torch

from verify import Claim, Real


def normal_claim(name="synthetic-normal", *, shift=0.0, shift_at=None, rate=1e-6, examples=0, samples=4000, skew=False):
    """Closed form mu; estimator draws N(mu + shift, 1) (or a centred exponential, skewed, if skew).

    shift_at: apply the shift only where mu equals this value (a claim wrong at a single example).
    """

    def closed_form(mu):
        return mu

    def monte_carlo(mu, n, generator):
        if skew:
            z = torch.empty(n, dtype=mu.dtype, device=mu.device).exponential_(generator=generator) - 1.0
        else:
            z = torch.randn(n, generator=generator, dtype=mu.dtype, device=mu.device)
        s = shift if shift_at is None or float(mu) == shift_at else 0.0
        return mu + s + z                                         # (n,)

    return Claim(name=name, params={"mu": Real(0.0, 1.0)}, closed_form=closed_form, monte_carlo=monte_carlo,
                 false_refutation_rate=rate, examples=examples, samples=samples)

