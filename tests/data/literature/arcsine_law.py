# Grothendieck's identity / arcsine law (Sheppard 1899):
# E[sign(w.x) sign(w.y)] = (2/pi) asin(x.y/(|x||y|)), w ~ N(0, I).
import sympy as sp
import torch
from verify import Claim, Vector


def _u(x, y):
    return (x.T * y)[0] / (sp.sqrt((x.T * x)[0]) * sp.sqrt((y.T * y)[0]))


def cf(x, y):
    return 2 * sp.asin(_u(x, y)) / sp.pi


def cf_slip_half(x, y):                    # slip: factor 2 dropped
    return sp.asin(_u(x, y)) / sp.pi


def cf_slip_pi(x, y):                      # slip: 3.1 for pi
    return 2 * sp.asin(_u(x, y)) / sp.Float(3.1)


def mc(x, y, n, generator):
    w = torch.randn(n, x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
    return torch.sign(w @ x) * torch.sign(w @ y)


P = {"x": Vector(4), "y": Vector(4)}
REF = "Sheppard (1899); Grothendieck's identity, e.g. Alon & Naor (2006) eq. (1)"

ARCSINE = Claim(name="arcsine-sign-correlation", params=P, closed_form=cf, monte_carlo=mc, reference=REF,
                statement=r"E[\mathrm{sgn}(w^\top x)\mathrm{sgn}(w^\top y)] = \tfrac{2}{\pi}\arcsin u")
ARCSINE_SLIP_HALF = Claim(name="arcsine-slip-half", params=P, closed_form=cf_slip_half, monte_carlo=mc,
                          reference=REF, expected="refuted")
ARCSINE_SLIP_PI = Claim(name="arcsine-slip-pi-3p1", params=P, closed_form=cf_slip_pi, monte_carlo=mc,
                        reference=REF, expected="refuted")
