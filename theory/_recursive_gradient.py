"""Recursive gradient rule for deep ReLU teacher-student networks (Tian, ICML 2020, Lemma 1), in SymPy.

Family ``recursive-gradient``: derivation ``theory._recursive_gradient`` (the paper's equation, derived) ·
estimators ``numerics._recursive_gradient`` · claims ``verify.claims._recursive_gradient`` · tests ``tests/test_recursive_gradient.py``.

Source: seed ``000_111be25265ff9c8a.txt`` ~lines 215-235 ("Weight update rule", "Lemma1: Recursive
Gradient Rule"), citing Y. Tian, *Student Specialization in Deep ReLU Networks With Finite Width and
Input Dimension*, ICML 2020 (arXiv:1909.13458). The slide prints

    W_l' = E_x[f_{l-1}(x) g_l(x)^T],    g_l(x) = D_l(x) [A_l(x) f*_l(x) - B_l(x) f_l(x)],

"A_l(x) and B_l(x) are piece-wise constant", and leaves A_l, B_l undefined. Our reading (the paper's
Lemma 1): with the student's gated Jacobian from layer l to the output

    V_L = I_C,   V_{l-1}(x) = V_l(x) D_l(x) W_l^T   (so f_L = V_l f_l: ReLU is positively homogeneous),

and V*_l likewise for the teacher, A_l = V_l^T V*_l (n_l x m_l) and B_l = V_l^T V_l (n_l x n_l).

Conventions (the paper's): W_l is n_{l-1} x n_l (column j = weights into node j), pre-activation
h_l = W_l^T f_{l-1}, f_0 = x, f_l = D_l h_l with D_l = diag(1(h_l > 0)) for l < L, and a linear output
f_L = h_L (D_L = I). The loss is J = 1/2 E||f*_L - f_L||^2 and g_l = -dJ_x/dh_l, the back-propagated
gradient in the *descent* direction (so g_L = f*_L - f_L and W_l' = -dJ/dW_l is gradient flow). No
biases. A_l depends on x only through the gates of layers l+1..L-1 of both networks, B_l through the
student's: both are constant on every region of input space where no such gate flips (D_l itself does
not enter them).

| code                  | paper            | meaning                                                    |
|-----------------------|------------------|------------------------------------------------------------|
| ``weights``           | W_1..W_L         | student layers, W_l is n_{l-1} x n_l                        |
| ``weights_star``      | W*_1..W*_L       | teacher layers, W*_l is m_{l-1} x m_l (m_0 = d, m_L = C)    |
| ``x``                 | x                | input, d x 1                                                |
| ``h[l], f[l]``        | h_l, f_l         | pre-activation, activation of layer l (f[0] = x)            |
| ``gates[l]``          | D_l (diagonal)   | list of the diagonal entries 1(h_l > 0); all ones at l = L  |
| ``V[l]``              | V_l              | C x n_l gated Jacobian d f_L / d f_l                        |
| ``A, B``              | A_l, B_l         | V_l^T V*_l, V_l^T V_l                                       |
| ``g[l]``              | g_l              | -dJ_x/dh_l                                                 |
| ``weight_update[l]``  | W_l' per sample  | f_{l-1} g_l^T (its mean over x is W_l')                     |

Derivation (``derivation_recursive_gradient``): the gates are replaced by free symbols, h_l and f*_l by
free vectors; SymPy builds f_L and f*_L by forward propagation from layer l, differentiates
J = 1/2 ||f*_L - f_L||^2 with respect to h_l (``sp.diff``) and shows the result equal to the printed
D_l [A_l f*_l - B_l f_l]. Because the gate symbols are arbitrary, the identity holds for every gate
pattern: the rule is exact wherever the gates are locally constant, i.e. off the measure-zero set where
a pre-activation is 0.
"""

from __future__ import annotations

import sympy as sp

from ._derivation import Derivation, compare

__all__ = [
    "derivation_recursive_gradient",
    "derivation_weight_update",
    "forward",
    "gated_jacobians",
    "mixing_matrices",
    "recursive_gradient",
    "weight_update",
]


def _gate(h: sp.Expr) -> sp.Expr:
    """1(h > 0) = (sign h + sign^2 h) / 2, with 1(0) = 0 as PyTorch's relu'(0) = 0.

    Exact in floating point (sign is -1, 0 or 1), so the gate is only as uncertain as the sign of h, and
    relu(h) = 1(h > 0) h is exactly 0 for a closed gate, as ``torch.relu`` ((h + |h|)/2 is not: SymPy
    distributes it, and the float sum can leave 1e-42 behind, which opens a gate downstream).
    (``sp.Heaviside`` nested inside another gate's argument compiles to a ``torch.where`` on a float
    condition in the engine's printer; sign(relu h) is fragile: SymPy distributes (h + |h|)/2 and the
    float sum need not cancel to exactly 0 for h < 0.)
    """
    s = sp.sign(h)
    return (s + s**2) / 2


