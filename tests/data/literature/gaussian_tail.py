# Gaussian tail probability, P[Z > a] = erfc(a / sqrt 2) / 2, Z ~ N(0, 1), for a in the far tail.
# The indicator estimator is mostly all-zero at 100k samples (p between 1e-9 and 3e-5): a thin event the
# samples never hit (README, "How a verdict is reached", step 3).
import sympy as sp
import torch
from verify import Claim, Real


def cf(a):
    return sp.erfc(a / sp.sqrt(2)) / 2


def cf_slip(a):                            # slip: erfc(a) / 2 (the sqrt 2 forgotten)
    return sp.erfc(a) / 2


def mc(a, n, generator):
    z = torch.randn(n, generator=generator, dtype=a.dtype, device=a.device)
    return (z > a).to(a.dtype)


REF = "Gaussian tail, e.g. Abramowitz & Stegun 26.2.29"
TAIL = Claim(name="gaussian-tail-far", params={"a": Real(4.0, 6.0)}, closed_form=cf, monte_carlo=mc, reference=REF)
TAIL_MID = Claim(name="gaussian-tail-mid", params={"a": Real(1.0, 6.0)}, closed_form=cf, monte_carlo=mc,
                 reference=REF)
TAIL_SLIP = Claim(name="gaussian-tail-slip", params={"a": Real(1.0, 6.0)}, closed_form=cf_slip, monte_carlo=mc,
                  reference=REF, expected="refuted")
