# d/dz logsumexp(z) = softmax(z);  d/dz CE(softmax(z), q) = softmax(z) - q for a probability vector q.
import sympy as sp
import torch
from verify import Claim, Vector


def _softmax(z):
    e = z.applyfunc(sp.exp)
    return e / sum(e)


def cf_lse(z):
    return _softmax(z)


def cf_lse_slip(z):                        # slip: 1% off
    return sp.Float(1.01) * _softmax(z)


def ex_lse(z):
    z = z.detach().clone().requires_grad_(True)
    (g,) = torch.autograd.grad(torch.logsumexp(z, 0), z)
    return g


def cf_ce(z, t):
    return _softmax(z) - _softmax(t)


def cf_ce_slip(z, t):                      # slip: sign flipped
    return _softmax(t) - _softmax(z)


def ex_ce(z, t):
    q = torch.softmax(t, 0)
    z = z.detach().clone().requires_grad_(True)
    loss = -(q * torch.log_softmax(z, 0)).sum()
    (g,) = torch.autograd.grad(loss, z)
    return g


REF = "e.g. Goodfellow, Bengio & Courville (2016) sec. 6.2.2.3"
LSE = Claim(name="logsumexp-grad", params={"z": Vector(5)}, closed_form=cf_lse, exact=ex_lse, reference=REF)
LSE_SLIP = Claim(name="logsumexp-grad-slip-1pct", params={"z": Vector(5)}, closed_form=cf_lse_slip,
                 exact=ex_lse, reference=REF, expected="refuted")
CE = Claim(name="cross-entropy-grad", params={"z": Vector(5), "t": Vector(5)}, closed_form=cf_ce,
           exact=ex_ce, reference=REF, notes="soft labels q = softmax(t)")
CE_SLIP = Claim(name="cross-entropy-grad-slip-sign", params={"z": Vector(5), "t": Vector(5)},
                closed_form=cf_ce_slip, exact=ex_ce, reference=REF, expected="refuted")