def _check_layers(name: str, weights, d: int) -> list[sp.Matrix]:
    weights = [sp.Matrix(W) for W in weights]
    if not weights:
        raise ValueError(f"{name} is empty; pass the layer matrices [W_1, ..., W_L], W_l of shape n_(l-1) x n_l.")
    rows = d
    for i, W in enumerate(weights, start=1):
        if W.shape[0] != rows:
            raise ValueError(f"{name}[{i - 1}] (W_{i}) has {W.shape[0]} rows but layer {i - 1} has {rows} units; W_l must be n_(l-1) x n_l.")
        rows = W.shape[1]
    return weights


def forward(weights, x: sp.Matrix) -> tuple[list, list, list]:
    """(h, gates, f) for l = 0..L; h[0] = None, gates[0] = None, f[0] = x; the output layer is linear.

    f_l = D_l h_l = relu(h_l), the diagonal of D_l being 1(h_l > 0) (``_gate``) for l < L; D_L = I.
    """
    x = sp.Matrix(x)
    weights = _check_layers("weights", weights, x.shape[0])
    L = len(weights)
    h, gates, f = [None], [None], [x]
    for l, W in enumerate(weights, start=1):
        h_l = W.T * f[-1]  # (n_l x n_{l-1}) (n_{l-1} x 1) -> n_l x 1
        D_l = [sp.S.One] * h_l.shape[0] if l == L else [_gate(e) for e in h_l]
        f_l = h_l if l == L else sp.Matrix([d * e for d, e in zip(D_l, h_l)])  # D_l h_l = relu(h_l)
        h.append(h_l)
        gates.append(D_l)
        f.append(f_l)
    return h, gates, f


def gated_jacobians(weights, gates) -> list[sp.Matrix]:
    """V_l for l = 0..L: V_L = I_C, V_{l-1} = V_l D_l W_l^T (C x n_l each)."""
    L = len(weights)
    C = weights[-1].shape[1]
    V = [None] * (L + 1)
    V[L] = sp.eye(C)
    for l in range(L, 0, -1):
        V[l - 1] = V[l] * sp.diag(*gates[l]) * weights[l - 1].T  # (C x n_l)(n_l x n_l)(n_l x n_{l-1})
    return V


def mixing_matrices(weights, weights_star, x: sp.Matrix) -> list[tuple[sp.Matrix, sp.Matrix]]:
    """[(A_l, B_l) for l = 0..L], A_l = V_l^T V*_l, B_l = V_l^T V_l, gates evaluated at x."""
    _, gates, _ = forward(weights, x)
    _, gates_star, _ = forward(weights_star, x)
    V = gated_jacobians([sp.Matrix(W) for W in weights], gates)
    V_star = gated_jacobians([sp.Matrix(W) for W in weights_star], gates_star)
    if V[-1].shape != V_star[-1].shape or len(V) != len(V_star):
        raise ValueError(f"student and teacher must have the same depth L and output width C, got {len(V) - 1} layers / C = {V[-1].shape[0]} and {len(V_star) - 1} layers / C = {V_star[-1].shape[0]}.")
    return [(V[l].T * V_star[l], V[l].T * V[l]) for l in range(len(V))]


def recursive_gradient(weights, weights_star, x: sp.Matrix) -> list:
    """[None, g_1, ..., g_L], g_l = D_l [A_l f*_l - B_l f_l] (Lemma 1), as n_l x 1 Matrices."""
    _, gates, f = forward(weights, x)
    _, _, f_star = forward(weights_star, x)
    AB = mixing_matrices(weights, weights_star, x)
    g = [None]
    for l in range(1, len(f)):
        A, B = AB[l]
        g.append(sp.diag(*gates[l]) * (A * f_star[l] - B * f[l]))  # (n_l x n_l)(n_l x 1)
    return g


def weight_update(weights, weights_star, x: sp.Matrix) -> list:
    """[None, f_0 g_1^T, ..., f_{L-1} g_L^T]: the per-sample weight update (its mean over x is W_l')."""
    _, _, f = forward(weights, x)
    g = recursive_gradient(weights, weights_star, x)
    return [None] + [f[l - 1] * g[l].T for l in range(1, len(f))]  # (n_{l-1} x 1)(1 x n_l)


# --------------------------------------------------------------------------- derivations


