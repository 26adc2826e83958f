"""Closed-form population gradient of a ReLU teacher-student pair (Tian, ICML 2017), derived by SymPy.

Family ``population-gradient``: derivation ``theory._population_gradient`` (the paper's equation, derived) ·
estimators ``numerics._population_gradient`` · claims ``verify.claims._population_gradient`` · tests ``tests/test_population_gradient_claims.py``, ``tests/test_population_gradient_numerics.py``, ``tests/test_population_gradient_properties.py``, ``tests/test_population_gradient_theory.py``.

Source: seed ``000_111be25265ff9c8a.txt`` lines ~155-185 ("Close-form Population Gradient"), citing
Y. Tian, *An analytical formula of population gradient for two-layered ReLU network*, ICML 2017
(arXiv:1703.00560). For x ~ N(0, I_d) and J(w) = 1/2 E[(relu(w^T x) - relu(w*^T x))^2] the slide prints

    E[grad_w J] = N/2 (w - w*) + N/(2 pi) (theta w* - ||w*||/||w|| sin(theta) w),

N being the number of samples summed in J; we state the expectation, N = 1. (The slide's ``||w*_x||``
is a typesetting slip for ``||w*||``.)

| code               | paper                   | meaning                                                 |
|--------------------|-------------------------|---------------------------------------------------------|
| ``w``              | w                       | student weight vector, d x 1                            |
| ``w_star``         | w*                      | teacher weight vector, d x 1                            |
| ``v``              | w_j' / w*_k             | second argument of a kernel (any weight vector)         |
| ``theta``          | theta                   | angle between the two vectors, in [0, pi]               |
| ``norm_w, norm_v`` | ||w||, ||v||            | Euclidean norms                                         |
| ``r, phi``         | --                      | polar coordinates of x in the plane of w and v          |
| ``c_w, c_v``       | --                      | g = c_w w/||w|| + c_v v/||v||                            |
| ``gating_kernel``  | g(w, v) (Tian's E[F])   | E[x 1(w^T x > 0) relu(v^T x)]                           |
| ``relu_kernel``    | k(w, v)                 | E[relu(w^T x) relu(v^T x)] (arc-cosine kernel / 2)      |
| ``W, W_star``      | {w_j}, {w*_k}           | rows = hidden units of student (K x d) / teacher (M x d) |
| ``v, v_star``      | --                      | output weights of student / teacher (default all ones)  |
| ``population_loss``| J(w)                    | 1/2 E[(relu(w^T x) - relu(w*^T x))^2]                    |

Derivation. Put w = ||w|| e1, v = ||v|| (cos theta e1 + sin theta e2) and x = r (cos phi, sin phi) in
that plane; the in-plane part of x ~ N(0, I) has density r exp(-r^2/2) / (2 pi) in (r, phi). Both gates
open together exactly for phi in (theta - pi/2, pi/2) when theta is in [0, pi]. Every integrand below
is r^2 times a function of phi (each factor is positively homogeneous of degree 1 in x), so the
expectation is the radial moment times an angular integral; both are ``sp.integrate`` calls. The
components of x orthogonal to the plane are independent of the in-plane ones and have mean zero, so
they contribute nothing to g, and nothing enters the loss kernel. N(0, I) is rotation invariant,
hence the plane coordinates above cover every pair of vectors.
"""

from __future__ import annotations

import functools

import sympy as sp
from sympy.simplify.fu import TR8

from ._derivation import Derivation, compare, statement_latex

__all__ = [
    "derivation_gradient_limits",
    "derivation_kernel",
    "derivation_loss_gradient",
    "derivation_loss_kernel",
    "derivation_population_gradient",
    "gating_kernel",
    "gating_kernel_statement",
    "network_population_gradient",
    "population_gradient",
    "population_gradient_limits",
    "population_gradient_statement",
    "population_loss",
    "printed_population_gradient",
    "relu_kernel",
    "relu_kernel_statement",
]

# SymPy cannot state theta <= pi; theta in [0, pi] is used only where said (``_on_branch``).
theta = sp.Symbol("theta", nonnegative=True)
norm_w = sp.Symbol("norm_w", positive=True)
norm_v = sp.Symbol("norm_v", positive=True)
_r = sp.Symbol("r", positive=True)
_phi = sp.Symbol("phi", real=True)


