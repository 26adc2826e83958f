# Cho & Saul (2009) arc-cosine kernels, w ~ N(0, I):
#   E[H(w.x) H(w.y)]               = (pi - t) / (2 pi)
#   E[relu(w.x) relu(w.y)]         = |x||y| (sin t + (pi - t) cos t) / (2 pi)
#   E[relu(w.x)^2 relu(w.y)^2]     = |x|^2|y|^2 (3 sin t cos t + (pi - t)(1 + 2 cos^2 t)) / (2 pi)
import sympy as sp
import torch
from verify import Claim, Vector


def _geom(x, y):
    nx, ny = sp.sqrt((x.T * x)[0]), sp.sqrt((y.T * y)[0])
    t = sp.acos((x.T * y)[0] / (nx * ny))
    return nx, ny, t


def cf0(x, y):
    _, _, t = _geom(x, y)
    return (sp.pi - t) / (2 * sp.pi)


def cf1(x, y):
    nx, ny, t = _geom(x, y)
    return nx * ny * (sp.sin(t) + (sp.pi - t) * sp.cos(t)) / (2 * sp.pi)


def cf2(x, y):
    nx, ny, t = _geom(x, y)
    return nx**2 * ny**2 * (3 * sp.sin(t) * sp.cos(t) + (sp.pi - t) * (1 + 2 * sp.cos(t) ** 2)) / (2 * sp.pi)


def cf1_slip(x, y):                        # slip: sign of the cos term flipped
    nx, ny, t = _geom(x, y)
    return nx * ny * (sp.sin(t) - (sp.pi - t) * sp.cos(t)) / (2 * sp.pi)


def cf2_slip(x, y):                        # slip: 1 + cos^2 instead of 1 + 2 cos^2
    nx, ny, t = _geom(x, y)
    return nx**2 * ny**2 * (3 * sp.sin(t) * sp.cos(t) + (sp.pi - t) * (1 + sp.cos(t) ** 2)) / (2 * sp.pi)


def _proj(x, y, n, generator):
    w = torch.randn(n, x.shape[0], generator=generator, dtype=x.dtype, device=x.device)
    return w @ x, w @ y


def mc0(x, y, n, generator):
    a, b = _proj(x, y, n, generator)
    return ((a > 0) & (b > 0)).to(x.dtype)


def mc1(x, y, n, generator):
    a, b = _proj(x, y, n, generator)
    return torch.relu(a) * torch.relu(b)


def mc2(x, y, n, generator):
    a, b = _proj(x, y, n, generator)
    return torch.relu(a) ** 2 * torch.relu(b) ** 2


P = {"x": Vector(3), "y": Vector(3)}
REF = "Cho & Saul, NeurIPS 2009, eqs. (1), (6)-(8)"

ARCCOS0 = Claim(name="arccos-kernel-0", params=P, closed_form=cf0, monte_carlo=mc0, reference=REF)
ARCCOS1 = Claim(name="arccos-kernel-1", params=P, closed_form=cf1, monte_carlo=mc1, reference=REF)
ARCCOS2 = Claim(name="arccos-kernel-2", params=P, closed_form=cf2, monte_carlo=mc2, reference=REF)
ARCCOS1_SLIP = Claim(name="arccos-kernel-1-slip-sign", params=P, closed_form=cf1_slip, monte_carlo=mc1,
                     reference=REF, expected="refuted")
ARCCOS2_SLIP = Claim(name="arccos-kernel-2-slip-cos2", params=P, closed_form=cf2_slip, monte_carlo=mc2,
                     reference=REF, expected="refuted")