def _symbolic_net(prefix: str, widths: tuple[int, ...]) -> tuple[list[sp.Matrix], list[list[sp.Symbol]]]:
    """Weight symbols W_l (widths[l-1] x widths[l]) and gate symbols for the hidden layers."""
    weights = [sp.Matrix(widths[l - 1], widths[l], sp.symbols(f"{prefix}W{l}_0:{widths[l - 1]}_0:{widths[l]}", real=True))
               for l in range(1, len(widths))]
    gates = [None] + [list(sp.symbols(f"{prefix}d{l}_0:{widths[l]}", real=True)) for l in range(1, len(widths) - 1)]
    gates.append([sp.S.One] * widths[-1])
    return weights, gates


def _propagate(weights, gates, f_l: sp.Matrix, l: int) -> sp.Matrix:
    """f_L from f_l by forward propagation with the given gates (f_{k} = D_k W_k^T f_{k-1})."""
    for k in range(l + 1, len(weights) + 1):
        h = weights[k - 1].T * f_l  # (n_k x n_{k-1})(n_{k-1} x 1)
        f_l = sp.Matrix([d * e for d, e in zip(gates[k], h)])
    return f_l


def derivation_recursive_gradient(widths=(2, 3, 2, 2), widths_star=(2, 2, 3, 2)) -> Derivation:
    """-dJ/dh_l by ``sp.diff`` equals D_l [V_l^T V*_l f*_l - V_l^T V_l f_l] at every hidden and output layer.

    Gates are free symbols (any gate pattern), h_l and f*_l free vectors; J = 1/2 ||f*_L - f_L||^2 with
    f_L, f*_L propagated forward from layer l. One row block per layer l = 1..L, stacked.
    """
    if widths[0] != widths_star[0] or widths[-1] != widths_star[-1] or len(widths) != len(widths_star):
        raise ValueError(f"widths {widths} and widths_star {widths_star} must share depth, input and output width.")
    W, D = _symbolic_net("", widths)
    Ws, Ds = _symbolic_net("s", widths_star)
    V, Vs = gated_jacobians(W, D), gated_jacobians(Ws, Ds)
    derived, printed = [], []
    for l in range(1, len(widths)):
        h_l = sp.Matrix(sp.symbols(f"h{l}_0:{widths[l]}", real=True))
        f_star_l = sp.Matrix(sp.symbols(f"fs{l}_0:{widths_star[l]}", real=True))
        f_l = sp.Matrix([d * e for d, e in zip(D[l], h_l)])  # D_l h_l
        r = _propagate(Ws, Ds, f_star_l, l) - _propagate(W, D, f_l, l)  # f*_L - f_L, C x 1
        J = (r.T * r)[0] / 2
        derived.append(sp.Matrix([-sp.diff(J, e) for e in h_l]))
        A, B = V[l].T * Vs[l], V[l].T * V[l]
        printed.append(sp.diag(*D[l]) * (A * f_star_l - B * f_l))
    return compare("-dJ/dh_l (sp.diff, gates as free symbols) equals D_l [A_l f*_l - B_l f_l] with A_l = V_l^T V*_l, "
                   f"B_l = V_l^T V_l, for every layer of student widths {widths}, teacher widths {widths_star}",
                   sp.Matrix.vstack(*derived), sp.Matrix.vstack(*printed), simplify=sp.expand)


def derivation_weight_update(widths=(2, 3, 2, 2), widths_star=(2, 2, 3, 2)) -> Derivation:
    """-dJ/dW_l by ``sp.diff`` equals f_{l-1} g_l^T (g_l from Lemma 1), for every layer l.

    f_{l-1} and f*_L are free (the teacher output does not depend on W_l), the gates of layers >= l are
    free symbols; each layer's n_{l-1} x n_l block is flattened and the blocks stacked.
    """
    W, D = _symbolic_net("", widths)
    V = gated_jacobians(W, D)
    f_star_L = sp.Matrix(sp.symbols(f"fsL_0:{widths[-1]}", real=True))
    derived, printed = [], []
    for l in range(1, len(widths)):
        f_prev = sp.Matrix(sp.symbols(f"f{l - 1}_0:{widths[l - 1]}", real=True))
        h_l = W[l - 1].T * f_prev
        f_l = sp.Matrix([d * e for d, e in zip(D[l], h_l)])
        r = f_star_L - _propagate(W, D, f_l, l)
        J = (r.T * r)[0] / 2
        derived.append(sp.Matrix([-sp.diff(J, e) for e in W[l - 1]]))  # row-major n_{l-1} x n_l
        g_l = sp.diag(*D[l]) * V[l].T * r  # D_l V_l^T (f*_L - f_L): Lemma 1 with f*_L = V*_l f*_l
        printed.append(sp.Matrix(list(f_prev * g_l.T)))
    return compare("-dJ/dW_l (sp.diff) equals f_{l-1} g_l^T for every layer: gradient flow is W_l' = E_x[f_{l-1} g_l^T]",
                   sp.Matrix.vstack(*derived), sp.Matrix.vstack(*printed), simplify=sp.expand)
