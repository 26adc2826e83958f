# my_derivation.py
import sympy as sp
import torch
from verify import Claim, Real, Vector

def closed_form(w, w_star):            # called with SymPy objects: Real -> Symbol, Vector(d) -> d x 1 Matrix
    nw, ns = sp.sqrt((w.T * w)[0]), sp.sqrt((w_star.T * w_star)[0])
    theta = sp.acos((w.T * w_star)[0] / (nw * ns))
    return (w - w_star) / 2 + (theta * w_star - ns / nw * sp.sin(theta) * w) / (2 * sp.pi)

def monte_carlo(w, w_star, n, generator):   # called with torch tensors on the run's device/dtype
    x = torch.randn(n, w.shape[0], generator=generator, dtype=w.dtype, device=w.device)
    r = torch.relu(x @ w) - torch.relu(x @ w_star)
    return (r * (x @ w > 0).to(x.dtype))[:, None] * x      # one estimate per sample: shape (n, *shape)

CLAIM = Claim(
    name="tian-population-gradient",
    params={"w": Vector(4), "w_star": Vector(4)},
    closed_form=closed_form,
    monte_carlo=monte_carlo,
)
