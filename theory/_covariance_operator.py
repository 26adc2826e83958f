"""The covariance operator of SimCLR-style training (Tian, Yu, Chen & Ganguli 2020), derived by SymPy.

Family ``covariance-operator``: derivation ``theory._covariance_operator`` (the paper's equation, derived) ·
estimators ``numerics._covariance_operator`` · claims ``verify.claims._covariance_operator`` · tests ``tests/test_covariance_operator.py``.

Source: seed ``000_111be25265ff9c8a.txt`` lines ~461-540 ("The Covariance Operator", "One-layer
one-neuron example", "A two-layer example", Theorem 4), citing Y. Tian, L. Yu, X. Chen, S. Ganguli,
*Understanding Self-supervised Learning with Dual Deep Networks*, arXiv:2010.00578. The slides print

    K_l(x) := f_{l-1}(x) (x) J_l^T(x),   K_bar_l(x) := E_{x' ~ p_aug(.|x)}[K_l(x')],
    vec(Delta W_l) = beta V_x[K_bar_l(x)] vec(W_l)                       (covariance operator, PSD)
    one neuron, objects "11" / "101":  V_{z0}[K_bar(z0)] = 1/(4 d^2) u u^T,  u := x_11 + x_00 - x_01 - x_10
    Theorem 4 (Cov_z[u_j, u_k] = 0, j != k):
        w2j' = w2j w1j^T A_j w1j,   w1j' = w2j^2 A_j w1j,   A_j := V_z[u_j(z)].

| code                   | paper                  | meaning                                                        |
|------------------------|------------------------|----------------------------------------------------------------|
| ``Ws = [W_1..W_L]``    | W_l                    | layer weights, W_l is n_l x n_{l-1}; no biases                 |
| ``slope``              | --                     | activation max(z, slope z): 0 = ReLU, 1 = linear network       |
| ``z[l], f[l]``         | --, f_l                | pre-activation W_l f_{l-1} / activation of layer l; f_0 = x    |
| ``output_jacobian``    | J_l                    | d f_L / d z_l (n_L x n_l), gating of layers >= l included      |
| ``connection``         | K_l                    | f_{l-1} (x) J_l^T, (n_{l-1} n_l) x n_L                          |
| ``vec``                | vec                    | column-stacking: vec(W)[j n_l + i] = W[i, j]                   |
| ``X, D``               | x, p_aug               | data rows x_i (uniform), augmentation offsets: x' = x_i + D_a  |
| ``covariance_operator``| V_x[K_bar_l(x)]        | E[K_bar K_bar^T] - E[K_bar] E[K_bar]^T over the data, p x p     |
| ``w1_j, w2``           | w_{1,j}, w_{2,j}       | two-layer net f = sum_j w2_j relu(w1_j^T x_j) (Theorem 4)       |
| ``u_j, A_j``           | u_j(z), A_j            | E_{z'|z}[x_j 1(w1_j^T x_j > 0)], V_z[u_j]                       |
| ``X`` (one neuron)     | x_00, x_01, x_10, x_11 | the neuron's input when its 2-pixel receptive field shows ab   |
| ``d``                  | d                      | length of the circular 1-D world the objects translate in     |

Derivations. (1) SymPy differentiates the network (``LeakyRelu.fdiff`` is the gate slope + (1 - slope)
H(z), H(0) = 0 like autograd) to get J_l and d f_L / d vec(W_l); ``derivation_connection`` proves
f_L = K_l^T vec(W_l) for generic symbolic weights, ``derivation_weight_jacobian`` proves
d f_L / d vec(W_l) = K_l^T. (2) ``derivation_gradient_identity``: for f = K^T w with K fixed at the
enumerated points, SymPy differentiates L_simp = E[1/2 |f(x1) - f(x2)|^2] - E[1/2 |f(x1) - f(x')|^2]
and proves -dL/dw = 2 V_x[K_bar] w.

Which version is exact. The identity needs f = K_l^T vec(W_l) *and* d f / d vec(W_l) = K_l^T at the
current weights. For a network without biases whose activation is positively 1-homogeneous and
piecewise linear (ReLU, leaky ReLU, linear), f_L is such a function of z_l (Euler: g(z) = grad g(z) . z),
so both hold at every W with autograd's convention relu'(0) = 0 (then z relu'(z) = relu(z) still):
autograd's gradient of the *actual* loss, gates moving with W, equals 2 V_x[K_bar_l(x; W)] vec(W_l)
exactly -- no "gates held fixed" approximation is needed for the gradient at W. What is not linear is
the dynamics: V depends on W, so vec(W_l)' = 2 V vec(W_l) is a linear ODE only while no gate flips.
For a non-homogeneous activation (tanh, softplus) or with biases f != K^T vec(W_l) and the identity fails.

The constant: with L_simp as written, -dL/dvec(W_l) = 2 V_x[K_bar_l] vec(W_l); the slides' beta absorbs
the 2 (and the contrastive-loss weights). Theorem 4 is stated with beta = 1, i.e. for 1/2 L_simp.

The one-neuron example (reconstructed): a 1-D circular world of d >= 4 pixels holds object z0 in
{"11", "101"} (uniform) at a uniform translation z'; a neuron f = relu(w^T x) looks at a fixed 2-pixel
window and x = x_ab is its input for window content ab. Counting windows gives
K_bar(z0) = (1/d) sum_ab n_ab(z0) gate(w^T x_ab) x_ab with n("11") = (00: d-3, 01: 1, 10: 1, 11: 1),
n("101") = (00: d-4, 01: 2, 10: 2, 11: 0), hence V_{z0}[K_bar] = 1/(4 d^2) u_w u_w^T with
u_w = sum_ab (n_ab("11") - n_ab("101")) gate(w^T x_ab) x_ab. The printed u (no gates) is this for a
*linear* neuron; for a ReLU neuron the gates must stay inside u (``derivation_one_neuron_relu``), and
with raw pixels x_ab = (a, b) the printed u is 0 ("linear neuron: nothing is learned") while u_w is not.
"""

