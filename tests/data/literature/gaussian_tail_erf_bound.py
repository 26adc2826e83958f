# gaussian_tail_erf.py's far-tail claim with the README's sample_bound declared (an indicator: 1).
import sympy as sp
import torch
from verify import Claim, Real


def cf(a):
    return (1 - sp.erf(a / sp.sqrt(2))) / 2


def mc(a, n, generator):
    z = torch.randn(n, generator=generator, dtype=a.dtype, device=a.device)
    return (z > a).to(a.dtype)


TAIL_BOUND = Claim(name="gaussian-tail-erf-far-bound", params={"a": Real(4.0, 6.0)}, closed_form=cf,
                   monte_carlo=mc, sample_bound=1, reference="Gaussian tail")
