# Trivariate Gaussian orthant probability (Sheppard; e.g. Tong 1990, eq. (8.2.3)):
#   P[w.x > 0, w.y > 0, w.z > 0] = 1/8 + (asin r_xy + asin r_xz + asin r_yz) / (4 pi),  w ~ N(0, I)
import sympy as sp
import torch
from verify import Claim, Vector


def _r(a, b):
    return (a.T * b)[0] / (sp.sqrt((a.T * a)[0]) * sp.sqrt((b.T * b)[0]))


def cf(x, y, z):
    return sp.Rational(1, 8) + (sp.asin(_r(x, y)) + sp.asin(_r(x, z)) + sp.asin(_r(y, z))) / (4 * sp.pi)


def cf_slip(x, y, z):                      # slip: 2 pi for 4 pi
    return sp.Rational(1, 8) + (sp.asin(_r(x, y)) + sp.asin(_r(x, z)) + sp.asin(_r(y, z))) / (2 * sp.pi)


def mc(x, y, z, n, generator):
    w = torch.randn(n, x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
    return ((w @ x > 0) & (w @ y > 0) & (w @ z > 0)).to(x.dtype)


P = {"x": Vector(3), "y": Vector(3), "z": Vector(3)}
REF = "Sheppard (1899); Tong, The Multivariate Normal Distribution (1990), sec. 8.2"
ORTHANT = Claim(name="orthant-3", params=P, closed_form=cf, monte_carlo=mc, reference=REF)
ORTHANT_SLIP = Claim(name="orthant-3-slip", params=P, closed_form=cf_slip, monte_carlo=mc, reference=REF,
                     expected="refuted")