from __future__ import annotations

import functools
from typing import Sequence

import sympy as sp
from sympy.core.function import ArgumentIndexError

from ._derivation import Derivation, compare, statement_latex
from ._vectors import dot, norm

__all__ = [
    "LeakyRelu",
    "gate",
    "explicit",
    "vec",
    "forward",
    "output_jacobian",
    "connection",
    "weight_jacobian",
    "network_output",
    "augment_mean_connection",
    "covariance_operator",
    "covariance_gradient",
    "THEOREM4_DATA",
    "theorem4_u",
    "theorem4_A",
    "theorem4_field",
    "conserved_quantity",
    "ONE_NEURON_OBJECTS",
    "ONE_NEURON_PATTERNS",
    "window_counts",
    "one_neuron_covariance",
    "gated_one_neuron_covariance",
    "one_neuron_statement",
    "printed_one_neuron_covariance",
    "derivation_connection",
    "derivation_weight_jacobian",
    "derivation_gradient_identity",
    "derivation_theorem4",
    "derivation_conservation",
    "derivation_one_neuron_linear",
    "derivation_one_neuron_relu",
    "cosine_similarity",
    "infonce_l2",
    "infonce_statement",
    "derivation_infonce_l2",
    "psd_quadratic_forms",
    "derivation_psd",
]


# --------------------------------------------------------------------------- activation


class LeakyRelu(sp.Function):
    """sigma(z, slope) = max(z, slope z) for slope in [0, 1]; d sigma / dz = slope + (1 - slope) H(z), H(0) = 0."""

    nargs = 2

    @classmethod
    def eval(cls, z, slope):
        if slope == 1:
            return z
        if z.is_number and z.is_real:
            return z * gate(z, slope)

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return gate(*self.args)


def gate(z: sp.Expr, slope) -> sp.Expr:
    """The activation's derivative: slope + (1 - slope) H(z) with H(0) = 0 (autograd's relu'(0) = 0)."""
    return slope + (1 - slope) * sp.Heaviside(z, 0)


def explicit(expr, values: str = "abs"):
    """Replace sigma(z, s) by an elementary form: ``"gate"``: z gate(z, s); ``"abs"``: s z + (1 - s)(z + |z|)/2.

    Proofs use ``"gate"`` (Euler's identity sigma(z) = z sigma'(z) is then structural). Closed forms for
    the engine use ``"abs"``, which also writes each gate H(z, 0) as (sign z + sign^2 z)/2 (= 1, 0, 0 for
    z > 0, < 0, = 0, autograd's convention included): the engine rewrites Heaviside to Piecewise *deeply*,
    and a Heaviside or Abs inside a Heaviside's argument becomes nested Piecewise conditions its torch
    printer cannot compile.
    """
    if values == "gate":
        return expr.replace(lambda e: isinstance(e, LeakyRelu), lambda e: e.args[0] * gate(*e.args))
    if values == "abs":
        def elementary(z, s):
            return s * z + (1 - s) * (z + sp.Abs(z)) / 2
        expr = expr.replace(lambda e: isinstance(e, LeakyRelu), lambda e: elementary(*e.args))
        return expr.replace(lambda e: isinstance(e, sp.Heaviside), lambda e: (sp.sign(e.args[0]) + sp.sign(e.args[0]) ** 2) / 2)
    raise ValueError(f"explicit(values={values!r}): values must be 'gate' or 'abs'.")


