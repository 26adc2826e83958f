# KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2
# Monte Carlo: E_{x~p}[log p(x) - log q(x)].
import math
import sympy as sp
import torch
from verify import Claim, Real


def cf(m1, s1, m2, s2):
    return sp.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - sp.Rational(1, 2)


def cf_slip(m1, s1, m2, s2):               # slip: the 1/2 on the mean term dropped
    return sp.log(s2 / s1) + s1**2 / (2 * s2**2) + (m1 - m2) ** 2 / s2**2 - sp.Rational(1, 2)


def _logpdf(x, m, s):
    return -0.5 * ((x - m) / s) ** 2 - torch.log(s) - 0.5 * math.log(2 * math.pi)


def mc(m1, s1, m2, s2, n, generator):
    x = m1 + s1 * torch.randn(n, generator=generator, dtype=m1.dtype, device=m1.device)
    return _logpdf(x, m1, s1) - _logpdf(x, m2, s2)


P = {"m1": Real(-3, 3), "s1": Real(0.2, 5), "m2": Real(-3, 3), "s2": Real(0.2, 5)}
REF = "Kullback-Leibler divergence of univariate Gaussians, e.g. Bishop PRML ex. 1.30"
KL = Claim(name="gaussian-kl", params=P, closed_form=cf, monte_carlo=mc, reference=REF)
KL_SLIP = Claim(name="gaussian-kl-slip", params=P, closed_form=cf_slip, monte_carlo=mc, reference=REF,
                expected="refuted")
