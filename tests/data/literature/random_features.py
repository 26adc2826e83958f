# Random Fourier features (Rahimi & Recht 2007): z(x) = sqrt(2) cos(w.x + b), w ~ N(0, I), b ~ U[0, 2 pi]:
#   E[z(x) z(y)]   = exp(-|x - y|^2 / 2)
#   Var[z(x) z(y)] = 1 + exp(-2 |x - y|^2) / 2 - exp(-|x - y|^2)
# The variance is estimated without bias by (Z1 - Z2)^2 / 2 with two independent features.
import math
import sympy as sp
import torch
from verify import Claim, Vector


def _r2(x, y):
    d = x - y
    return (d.T * d)[0]


def cf_mean(x, y):
    return sp.exp(-_r2(x, y) / 2)


def cf_var(x, y):
    r2 = _r2(x, y)
    return 1 + sp.exp(-2 * r2) / 2 - sp.exp(-r2)


def cf_var_slip(x, y):                     # slip: the 1/2 on exp(-2 r^2) dropped
    r2 = _r2(x, y)
    return 1 + sp.exp(-2 * r2) - sp.exp(-r2)


def _feature(x, y, n, generator):
    w = torch.randn(n, x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
    b = 2 * math.pi * torch.rand(n, generator=generator, dtype=x.dtype, device=x.device)
    return 2 * torch.cos(w @ x + b) * torch.cos(w @ y + b)


def mc_mean(x, y, n, generator):
    return _feature(x, y, n, generator)


def mc_var(x, y, n, generator):
    z1 = _feature(x, y, n, generator)
    z2 = _feature(x, y, n, generator)
    return (z1 - z2) ** 2 / 2


P = {"x": Vector(3, norm=(0.1, 3.0)), "y": Vector(3, norm=(0.1, 3.0))}
REF = "Rahimi & Recht, NeurIPS 2007, Claim 1; variance e.g. Sutherland & Schneider, UAI 2015, eq. (3)"
RFF_MEAN = Claim(name="rff-kernel-mean", params=P, closed_form=cf_mean, monte_carlo=mc_mean, reference=REF)
RFF_VAR = Claim(name="rff-kernel-variance", params=P, closed_form=cf_var, monte_carlo=mc_var, reference=REF)
RFF_VAR_SLIP = Claim(name="rff-kernel-variance-slip", params=P, closed_form=cf_var_slip, monte_carlo=mc_var,
                     reference=REF, expected="refuted")