def vec(W: sp.Matrix) -> sp.Matrix:
    """Column-stacking vec: (n_l x n_{l-1}) -> (n_l n_{l-1}) x 1, entry j n_l + i is W[i, j]."""
    return W.T.reshape(W.rows * W.cols, 1)  # rows of W^T are columns of W


# --------------------------------------------------------------------------- deep network, K_l


def _check_layers(x: sp.Matrix, Ws: Sequence[sp.Matrix]) -> None:
    if not Ws:
        raise ValueError("Ws is empty; pass the layer weights [W_1, ..., W_L] (W_l is n_l x n_{l-1}).")
    width = x.rows
    for l, W in enumerate(Ws, start=1):
        if W.cols != width:
            raise ValueError(f"W_{l} is {W.rows} x {W.cols} but layer {l - 1} has width {width}; W_l must be n_l x n_(l-1).")
        width = W.rows


def _layer(W: sp.Matrix, f: sp.Matrix, last: bool, slope) -> tuple[sp.Matrix, sp.Matrix]:
    z = W * f  # (n_l x n_{l-1}) (n_{l-1} x 1) -> (n_l x 1)
    return z, (z if last else z.applyfunc(lambda e: LeakyRelu(e, slope)))


def forward(x: sp.Matrix, Ws: Sequence[sp.Matrix], slope=0) -> tuple[list[sp.Matrix], list[sp.Matrix]]:
    """(z, f): z[l] = W_l f[l-1] for l = 1..L (z[0] is None), f[0] = x, f[l] = sigma(z[l]), f[L] = z[L] (linear output)."""
    _check_layers(x, Ws)
    z, f = [None], [sp.Matrix(x)]
    for l, W in enumerate(Ws, start=1):
        zl, fl = _layer(W, f[-1], l == len(Ws), slope)
        z.append(zl)
        f.append(fl)
    return z, f


def network_output(x: sp.Matrix, Ws: Sequence[sp.Matrix], slope=0, values: str = "abs") -> sp.Matrix:
    """f_L(x), n_L x 1, in explicit form."""
    return explicit(forward(x, Ws, slope)[1][-1], values)


def output_jacobian(x: sp.Matrix, Ws: Sequence[sp.Matrix], layer: int, slope=0, values: str = "abs") -> sp.Matrix:
    """J_l = d f_L / d z_l (n_L x n_l), derived by differentiating the layers above l at a free z_l."""
    z, f = forward(x, Ws, slope)
    L = len(Ws)
    if not 1 <= layer <= L:
        raise ValueError(f"layer must be in 1..{L} for a depth-{L} network, got {layer!r}.")
    zeta = sp.Matrix(sp.symbols(f"zeta_0:{Ws[layer - 1].rows}", real=True))  # free z_l, (n_l x 1)
    out = zeta if layer == L else zeta.applyfunc(lambda e: LeakyRelu(e, slope))
    for k in range(layer + 1, L + 1):
        out = _layer(Ws[k - 1], out, k == L, slope)[1]
    J = out.jacobian(zeta)  # (n_L x n_l)
    return explicit(J.xreplace(dict(zip(zeta, z[layer]))), values)


def connection(x: sp.Matrix, Ws: Sequence[sp.Matrix], layer: int, slope=0, values: str = "abs") -> sp.Matrix:
    """K_l(x) = f_{l-1}(x) (x) J_l^T(x): (n_{l-1} n_l) x n_L."""
    f_prev = explicit(forward(x, Ws, slope)[1][layer - 1], values)  # (n_{l-1} x 1)
    return sp.kronecker_product(f_prev, output_jacobian(x, Ws, layer, slope, values).T)  # (n_{l-1} n_l) x n_L


