# Ridge regression, L(w) = 1/2 |X w - y|^2 + lam/2 |w|^2:
#   grad L(w) = X^T (X w - y) + lam w                               (vs autograd)
#   argmin L  = (X^T X + lam I)^{-1} X^T y = X^T (X X^T + lam I)^{-1} y   (primal vs dual / push-through)
import sympy as sp
import torch
from verify import Claim, Matrix, Real, Vector


def cf_grad(X, y, w, lam):
    return X.T * (X * w - y) + lam * w


def cf_grad_slip(X, y, w, lam):            # slip: 2 lam w
    return X.T * (X * w - y) + 2 * lam * w


def ex_grad(X, y, w, lam):
    w = w.detach().clone().requires_grad_(True)
    loss = 0.5 * ((X @ w - y) ** 2).sum() + 0.5 * lam * (w**2).sum()
    (g,) = torch.autograd.grad(loss, w)
    return g


def cf_sol(X, y, lam):
    return (X.T * X + lam * sp.eye(3)).inv() * X.T * y


def cf_sol_slip(X, y, lam):                # slip: lam / 2 in the normal equations
    return (X.T * X + lam / 2 * sp.eye(3)).inv() * X.T * y


def ex_sol(X, y, lam):
    K = X @ X.T + lam * torch.eye(4, dtype=X.dtype, device=X.device)
    return X.T @ torch.linalg.solve(K, y)


REF = "Hoerl & Kennard (1970); push-through identity, e.g. Murphy PML1 sec. 11.3"
PG = {"X": Matrix(4, 3), "y": Vector(4), "w": Vector(3), "lam": Real(0.1, 10)}
PS = {"X": Matrix(4, 3), "y": Vector(4), "lam": Real(0.1, 10)}
GRAD = Claim(name="ridge-grad", params=PG, closed_form=cf_grad, exact=ex_grad, reference=REF)
GRAD_SLIP = Claim(name="ridge-grad-slip", params=PG, closed_form=cf_grad_slip, exact=ex_grad, reference=REF,
                  expected="refuted")
SOL = Claim(name="ridge-solution-dual", params=PS, closed_form=cf_sol, exact=ex_sol, reference=REF)
SOL_SLIP = Claim(name="ridge-solution-slip", params=PS, closed_form=cf_sol_slip, exact=ex_sol, reference=REF,
                 expected="refuted")
