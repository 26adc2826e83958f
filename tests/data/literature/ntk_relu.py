# Infinite-width NTK of f(x) = m^{-1/2} sum_j a_j relu(w_j.x), a_j ~ N(0,1), w_j ~ N(0, I) (Jacot et al. 2018):
#   Theta(x, y) = E[relu(w.x) relu(w.y)] + (x.y) E[a^2 H(w.x) H(w.y)]
#               = |x||y| (sin t + (pi - t) cos t) / (2 pi) + (x.y) (pi - t) / (2 pi)
# Monte Carlo: one hidden unit per sample (its contribution to the NTK sum).
import sympy as sp
import torch
from verify import Claim, Vector


def _geom(x, y):
    nx, ny = sp.sqrt((x.T * x)[0]), sp.sqrt((y.T * y)[0])
    xy = (x.T * y)[0]
    return nx, ny, xy, sp.acos(xy / (nx * ny))


def cf(x, y):
    nx, ny, xy, t = _geom(x, y)
    return nx * ny * (sp.sin(t) + (sp.pi - t) * sp.cos(t)) / (2 * sp.pi) + xy * (sp.pi - t) / (2 * sp.pi)


def cf_slip(x, y):                         # slip: t for (pi - t) in the second-layer term
    nx, ny, xy, t = _geom(x, y)
    return nx * ny * (sp.sin(t) + (sp.pi - t) * sp.cos(t)) / (2 * sp.pi) + xy * t / (2 * sp.pi)


def mc(x, y, n, generator):
    w = torch.randn(n, x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
    a = torch.randn(n, generator=generator, dtype=x.dtype, device=x.device)
    u, v = w @ x, w @ y
    return torch.relu(u) * torch.relu(v) + a**2 * (x @ y) * ((u > 0) & (v > 0)).to(x.dtype)


P = {"x": Vector(3), "y": Vector(3)}
REF = "Jacot, Gabriel & Hongler, NeurIPS 2018; Arora et al. 2019 (two-layer ReLU NTK)"
NTK = Claim(name="ntk-relu-2layer", params=P, closed_form=cf, monte_carlo=mc, reference=REF)
NTK_SLIP = Claim(name="ntk-relu-2layer-slip", params=P, closed_form=cf_slip, monte_carlo=mc, reference=REF,
                 expected="refuted")