def weight_jacobian(x: sp.Matrix, Ws: Sequence[sp.Matrix], layer: int, slope=0, values: str = "abs") -> sp.Matrix:
    """(d f_L / d vec(W_l))^T by SymPy differentiation of the network: (n_{l-1} n_l) x n_L."""
    out = forward(x, Ws, slope)[1][-1]  # (n_L x 1)
    return explicit(out.jacobian(vec(Ws[layer - 1])).T, values)  # (n_L x n_l n_{l-1})^T


# --------------------------------------------------------------------------- the covariance operator


def _points(X: sp.Matrix, D: sp.Matrix) -> list[list[sp.Matrix]]:
    """points[i][a] = x_i + D_a (column vectors): sample i under augmentation a."""
    if X.cols != D.cols:
        raise ValueError(f"X is {X.rows} x {X.cols} but D is {D.rows} x {D.cols}; augmentation offsets need the input dimension {X.cols}.")
    return [[(X[i, :] + D[a, :]).T for a in range(D.rows)] for i in range(X.rows)]  # (1 x d)^T -> (d x 1)


def augment_mean_connection(Ws, X, D, layer: int, slope=0) -> list[sp.Matrix]:
    """[K_bar_l(x_i)] over the samples i: the mean of K_l over the augmentations a."""
    out = []
    for row in _points(X, D):
        K = [connection(p, Ws, layer, slope) for p in row]  # one (p x n_L) per augmentation
        out.append(sum(K[1:], K[0]) / len(K))
    return out


def _variance(values: Sequence[sp.Matrix]) -> sp.Matrix:
    """V[K] = E[K K^T] - E[K] E[K]^T over equally likely values (each p x q): p x p."""
    n = len(values)
    mean = sum(values, sp.zeros(*values[0].shape)) / n
    return sum((K * K.T for K in values), sp.zeros(values[0].rows, values[0].rows)) / n - mean * mean.T


def covariance_operator(Ws, X, D, layer: int, slope=0) -> sp.Matrix:
    """V_x[K_bar_l(x)], x uniform over the rows of X, augmentation uniform over the rows of D."""
    return _variance(augment_mean_connection(Ws, X, D, layer, slope))


def covariance_gradient(Ws, X, D, layer: int, slope=0) -> sp.Matrix:
    """2 V_x[K_bar_l(x)] vec(W_l): the claimed -dL_simp / d vec(W_l).

    Multiplied right to left, 2 (E[K_bar (K_bar^T w)] - E[K_bar] (E[K_bar]^T w)), which is the same matrix
    product as ``2 * covariance_operator(...) * vec(W_l)`` without forming the p x p operator (a p times
    smaller expression).
    """
    w = vec(Ws[layer - 1])  # (p x 1)
    K_bar = augment_mean_connection(Ws, X, D, layer, slope)  # [p x n_L]
    mean = sum(K_bar, sp.zeros(*K_bar[0].shape)) / len(K_bar)
    second = sum((K * (K.T * w) for K in K_bar), sp.zeros(w.rows, 1)) / len(K_bar)  # (p x n_L)(n_L x 1)
    return 2 * (second - mean * (mean.T * w))


# --------------------------------------------------------------------------- Theorem 4


def _rationals(rows) -> sp.Matrix:
    return sp.Matrix([[sp.Rational(v) for v in r] for r in rows])


# Two receptive fields j = 0, 1, each 2-D; z_j in {0, 1} and z'_j in {0, 1, 2} independent and uniform,
# x_j = THEOREM4_DATA[j][z_j][z'_j]. Independence of (z_0, z'_0) and (z_1, z'_1) makes Cov_z[u_0, u_1] = 0.
THEOREM4_DATA = (
    (_rationals([["1", "1/4"], ["3/4", "-1/2"], ["-1/2", "-1"]]), _rationals([["1/2", "1"], ["5/4", "1/4"], ["1/4", "-3/4"]])),
    (_rationals([["-1/4", "1"], ["1", "3/4"], ["-1", "1/2"]]), _rationals([["1/2", "1/2"], ["-3/4", "-1/4"], ["3/4", "5/4"]])),
)


def theorem4_u(w1_j: sp.Matrix, j: int) -> list[sp.Matrix]:
    """u_j(z) = E_{z'|z}[x_j 1(w1_j^T x_j > 0)] for z = 0, 1: each d x 1."""
    out = []
    for table in THEOREM4_DATA[j]:  # one z: rows are the z' values
        rows = [table[a, :].T for a in range(table.rows)]  # (1 x d)^T -> (d x 1)
        out.append(sum((x * sp.Heaviside((w1_j.T * x)[0], 0) for x in rows), sp.zeros(w1_j.rows, 1)) / len(rows))
    return out


