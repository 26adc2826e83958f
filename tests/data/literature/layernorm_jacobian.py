# Jacobian of LayerNorm without affine (Ba, Kiros & Hinton 2016):
#   y = (x - mean(x)) / s,  s = sqrt(var(x) + eps)  (biased var)
#   dy/dx = (I - 1 1^T / d - y y^T / d) / s
import sympy as sp
import torch
import torch.nn.functional as F
from verify import Claim, Vector

D = 5
EPS = 1e-5


def _parts(x, ddof=0):
    one = sp.ones(D, 1)
    mu = sum(x) / D
    c = x - mu * one
    s = sp.sqrt((c.T * c)[0] / (D - ddof) + sp.Float(EPS))
    return one, c / s, s


def cf(x):
    one, y, s = _parts(x)
    return (sp.eye(D) - one * one.T / D - y * y.T / D) / s


def cf_slip(x):                            # slip: unbiased variance (d - 1) in s
    one, y, s = _parts(x, ddof=1)
    return (sp.eye(D) - one * one.T / D - y * y.T / D) / s


def ex(x):
    return torch.autograd.functional.jacobian(lambda v: F.layer_norm(v, (D,), eps=EPS), x)


REF = "Ba, Kiros & Hinton (2016), LayerNorm; backward pass e.g. Xu et al. NeurIPS 2019 eq. (3)"
LN = Claim(name="layernorm-jacobian", params={"x": Vector(D)}, closed_form=cf, exact=ex, reference=REF)
LN_SLIP = Claim(name="layernorm-jacobian-slip-ddof", params={"x": Vector(D)}, closed_form=cf_slip, exact=ex,
                reference=REF, expected="refuted")
