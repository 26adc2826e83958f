# Stress probe of the finite-variance guarantee: E[exp(w.x)] = exp(|x|^2 / 2), w ~ N(0, I), for |x| up to 3.
# The per-sample estimate exp(w.x) is log-normal: finite variance, but very skewed for |x| >= 2.
import sympy as sp
import torch
from verify import Claim, Vector


def cf(x):
    return sp.exp((x.T * x)[0] / 2)


def mc(x, n, generator):
    w = torch.randn(n, x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
    return torch.exp(w @ x)


REF = "log-normal mean"
MGF2 = Claim(name="gaussian-mgf-norm2", params={"x": Vector(3, norm=(0.1, 2.0))}, closed_form=cf,
             monte_carlo=mc, reference=REF)
MGF3 = Claim(name="gaussian-mgf-norm3", params={"x": Vector(3, norm=(0.1, 3.0))}, closed_form=cf,
             monte_carlo=mc, reference=REF)