def theorem4_A(w1_j: sp.Matrix, j: int) -> sp.Matrix:
    """A_j = V_z[u_j(z)], d x d."""
    return _variance(theorem4_u(w1_j, j))


def theorem4_field(w1_0: sp.Matrix, w1_1: sp.Matrix, w2: sp.Matrix) -> sp.Matrix:
    """Theorem 4's printed right-hand side, stacked (w2_0', w2_1', w1_0'^T, w1_1'^T)^T: 6 x 1."""
    w1 = (w1_0, w1_1)
    A = [theorem4_A(w1[j], j) for j in range(2)]
    dw2 = [w2[j] * (w1[j].T * A[j] * w1[j])[0] for j in range(2)]
    dw1 = [w2[j] ** 2 * A[j] * w1[j] for j in range(2)]
    return sp.Matrix.vstack(sp.Matrix(dw2), *dw1)  # (2 + 2 + 2) x 1


def conserved_quantity(w1_j: sp.Matrix, w2_j: sp.Expr) -> sp.Expr:
    """w2_j^2 - |w1_j|^2, derived in ``derivation_conservation``."""
    return w2_j**2 - (w1_j.T * w1_j)[0]


# --------------------------------------------------------------------------- one-neuron example

ONE_NEURON_OBJECTS = ((1, 1), (1, 0, 1))  # z0 = "11", "101"
ONE_NEURON_PATTERNS = ((0, 0), (0, 1), (1, 0), (1, 1))  # rows of X: x_00, x_01, x_10, x_11


def window_counts(obj: Sequence[int], d) -> dict[tuple[int, int], sp.Expr]:
    """How many of the d translations show each 2-pixel pattern in a fixed window (circular, d >= len(obj) + 1).

    The window overlaps the object for len(obj) + 1 translations, seeing consecutive pairs of
    (0, *obj, 0); for the other d - len(obj) - 1 it sees 00.
    """
    padded = (0, *obj, 0)
    counts = {p: sp.S.Zero for p in ONE_NEURON_PATTERNS}
    for k in range(len(padded) - 1):
        counts[(padded[k], padded[k + 1])] += 1
    counts[(0, 0)] += d - (len(obj) + 1)
    return counts


def _pattern_rows(X: sp.Matrix) -> list[sp.Matrix]:
    if X.rows != 4:
        raise ValueError(f"X has {X.rows} rows; the one-neuron example needs 4: x_00, x_01, x_10, x_11.")
    return [X[k, :].T for k in range(4)]  # (1 x m)^T -> (m x 1)


def one_neuron_covariance(w: sp.Matrix, X: sp.Matrix, d=6, slope=0) -> sp.Matrix:
    """V_{z0}[K_bar(z0)] derived from the window counts, K(x) = gate(w^T x) x for f = sigma(w^T x)."""
    x = _pattern_rows(X)
    K_bar = []
    for obj in ONE_NEURON_OBJECTS:
        n = window_counts(obj, d)
        K_bar.append(sum((n[p] * gate((w.T * x[k])[0], slope) * x[k] for k, p in enumerate(ONE_NEURON_PATTERNS)), sp.zeros(w.rows, 1)) / d)
    return _variance(K_bar)


def _signed_patterns(d) -> list[sp.Expr]:
    first, second = (window_counts(obj, d) for obj in ONE_NEURON_OBJECTS)
    return [first[p] - second[p] for p in ONE_NEURON_PATTERNS]  # derived: (+1, -1, -1, +1)


def gated_one_neuron_covariance(w: sp.Matrix, X: sp.Matrix, d=6, slope=0) -> sp.Matrix:
    """The corrected form 1/(4 d^2) u_w u_w^T, u_w = x_11 g_11 + x_00 g_00 - x_01 g_01 - x_10 g_10."""
    x = _pattern_rows(X)
    u = sum((c * gate((w.T * x[k])[0], slope) * x[k] for k, c in enumerate(_signed_patterns(d))), sp.zeros(w.rows, 1))
    return _printed_covariance(u, u.T, sp.S(d))


def _printed_covariance(u, u_t, d):
    """The slide's 1/(4 d^2) u u^T, u_t = u^T (a separate argument, so it renders at noncommutative symbols)."""
    return u * u_t / (4 * d**2)


