# Exact Gaussian-probit identity: E_{Z~N(0,1)}[Phi(a + b Z)] = Phi(a / sqrt(1 + b^2)),
# Phi(t) = (1 + erf(t / sqrt 2)) / 2.  (Exact for the probit link; the logistic version is only approximate.)
import sympy as sp
import torch
from verify import Claim, Real


def _Phi(t):
    return (1 + sp.erf(t / sp.sqrt(2))) / 2


def cf(a, b):
    return _Phi(a / sp.sqrt(1 + b**2))


def cf_slip(a, b):                         # slip: sqrt(1 + b) for sqrt(1 + b^2)
    return _Phi(a / sp.sqrt(1 + sp.Abs(b)))


def mc(a, b, n, generator):
    z = torch.randn(n, generator=generator, dtype=a.dtype, device=a.device)
    return 0.5 * (1 + torch.erf((a + b * z) / 2**0.5))


P = {"a": Real(-4, 4), "b": Real(-5, 5)}
REF = "e.g. Rasmussen & Williams, GPML (2006), eq. (3.82)"
PROBIT = Claim(name="probit-gaussian-identity", params=P, closed_form=cf, monte_carlo=mc, reference=REF)
PROBIT_SLIP = Claim(name="probit-gaussian-identity-slip", params=P, closed_form=cf_slip, monte_carlo=mc,
                    reference=REF, expected="refuted")