# --------------------------------------------------------------------------- the derivation


@functools.cache
def _derived() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(c_w, c_v, k): coefficients of the gating kernel and the loss kernel, functions of theta and norms."""
    density = _r * sp.exp(-_r**2 / 2) / (2 * sp.pi)  # polar density of N(0, I_2), Jacobian r included
    radial = sp.integrate(_r**2 * density, (_r, 0, sp.oo))  # = 1/pi; r^2: both factors are 1-homogeneous
    gate = (_phi, theta - sp.pi / 2, sp.pi / 2)  # w^T x > 0 and v^T x > 0, for theta in [0, pi]

    def expectation(angular: sp.Expr) -> sp.Expr:  # E[r^2 angular(phi) 1(both gates open)]
        return radial * sp.integrate(TR8(angular), gate)  # TR8: products of cos/sin -> sums

    u = sp.Matrix([sp.cos(_phi), sp.sin(_phi)])  # x / r, in-plane direction (2 x 1)
    relu_v = norm_v * sp.cos(_phi - theta)  # relu(v^T x) / r on the gate
    relu_w = norm_w * sp.cos(_phi)  # relu(w^T x) / r on the gate
    g = (u * relu_v).applyfunc(expectation)  # (2 x 1): in-plane E[x 1(w^T x > 0) relu(v^T x)]
    # Solve g = c_w e1 + c_v (cos theta, sin theta) for the coefficients of w/||w|| and v/||v||.
    c_w, c_v = sp.symbols("c_w c_v")
    basis = c_w * sp.Matrix([1, 0]) + c_v * sp.Matrix([sp.cos(theta), sp.sin(theta)])
    (solution,) = sp.solve(list(basis - g), [c_w, c_v], dict=True)
    k = expectation(relu_w * relu_v)
    # factor brings each to its simplest form here (polynomial in theta, cos, sin) at a 30th of simplify's cost
    return sp.factor(solution[c_w]), sp.factor(solution[c_v]), sp.factor(k)


# --------------------------------------------------------------------------- public closed forms


def _norm(a: sp.Matrix) -> sp.Expr:
    return sp.sqrt((a.T * a)[0])


def _angle(a: sp.Matrix, b: sp.Matrix) -> sp.Expr:
    return sp.acos((a.T * b)[0] / (_norm(a) * _norm(b)))


def _column(name: str, a) -> sp.Matrix:
    if not isinstance(a, sp.MatrixBase) or a.shape[1] != 1 or a.shape[0] < 1:
        shape = getattr(a, "shape", None)
        raise ValueError(f"{name} must be a d x 1 SymPy Matrix, got {type(a).__name__} of shape {shape}; use sp.Matrix([...]).")
    return sp.Matrix(a)


def gating_kernel(w: sp.Matrix, v: sp.Matrix) -> sp.Matrix:
    """g(w, v) = E[x 1(w^T x > 0) relu(v^T x)] for x ~ N(0, I): a d x 1 Matrix from the derived c_w, c_v."""
    w, v = _column("w", w), _column("v", v)
    if w.shape != v.shape:
        raise ValueError(f"gating_kernel: w is {w.shape[0]} x 1 but v is {v.shape[0]} x 1; both must have the same dimension.")
    c_w, c_v, _ = _derived()
    nw, nv = _norm(w), _norm(v)
    at = {theta: _angle(w, v), norm_v: nv}  # xreplace: simultaneous and exact, safe for any user symbols
    return c_w.xreplace(at) * w / nw + c_v.xreplace(at) * v / nv


def relu_kernel(w: sp.Matrix, v: sp.Matrix) -> sp.Expr:
    """k(w, v) = E[relu(w^T x) relu(v^T x)] for x ~ N(0, I), from the derived loss kernel."""
    w, v = _column("w", w), _column("v", v)
    if w.shape != v.shape:
        raise ValueError(f"relu_kernel: w is {w.shape[0]} x 1 but v is {v.shape[0]} x 1; both must have the same dimension.")
    _, _, k = _derived()
    return k.xreplace({theta: _angle(w, v), norm_w: _norm(w), norm_v: _norm(v)})


def population_gradient(w: sp.Matrix, w_star: sp.Matrix) -> sp.Matrix:
    """E[grad_w J] = g(w, w) - g(w, w*) for J = 1/2 E[(relu(w^T x) - relu(w*^T x))^2]."""
    return gating_kernel(w, w) - gating_kernel(w, w_star)


def population_loss(w: sp.Matrix, w_star: sp.Matrix) -> sp.Expr:
    """J(w) = 1/2 E[(relu(w^T x) - relu(w*^T x))^2] = 1/2 k(w, w) - k(w, w*) + 1/2 k(w*, w*) (square expanded)."""
    return relu_kernel(w, w) / 2 - relu_kernel(w, w_star) + relu_kernel(w_star, w_star) / 2


def _output_weights(name: str, a, count: int) -> list[sp.Expr]:
    if a is None:
        return [sp.S.One] * count
    values = list(a)  # a sequence or a SymPy Matrix (iterated entry-wise)
    if len(values) != count:
        raise ValueError(f"{name} has {len(values)} entries but the layer has {count} hidden units; pass {count} output weights or None for all ones.")
    return [sp.S(x) for x in values]


def network_population_gradient(W: sp.Matrix, W_star: sp.Matrix, v=None, v_star=None) -> sp.Matrix:
    """E[grad_W J] (K x d) for J = 1/2 E[(f(x) - f*(x))^2], f(x) = sum_j v_j relu(w_j^T x), f* likewise.

    Row j is v_j [sum_j' v_j' g(w_j, w_j') - sum_k v*_k g(w_j, w*_k)]; W is K x d, W_star is M x d,
    v (K entries) and v_star (M entries) default to all ones.
    """
    if not isinstance(W, sp.MatrixBase) or not isinstance(W_star, sp.MatrixBase) or W.shape[1] != W_star.shape[1]:
        raise ValueError(f"W and W_star must be SymPy Matrices with the same number of columns d, got shapes {getattr(W, 'shape', None)} and {getattr(W_star, 'shape', None)}.")
    K, M = W.shape[0], W_star.shape[0]
    v, v_star = _output_weights("v", v, K), _output_weights("v_star", v_star, M)
    rows = []
    for j in range(K):
        w_j = W[j, :].T  # (1 x d) -> (d x 1)
        student = sum((v[i] * gating_kernel(w_j, W[i, :].T) for i in range(K)), sp.zeros(W.shape[1], 1))
        teacher = sum((v_star[k] * gating_kernel(w_j, W_star[k, :].T) for k in range(M)), sp.zeros(W.shape[1], 1))
        rows.append((v[j] * (student - teacher)).T)  # (d x 1) -> (1 x d)
    return sp.Matrix.vstack(*rows)  # (K x d)


# --------------------------------------------------------------------------- printed forms, typed once
# Each is a function of the vectors, their norms and the angle: called at plane coordinates it is the
# ``printed`` side of a derivation, called at the abstract symbols below it is the claim's statement.

_w, _v, _w_star = sp.Symbol(r"\mathbf{w}"), sp.Symbol(r"\mathbf{v}"), sp.Symbol(r"\mathbf{w}^*")  # shown only
_NAMES = {norm_w: r"\|\mathbf{w}\|", norm_v: r"\|\mathbf{v}\|"}
_norm_w_star = sp.Symbol(r"\|\mathbf{w}^*\|", positive=True)  # shown only


def _printed_gradient(w, w_star, norm_w, norm_w_star, theta):
    """Seed 000's E[grad_w J] (N = 1): (w - w*)/2 + (theta w* - ||w*||/||w|| sin(theta) w)/(2 pi)."""
    return (w - w_star) / 2 + (theta * w_star - norm_w_star / norm_w * sp.sin(theta) * w) / (2 * sp.pi)


def _printed_gating(w, v, norm_w, norm_v, theta):
    """Tian's g(w, v) = [(pi - theta) v + ||v|| sin(theta) w/||w||] / (2 pi)."""
    return ((sp.pi - theta) * v + norm_v * sp.sin(theta) * w / norm_w) / (2 * sp.pi)


def _printed_relu_kernel(norm_w, norm_v, theta):
    """k(w, v) = ||w|| ||v|| (sin theta + (pi - theta) cos theta) / (2 pi) (Cho & Saul 2009, k_1 / 2)."""
    return norm_w * norm_v * (sp.sin(theta) + (sp.pi - theta) * sp.cos(theta)) / (2 * sp.pi)


def printed_population_gradient(w: sp.Matrix, w_star: sp.Matrix) -> sp.Matrix:
    """The seed's printed E[grad_w J] (N = 1) at column vectors w, w* (the statement under test)."""
    w, w_star = _column("w", w), _column("w_star", w_star)
    return _printed_gradient(w, w_star, _norm(w), _norm(w_star), _angle(w, w_star))


def population_gradient_statement() -> str:
    """The claims' LaTeX statement, rendered from ``_printed_gradient``."""
    return statement_latex(r"\mathbb{E}\left[\nabla_{\mathbf{w}} J\right]", _printed_gradient,
                           _w, _w_star, norm_w, _norm_w_star, theta, symbol_names=_NAMES)


_GATING_LHS = (r"\mathbb{E}\left[\mathbf{x}\,\mathbb{1}(\mathbf{w}^\top\mathbf{x} > 0)\,\mathbb{1}(\mathbf{v}^\top\mathbf{x} > 0)\,"
               r"\mathbf{x}^\top\right]\mathbf{v}")


def gating_kernel_statement(lhs: str = _GATING_LHS) -> str:
    """LaTeX statement of g(w, v), rendered from ``_printed_gating`` (lhs: its name, e.g. ``g(w, v)``)."""
    return statement_latex(lhs, _printed_gating, _w, _v, norm_w, norm_v, theta, symbol_names=_NAMES)


def relu_kernel_statement() -> str:
    """LaTeX statement of k(w, v), rendered from ``_printed_relu_kernel``."""
    lhs = r"\mathbb{E}\left[\mathrm{relu}(\mathbf{w}^\top\mathbf{x})\,\mathrm{relu}(\mathbf{v}^\top\mathbf{x})\right]"
    return statement_latex(lhs, _printed_relu_kernel, norm_w, norm_v, theta, symbol_names=_NAMES)


# --------------------------------------------------------------------------- derivations


def _plane(norm: sp.Expr, angle: sp.Expr) -> sp.Matrix:
    return sp.Matrix([norm * sp.cos(angle), norm * sp.sin(angle)])  # (2 x 1) in the plane of w, v


def _on_branch(expr):
    """Simplify acos arguments, then use acos(cos theta) = theta and |sin theta| = sin theta.

    Both hold because theta in [0, pi] (the angle between two vectors), which SymPy's assumptions cannot
    express; nothing else is substituted.
    """
    expr = expr.replace(lambda e: isinstance(e, sp.acos), lambda e: sp.acos(sp.simplify(e.args[0])))
    expr = expr.xreplace({sp.acos(sp.cos(theta)): theta})
    # sin(acos(u)) evaluates to sqrt(1 - u^2) on construction; simplify makes it |sin theta|
    expr = expr.applyfunc(sp.simplify) if isinstance(expr, sp.MatrixBase) else sp.simplify(expr)
    return expr.xreplace({sp.Abs(sp.sin(theta)): sp.sin(theta)})


def derivation_kernel() -> Derivation:
    """Derived g(w, v) equals Tian's (1/2pi)[(pi - theta) v + ||v|| sin(theta) w/||w||] (plane coordinates)."""
    w, v = _plane(norm_w, 0), _plane(norm_v, theta)
    derived = _on_branch(gating_kernel(w, v))
    printed = _printed_gating(w, v, norm_w, norm_v, theta)
    return compare("E[x 1(w^T x>0) relu(v^T x)] derived by integration in the plane of w, v equals "
                   "(1/2pi)[(pi - theta) v + ||v|| sin(theta) w/||w||] (Tian 2017)", derived, printed)


def derivation_loss_kernel() -> Derivation:
    """Derived k(w, v) equals ||w|| ||v|| (sin theta + (pi - theta) cos theta) / (2 pi) (Cho & Saul 2009, k_1 / 2)."""
    w, v = _plane(norm_w, 0), _plane(norm_v, theta)
    derived = _on_branch(relu_kernel(w, v))
    printed = _printed_relu_kernel(norm_w, norm_v, theta)
    return compare("E[relu(w^T x) relu(v^T x)] derived by integration in the plane of w, v equals "
                   "||w|| ||v|| (sin theta + (pi - theta) cos theta)/(2pi) (arc-cosine kernel k_1 / 2)", derived, printed)


def derivation_population_gradient() -> Derivation:
    """Derived E[grad_w J] = g(w, w) - g(w, w*) equals the seed's printed form (plane coordinates)."""
    norm_ws = sp.Symbol("norm_w_star", positive=True)
    w, w_star = _plane(norm_w, 0), _plane(norm_ws, theta)
    derived = _on_branch(population_gradient(w, w_star))
    printed = _on_branch(printed_population_gradient(w, w_star))
    return compare("E[grad_w J] derived as g(w, w) - g(w, w*) in the plane of w, w* equals seed 000's printed "
                   "form (N = 1); rotation invariance of N(0, I) extends it to all w, w*", derived, printed)


@functools.cache
def population_gradient_limits() -> tuple[sp.Matrix, sp.Matrix]:
    """(theta -> 0+, theta -> pi-) limits of E[grad_w J] in plane coordinates, by ``sp.limit``.

    w = ||w|| e1, w* = ||w*|| (cos theta, sin theta); each limit is a 2 x 1 Matrix in (e1, e2) components,
    a function of the positive symbols ``norm_w`` and ``norm_w_star``.
    """
    norm_ws = sp.Symbol("norm_w_star", positive=True)
    plane = _on_branch(population_gradient(_plane(norm_w, 0), _plane(norm_ws, theta)))  # (2 x 1)
    at_0 = plane.applyfunc(lambda e: sp.limit(e, theta, 0, "+"))
    at_pi = plane.applyfunc(lambda e: sp.limit(e, theta, sp.pi, "-"))
    return at_0, at_pi


def derivation_gradient_limits() -> Derivation:
    """The theta -> 0, pi limits of the derived gradient equal the printed form at w* || w and w* || -w.

    Derived: ``sp.limit`` of the plane-coordinate gradient. Printed: the seed's form evaluated directly
    at the degenerate pairs (acos(+-1) = 0, pi exactly, no limit taken): ((||w|| - ||w*||)/2, 0) and
    (||w||/2, 0). Equality means the closed form is finite and continuous up to both ends of [0, pi].
    """
    norm_ws = sp.Symbol("norm_w_star", positive=True)
    w = _plane(norm_w, 0)
    derived = sp.Matrix.hstack(*population_gradient_limits())  # (2 x 2): columns theta -> 0, theta -> pi
    parallel, anti = sp.Matrix([norm_ws, 0]), sp.Matrix([-norm_ws, 0])
    printed = sp.Matrix.hstack(printed_population_gradient(w, parallel), printed_population_gradient(w, anti))
    return compare("lim theta->0+, theta->pi- of E[grad_w J] (plane coordinates) equal seed 000's printed form at "
                   "w* || w and w* || -w: finite and continuous on [0, pi]", derived, printed)


def derivation_loss_gradient() -> Derivation:
    """d/dw [1/2 k(w, w) - k(w, w*) + 1/2 k(w*, w*)] equals population_gradient(w, w*).

    w = (a, b) in Cartesian in-plane components, w* = ||w*|| (cos theta, sin theta); differentiate with
    ``sp.diff``, then evaluate at w = ||w|| e1. Checks the gating kernel against the loss kernel. The chain
    rule through acos divides by |sin theta|, so the identity is shown for theta in (0, pi); at 0 and pi
    it follows by continuity.
    """
    a, b = sp.symbols("a b", real=True)
    norm_ws = sp.Symbol("norm_w_star", positive=True)
    w, w_star = sp.Matrix([a, b]), _plane(norm_ws, theta)
    loss = population_loss(w, w_star)
    at = {a: norm_w, b: 0}
    derived = _on_branch(sp.Matrix([sp.diff(loss, a), sp.diff(loss, b)]).subs(at))
    gradient = _on_branch(population_gradient(w, w_star).subs(at))
    return compare("grad_w of the population loss 1/2 k(w,w) - k(w,w*) + 1/2 k(w*,w*), in-plane Cartesian "
                   "components, equals g(w, w) - g(w, w*)", derived, gradient)