def _printed_u(x00, x01, x10, x11):
    """The slide's u := x_11 + x_00 - x_01 - x_10 (typed once)."""
    return x11 + x00 - x01 - x10


def printed_one_neuron_covariance(X: sp.Matrix, d=6) -> sp.Matrix:
    """The slide's printed form 1/(4 d^2) u u^T, u := x_11 + x_00 - x_01 - x_10 (typed once, under test)."""
    u = _printed_u(*_pattern_rows(X))
    return _printed_covariance(u, u.T, sp.S(d))


def one_neuron_statement(printed_u: bool = True) -> str:
    """LaTeX of V[K_bar] = 1/(4d^2) u u^T, and with printed_u the slide's u, rendered from the forms above."""
    u, u_t = sp.symbols("u u_t", commutative=False)
    main = statement_latex(r"\mathbb{V}_{z_0}[\bar K(z_0)]", _printed_covariance, u, u_t, sp.Symbol("d", positive=True),
                           symbol_names={u: r"\mathbf{u}", u_t: r"\mathbf{u}^\top"})
    if not printed_u:
        return main
    x = sp.symbols("x00 x01 x10 x11")
    names = {xi: rf"\mathbf{{x}}_{{{xi.name[1:]}}}" for xi in x}
    return rf"{main},\ " + statement_latex(r"\mathbf{u}", _printed_u, *x, symbol_names=names)


# --------------------------------------------------------------------------- derivations


def _matrix(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, sp.symbols(f"{name}_0:{rows}_0:{cols}", real=True))


def _generic_network(widths=(2, 2, 2, 2)):
    x = _matrix("x", widths[0], 1)
    Ws = [_matrix(f"W{l}", widths[l], widths[l - 1]) for l in range(1, len(widths))]
    return x, Ws


_SLOPE = sp.Symbol("s", nonnegative=True)


def derivation_connection() -> Derivation:
    """f_L = K_l^T vec(W_l) for l = 1, 2, 3, generic weights, leaky slope s (ReLU s = 0, linear s = 1)."""
    x, Ws = _generic_network()
    out = network_output(x, Ws, _SLOPE, "gate")
    derived = sp.Matrix.vstack(*[connection(x, Ws, l, _SLOPE, "gate").T * vec(Ws[l - 1]) for l in (1, 2, 3)])
    printed = sp.Matrix.vstack(out, out, out)
    return compare("f_L(x) = K_l(x)^T vec(W_l), K_l = f_{l-1} (x) J_l^T, for every layer of a depth-3 leaky-ReLU "
                   "network without biases (generic symbolic weights)", derived, printed, simplify=sp.expand)


def derivation_weight_jacobian() -> Derivation:
    """d f_L / d vec(W_l) (SymPy's chain rule) = K_l^T for l = 1, 2, 3: the connection is the weight gradient."""
    x, Ws = _generic_network()
    derived = sp.Matrix.vstack(*[weight_jacobian(x, Ws, l, _SLOPE, "gate") for l in (1, 2, 3)])
    printed = sp.Matrix.vstack(*[connection(x, Ws, l, _SLOPE, "gate") for l in (1, 2, 3)])
    return compare("(d f_L / d vec(W_l))^T = f_{l-1} (x) J_l^T for every layer of a depth-3 leaky-ReLU network",
                   derived, printed, simplify=sp.expand)


def derivation_gradient_identity(samples: int = 3, augmentations: int = 2, p: int = 2, q: int = 2) -> Derivation:
    """For f = K^T w, K fixed at each enumerated (sample, augmentation): -dL_simp/dw = 2 V_x[K_bar] w.

    L_simp = E_{i,a,b}[1/2 |f_ia - f_ib|^2] - E_{i,a,j,b}[1/2 |f_ia - f_jb|^2] (x' independent of x).
    """
    w = _matrix("w", p, 1)
    K = [[_matrix(f"K{i}{a}", p, q) for a in range(augmentations)] for i in range(samples)]
    f = [[Kia.T * w for Kia in row] for row in K]  # (q x p)(p x 1) -> (q x 1)

    def half_sq(u):
        return (u.T * u)[0] / 2

    pos = sum(half_sq(f[i][a] - f[i][b]) for i in range(samples) for a in range(augmentations) for b in range(augmentations))
    neg = sum(half_sq(f[i][a] - f[j][b]) for i in range(samples) for a in range(augmentations)
              for j in range(samples) for b in range(augmentations))
    loss = pos / (samples * augmentations**2) - neg / (samples * augmentations) ** 2
    derived = -sp.Matrix([sp.diff(loss, wk) for wk in w])
    K_bar = [sum(row, sp.zeros(p, q)) / augmentations for row in K]
    printed = 2 * _variance(K_bar) * w
    return compare("-d/dw {E[1/2|f(x1)-f(x2)|^2] - E[1/2|f(x1)-f(x')|^2]} = 2 V_x[K_bar(x)] w for f = K^T w "
                   "(enumerated: 3 samples x 2 augmentations, K 2 x 2)", derived, printed, simplify=sp.expand)


