# Goemans & Williamson (1995), Lemma 3.2: random-hyperplane rounding.
# P_w[sign(w.x) != sign(w.y)] = theta/pi, theta = acos(x.y / (|x||y|)), w ~ N(0, I).
import sympy as sp
import torch
from verify import Claim, Vector


def _u(x, y):
    return (x.T * y)[0] / (sp.sqrt((x.T * x)[0]) * sp.sqrt((y.T * y)[0]))


def cf_acos(x, y):
    return sp.acos(_u(x, y)) / sp.pi


def cf_asin(x, y):
    return sp.Rational(1, 2) - sp.asin(_u(x, y)) / sp.pi


def cf_atan2(x, y):
    u = _u(x, y)
    return sp.atan2(sp.sqrt(1 - u**2), u) / sp.pi


def cf_slip_pi(x, y):                      # slip: 3.1 written for pi
    return sp.acos(_u(x, y)) / sp.Float(3.1)


def cf_slip_atan2(x, y):                   # slip: atan2 arguments swapped
    u = _u(x, y)
    return sp.atan2(u, sp.sqrt(1 - u**2)) / sp.pi


def mc(x, y, n, generator):
    w = torch.randn(n, x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
    return (torch.sign(w @ x) != torch.sign(w @ y)).to(x.dtype)


P = {"x": Vector(3), "y": Vector(3)}
REF = "Goemans & Williamson, J. ACM 42 (1995), Lemma 3.2"

GW_ACOS = Claim(name="gw-acos", params=P, closed_form=cf_acos, monte_carlo=mc, reference=REF,
                statement=r"P[\mathrm{sgn}(w^\top x)\ne\mathrm{sgn}(w^\top y)] = \arccos(u)/\pi")
GW_ASIN = Claim(name="gw-asin", params=P, closed_form=cf_asin, monte_carlo=mc, reference=REF,
                statement=r"P[\ldots] = 1/2 - \arcsin(u)/\pi")
GW_ATAN2 = Claim(name="gw-atan2", params=P, closed_form=cf_atan2, monte_carlo=mc, reference=REF,
                 statement=r"P[\ldots] = \mathrm{atan2}(\sqrt{1-u^2}, u)/\pi")
GW_SLIP_PI = Claim(name="gw-slip-pi-3p1", params=P, closed_form=cf_slip_pi, monte_carlo=mc,
                   reference=REF, expected="refuted", notes="slip: 3.1 for pi (1.3% off)")
GW_SLIP_ATAN2 = Claim(name="gw-slip-atan2-swapped", params=P, closed_form=cf_slip_atan2, monte_carlo=mc,
                      reference=REF, expected="refuted", notes="slip: atan2(u, sqrt(1-u^2))")
