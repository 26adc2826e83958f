# Differential entropy of a Gaussian: H = 1/2 log(2 pi e s^2) (1-d);
# H = d/2 log(2 pi e) + 1/2 log det Sigma with Sigma = A A^T + I (3-d).  Monte Carlo: E[-log p(x)].
import math
import sympy as sp
import torch
from verify import Claim, Matrix, Real


def cf1(s):
    return sp.log(2 * sp.pi * sp.E * s**2) / 2


def cf1_slip(s):                           # slip: e dropped
    return sp.log(2 * sp.pi * s**2) / 2


def mc1(s, n, generator):
    x = s * torch.randn(n, generator=generator, dtype=s.dtype, device=s.device)
    return 0.5 * (x / s) ** 2 + torch.log(s) + 0.5 * math.log(2 * math.pi)


def cf3(A):
    S = A * A.T + sp.eye(3)
    return sp.Rational(3, 2) * sp.log(2 * sp.pi * sp.E) + sp.log(S.det()) / 2


def cf3_slip(A):                           # slip: log det without the 1/2
    S = A * A.T + sp.eye(3)
    return sp.Rational(3, 2) * sp.log(2 * sp.pi * sp.E) + sp.log(S.det())


def mc3(A, n, generator):
    z1 = torch.randn(n, 3, generator=generator, dtype=A.dtype, device=A.device)
    z2 = torch.randn(n, 3, generator=generator, dtype=A.dtype, device=A.device)
    x = z1 @ A.T + z2
    S = A @ A.T + torch.eye(3, dtype=A.dtype, device=A.device)
    mvn = torch.distributions.MultivariateNormal(torch.zeros(3, dtype=A.dtype, device=A.device),
                                                 covariance_matrix=S)
    return -mvn.log_prob(x)


REF = "Cover & Thomas, Elements of Information Theory, Thm 8.4.1"
H1 = Claim(name="gaussian-entropy-1d", params={"s": Real(0.05, 20)}, closed_form=cf1, monte_carlo=mc1,
           reference=REF)
H1_SLIP = Claim(name="gaussian-entropy-1d-slip", params={"s": Real(0.05, 20)}, closed_form=cf1_slip,
                monte_carlo=mc1, reference=REF, expected="refuted")
H3 = Claim(name="gaussian-entropy-3d", params={"A": Matrix(3, 3)}, closed_form=cf3, monte_carlo=mc3,
           reference=REF)
H3_SLIP = Claim(name="gaussian-entropy-3d-slip", params={"A": Matrix(3, 3)}, closed_form=cf3_slip,
                monte_carlo=mc3, reference=REF, expected="refuted")