def derivation_theorem4() -> Derivation:
    """Theorem 4 from vec(W_l)' = V[K_bar_l] vec(W_l) with K_bar_1 = [w2_j u_j], K_bar_2 = [w1_j^T u_j].

    U = (u_0; u_1) has covariance C (generic symmetric 4 x 4); K_bar_1 = (diag(w2) (x) I_2) U and
    K_bar_2 = blockdiag(w1_0^T, w1_1^T) U are linear in U, so V[K_bar] = M C M^T. Setting the off-diagonal
    blocks Cov[u_0, u_1] to zero, SymPy multiplies out and compares with the printed Theorem 4.
    """
    w1 = [_matrix("w1_0", 2, 1), _matrix("w1_1", 2, 1)]
    w2 = _matrix("w2", 2, 1)
    A = [sp.Matrix(2, 2, lambda r, c, j=j: sp.Symbol(f"A{j}_{min(r, c)}{max(r, c)}", real=True)) for j in range(2)]
    C = sp.diag(A[0], A[1])  # Cov[U] with Cov[u_0, u_1] = 0: 4 x 4
    M1 = sp.kronecker_product(sp.diag(w2[0], w2[1]), sp.eye(2))  # K_bar_1 = M1 U: 4 x 4
    M2 = sp.diag(w1[0].T, w1[1].T)  # K_bar_2 = M2 U: 2 x 4
    dw1 = M1 * C * M1.T * sp.Matrix.vstack(*w1)  # V[K_bar_1] vec(W_1): 4 x 1
    dw2 = M2 * C * M2.T * w2  # V[K_bar_2] w2: 2 x 1
    derived = sp.Matrix.vstack(dw2, dw1)
    printed = sp.Matrix([w2[j] * (w1[j].T * A[j] * w1[j])[0] for j in range(2)]
                        + [e for j in range(2) for e in w2[j] ** 2 * A[j] * w1[j]])
    return compare("covariance-operator flow V[K_bar_l] vec(W_l) of the two-layer net with Cov[u_0, u_1] = 0 equals "
                   "Theorem 4: w2_j' = w2_j w1_j^T A_j w1_j, w1_j' = w2_j^2 A_j w1_j", derived, printed, simplify=sp.expand)


def derivation_conservation() -> Derivation:
    """Find Q = w2^2 + beta |w1|^2 with dQ/dt = 0 along Theorem 4's flow (A_j(t) any symmetric path): beta = -1."""
    t = sp.Symbol("t", real=True)
    beta = sp.Symbol("beta", real=True)
    w2 = sp.Function("w2")(t)
    w1 = sp.Matrix([sp.Function(f"w1_{k}")(t) for k in range(2)])
    A = sp.Matrix(2, 2, lambda r, c: sp.Function(f"A_{min(r, c)}{max(r, c)}")(t))  # symmetric, may move with W
    flow = {w2.diff(t): w2 * (w1.T * A * w1)[0], **dict(zip(w1.diff(t), w2**2 * A * w1))}
    Q = w2**2 + beta * (w1.T * w1)[0]
    dQ = sp.expand(Q.diff(t).subs(flow))
    (solution,) = sp.solve(sp.Poly(dQ, w2).coeffs(), [beta], dict=True)
    derived = Q.subs(solution)
    return compare("the first integral of Theorem 4's flow of the form w2_j^2 + beta |w1_j|^2 has beta = -1",
                   derived, conserved_quantity(w1, w2), simplify=sp.expand)


@functools.cache
def _one_neuron_symbols():
    d = sp.Symbol("d", positive=True, integer=True)
    return d, _matrix("w", 2, 1), _matrix("x", 4, 2)


def derivation_one_neuron_linear() -> Derivation:
    """Linear neuron (every gate open), symbolic d: derived V_{z0}[K_bar] equals the printed 1/(4d^2) u u^T."""
    d, w, X = _one_neuron_symbols()
    return compare("one neuron, objects 11 / 101 translating in a circular world of d pixels, linear neuron: "
                   "V_{z0}[K_bar(z0)] = 1/(4 d^2) u u^T, u = x_11 + x_00 - x_01 - x_10",
                   one_neuron_covariance(w, X, d, slope=1), printed_one_neuron_covariance(X, d), simplify=sp.expand)


def derivation_one_neuron_relu() -> Derivation:
    """ReLU neuron, symbolic d and gates: derived V_{z0}[K_bar] = 1/(4d^2) u_w u_w^T with gated u_w."""
    d, w, X = _one_neuron_symbols()
    return compare("one neuron, ReLU: V_{z0}[K_bar(z0)] = 1/(4 d^2) u_w u_w^T, u_w = sum_ab c_ab 1(w^T x_ab > 0) x_ab, "
                   "c = (+1, -1, -1, +1) for (00, 01, 10, 11)",
                   one_neuron_covariance(w, X, d, slope=0), gated_one_neuron_covariance(w, X, d, slope=0), simplify=sp.expand)


# --------------------------------------------------------------------------- InfoNCE and the l2 distance


def cosine_similarity(a: sp.Matrix, b: sp.Matrix) -> sp.Expr:
    """sim(u, v) = u^T v for u = a/|a|, v = b/|b|: the cosine of a and b."""
    return dot(a, b) / (norm(a) * norm(b))


def infonce_l2(sim):
    """The slide's -r = -|u - v|^2 = 2 sim(u, v) - 2 for |u| = |v| = 1, right side (typed once)."""
    return 2 * sim - 2


def infonce_statement() -> str:
    sim = sp.Symbol("sim")
    return (statement_latex(r"-\|\mathbf{u} - \mathbf{v}\|^2", infonce_l2, sim,
                            symbol_names={sim: r"\mathrm{sim}(\mathbf{u}, \mathbf{v})"})
            + r",\ \|\mathbf{u}\| = \|\mathbf{v}\| = 1")


def derivation_infonce_l2() -> Derivation:
    """-|a/|a| - b/|b||^2, expanded and simplified by SymPy, is the printed 2 sim(u, v) - 2 (d = 3, generic a, b)."""
    a, b = _matrix("a", 3, 1), _matrix("b", 3, 1)
    u, v = a / norm(a), b / norm(b)
    derived = sp.simplify(-dot(u - v, u - v))
    return compare("InfoNCE distance r = |u - v|^2 on the unit sphere: -r = 2 sim(u, v) - 2", derived,
                   infonce_l2(cosine_similarity(a, b)))


# --------------------------------------------------------------------------- the operator is PSD


def psd_quadratic_forms(Ws, X, D, vs, slope=0) -> sp.Matrix:
    """|E_x[K_bar_l(x)]^T v_l|^2 for each layer l = 1..len(vs): v_l^T (mean mean^T) v_l, len(vs) x 1.

    V_x[K_bar_l] >= 0 (PSD) is v^T E[K_bar K_bar^T] v >= this for every v: the mean's part, the right side of
    the bound whose left side the claim estimates by autograd."""
    out = []
    for l, v in enumerate(vs, start=1):
        K_bar = augment_mean_connection(Ws, X, D, l, slope)  # [p x n_L]
        mean = sum(K_bar, sp.zeros(*K_bar[0].shape)) / len(K_bar)
        m = mean.T * v  # (n_L x p)(p x 1)
        out.append((m.T * m)[0])
    return sp.Matrix(out)


def derivation_psd() -> Derivation:
    """v^T V[K] v = E[|(K - E K)^T v|^2], a mean of squares (>= 0), for 3 generic equally likely K (2 x 2)."""
    Ks = [_matrix(f"K{i}", 2, 2) for i in range(3)]
    v = _matrix("v", 2, 1)
    mean = sum(Ks, sp.zeros(2, 2)) / 3
    derived = (v.T * _variance(Ks) * v)[0]
    printed = sum((dot((K - mean).T * v, (K - mean).T * v) for K in Ks), sp.S.Zero) / 3
    return compare("the covariance operator is PSD: v^T V_x[K] v = E_x |(K - E K)^T v|^2 >= 0", derived, printed,
                   simplify=sp.expand)
