"""The cross-entropy distillation gradient, its minibatch decomposition, CWTM and DKPP, derived by SymPy.

Family ``distillation``: derivation ``theory._distillation`` (the paper's equation, derived) ·
estimators ``numerics._distillation`` · claims ``verify.claims._distillation`` · tests ``tests/test_distillation.py``.

Source: seed ``004_e20defa2be8d861e.txt`` (blog post on *Born Again Neural Networks*, Furlanello et al.,
ICML 2018, Section 3), and Hinton, Vinyals & Dean, *Distilling the Knowledge in a Neural Network*
(arXiv:1503.02531, Section 2.1, eqs. 2-3), which the seed cites as [2].

| code                  | paper / seed                   | meaning                                                  |
|-----------------------|--------------------------------|----------------------------------------------------------|
| ``z``                 | z = <z_1, ..., z_n>            | student logits, n x 1                                    |
| ``t``                 | t                              | teacher logits, n x 1 (Hinton: v)                        |
| ``T``                 | T (Hinton; the seed uses T=1)  | temperature, > 0 (the seed's T = sum e^{t_k} is ``S_t``)  |
| ``q = softmax(z/T)``  | q_i = e^{z_i}/Z                | student probabilities                                    |
| ``p = softmax(t/T)``  | p_i = e^{t_i}/T (seed)         | teacher probabilities                                    |
| ``y``                 | y_*                            | one-hot label                                            |
| ``Z, Tt``             | {z_s}, {t_s}, s = 1..b         | minibatch of student / teacher logits, b x n (row = sample) |
| ``label``             | *                              | the true label; WLOG the last class n (the seed says so) |
| ``argmax``            | * in CWTM / DKPP               | the teacher's argmax class, per sample                   |
| ``w``                 | p_{*,s} / sum_u p_{*,u}        | CWTM importance weight                                   |
| ``epsilon``           | 1/T                            | expansion variable of the high-temperature limit         |

Statements and our reading of the seed where its typesetting is garbled:

1. Gradient (seed, the aligned display): d/dz_i of L = -sum_k p_k log q_k is q_i - p_i. The seed writes
   ``e^t_i`` for e^{t_i} and, on the third line, d/dz_i (e^{z_i}/T) for d/dz_i (e^{z_i}/Z); we read both as
   typos. With temperature (Hinton eq. 2) the chain rule adds 1/T: grad = (q - p)/T, q, p at temperature T.
   SymPy differentiates the loss itself (``derived_gradient``) and proves it equal to that form.
2. The components sum to zero (sum q = sum p = 1); a one-hot target y gives (q - y)/T.
3. High temperature (Hinton eq. 3): T^2 grad -> (z - t)/n "if the logits have been zero-meaned". SymPy
   (``sp.limit``/``sp.series`` in epsilon = 1/T) gives the limit P(z - t)/n, P = I - 11^T/n the centring
   projector: the zero-mean assumption is needed (equal means suffice); without it the printed limit is
   off by (mean(z) - mean(t))/n in every component. The next term is c_1/T with
   c_1,i = [(zc_i^2 - mean(zc^2)) - (tc_i^2 - mean(tc^2))]/(2n), zc, tc the centred logits: the O(1/T)
   error is tight for n >= 3 and generic logits *even when they are zero-mean*; it vanishes for n = 2
   (T^2 grad is odd in the logits) and when t = -z (zero mean), where the error is O(1/T^2).
4. Minibatch (seed, second display): with L_s the single-sample loss and * = n the true label,
   (1/b) sum_s sum_i dL_s/dz_{i,s} = (1/b) sum_s (q_{*,s} - p_{*,s}) + (1/b) sum_s sum_{i<n} (q_{i,s} - p_{i,s}).
   Read literally -- a scalar summed over logits -- both sides are identically 0: the true-label term is
   exactly minus the dark-knowledge term. The information lies in the b x n gradient matrix (Q - P)/b
   split by column, not in the summed scalar.
5. CWTM (importance weighting, seed): (1/b) sum_s w_s (q_{*,s} - y_{*,s}) with w_s = p_{*,s}/sum_u p_{*,u},
   * = the teacher's argmax and y the one-hot argmax label. We read it as the gradient of
   L_CWTM = (1/b) sum_s w_s CE(z_s, y_s) with w_s constant (it depends on the teacher only); its gradient
   is the b x n matrix (1/b) w_s (q_s - y_s), whose argmax column is the seed's display.
6. DKPP: the teacher's non-argmax probabilities are permuted (we use the cyclic shift of the non-argmax
   classes in index order; the BAN paper draws a random permutation -- any permutation of the non-argmax
   entries has the same two properties). It leaves the argmax column of the gradient, and the scalar
   dark-knowledge term, unchanged; it changes the individual dark-knowledge components.
"""

from __future__ import annotations

import functools

import sympy as sp

from ._derivation import Derivation, compare, statement_latex

__all__ = [
    "softmax",
    "cross_entropy",
    "derived_gradient",
    "distillation_gradient",
    "one_hot_gradient",
    "gradient_sum",
    "hinton_limit",
    "high_temperature_coefficient",
    "centre",
    "batch_gradient",
    "true_label_term",
    "dark_knowledge_term",
    "teacher_argmax",
    "cwtm_weights",
    "cwtm_gradient",
    "dkpp_targets",
    "dkpp_gradient",
    "derivation_gradient",
    "derivation_gradient_sum",
    "derivation_hinton_limit",
    "derivation_centred_limit",
    "derivation_first_correction",
    "derivation_batch_terms_cancel",
    "derivation_cwtm_gradient",
    "first_correction_statement",
    "hinton_limit_statement",
    "kd_gradient_statement",
]

T = sp.Symbol("T", positive=True)
epsilon = sp.Symbol("epsilon", positive=True)  # 1/T


def _column(name: str, a) -> sp.Matrix:
    if not isinstance(a, sp.MatrixBase) or a.shape[1] != 1 or a.shape[0] < 2:
        raise ValueError(f"{name} must be an n x 1 SymPy Matrix with n >= 2 classes, got {type(a).__name__} of shape "
                         f"{getattr(a, 'shape', None)}; use sp.Matrix([...]).")
    return sp.Matrix(a)


def _pair(z, t) -> tuple[sp.Matrix, sp.Matrix]:
    z, t = _column("z", z), _column("t", t)
    if z.shape != t.shape:
        raise ValueError(f"z has {z.shape[0]} classes but t has {t.shape[0]}; student and teacher logits must match.")
    return z, t


def _batch(Z, Tt) -> tuple[sp.Matrix, sp.Matrix]:
    if not isinstance(Z, sp.MatrixBase) or not isinstance(Tt, sp.MatrixBase) or Z.shape != Tt.shape or Z.shape[1] < 2:
        raise ValueError(f"Z and Tt must be b x n SymPy Matrices of the same shape with n >= 2, got "
                         f"{getattr(Z, 'shape', None)} and {getattr(Tt, 'shape', None)}.")
    return sp.Matrix(Z), sp.Matrix(Tt)


def _symbols(name: str, n: int) -> sp.Matrix:
    return sp.Matrix(n, 1, sp.symbols(f"{name}_0:{n}", real=True))


# --------------------------------------------------------------------------- single sample


def softmax(v: sp.Matrix, temperature=1) -> sp.Matrix:
    """softmax(v / T): e^{v_i/T} / sum_k e^{v_k/T}, an n x 1 Matrix."""
    v = _column("v", v)
    e = v.applyfunc(lambda x: sp.exp(x / temperature))
    return e / sum(e)


def cross_entropy(z: sp.Matrix, target: sp.Matrix, temperature=1) -> sp.Expr:
    """-sum_k target_k log softmax(z/T)_k (target: probabilities, e.g. softmax(t/T) or a one-hot y)."""
    z, target = _pair(z, target)
    q = softmax(z, temperature)
    return -sum(target[k] * sp.log(q[k]) for k in range(z.shape[0]))


def derived_gradient(z: sp.Matrix, t: sp.Matrix, temperature=T) -> sp.Matrix:
    """d/dz of cross_entropy(z, softmax(t/T), T), by ``sp.diff`` (z must be a Matrix of symbols)."""
    z, t = _pair(z, t)
    loss = cross_entropy(z, softmax(t, temperature), temperature)
    return sp.Matrix([sp.diff(loss, zi) for zi in z])


def _printed_gradient(q, p, T):
    """The seed's q - p with Hinton's 1/T: (q - p)/T, for student probabilities q and targets p (typed once)."""
    return (q - p) / T


def distillation_gradient(z: sp.Matrix, t: sp.Matrix, T) -> sp.Matrix:
    """The seed's q - p, at temperature T with the chain rule's 1/T (Hinton eq. 2): (q - p)/T, n x 1."""
    z, t = _pair(z, t)
    return _printed_gradient(softmax(z, T), softmax(t, T), T)


def one_hot_gradient(z: sp.Matrix, T, label: int = -1) -> sp.Matrix:
    """Gradient for a one-hot target y = e_label (default: the last class, the seed's *): (q - y)/T."""
    z = _column("z", z)
    y = sp.zeros(z.shape[0], 1)
    y[label] = 1
    return _printed_gradient(softmax(z, T), y, T)


def gradient_sum(z: sp.Matrix, t: sp.Matrix, T) -> sp.Expr:
    """sum_i of the printed gradient, *not* simplified: 0 in value, with |terms| = 2/T as its scale."""
    return sp.Add(*distillation_gradient(z, t, T))


def centre(v: sp.Matrix) -> sp.Matrix:
    """v - mean(v) 1 (the zero-meaned logits of Hinton eq. 3)."""
    v = _column("v", v)
    return v - sp.ones(*v.shape) * sum(v) / v.shape[0]


def _printed_limit(z, t, n):
    """Hinton eq. 3's high-temperature limit of T^2 grad, (z - t)/n (typed once)."""
    return (z - t) / n


def hinton_limit(z: sp.Matrix, t: sp.Matrix) -> sp.Matrix:
    """Hinton eq. 3's printed high-temperature limit of T^2 grad: (z - t)/n."""
    z, t = _pair(z, t)
    return _printed_limit(z, t, z.shape[0])


def _printed_first_correction(z_i, mean_z2, t_i, mean_t2, n):
    """c_{1,i} = [(z_i^2 - mean z^2) - (t_i^2 - mean t^2)] / (2n), z, t centred (typed once)."""
    return ((z_i**2 - mean_z2) - (t_i**2 - mean_t2)) / (2 * n)


def _tempered_difference(z: sp.Matrix, t: sp.Matrix) -> sp.Matrix:
    """T (q - p) = T^2 grad as a function of epsilon = 1/T."""
    return (softmax(z, 1 / epsilon) - softmax(t, 1 / epsilon)) / epsilon


def high_temperature_coefficient(z: sp.Matrix, t: sp.Matrix, k: int) -> sp.Matrix:
    """c_k in T^2 grad = sum_k c_k T^{-k}: the Taylor coefficient g^{(k+1)}(0)/(k+1)! of
    g(epsilon) = softmax(epsilon z) - softmax(epsilon t) (T^2 grad = g(epsilon)/epsilon, g(0) = 0)."""
    z, t = _pair(z, t)
    g = softmax(z, 1 / epsilon) - softmax(t, 1 / epsilon)
    return g.diff(epsilon, k + 1).subs(epsilon, 0) / sp.factorial(k + 1)


# --------------------------------------------------------------------------- minibatch, CWTM, DKPP


def batch_gradient(Z: sp.Matrix, Tt: sp.Matrix, T=1) -> sp.Matrix:
    """d/dZ of (1/b) sum_s CE(z_s, softmax(t_s/T), T): row s is (q_s - p_s)/(b T); b x n."""
    Z, Tt = _batch(Z, Tt)
    b = Z.shape[0]
    rows = [distillation_gradient(Z[s, :].T, Tt[s, :].T, T).T / b for s in range(b)]  # (n x 1) -> (1 x n)
    return sp.Matrix.vstack(*rows)  # (b x n)


def true_label_term(Z: sp.Matrix, Tt: sp.Matrix, label: int = -1) -> sp.Expr:
    """(1/b) sum_s (q_{*,s} - p_{*,s}), * = label (default the last class), T = 1 as in the seed."""
    G = batch_gradient(Z, Tt)
    return sp.Add(*G[:, label % Z.shape[1]])


def dark_knowledge_term(Z: sp.Matrix, Tt: sp.Matrix, label: int = -1) -> sp.Expr:
    """(1/b) sum_s sum_{i != *} (q_{i,s} - p_{i,s}), T = 1 as in the seed."""
    G = batch_gradient(Z, Tt)
    star = label % Z.shape[1]
    return sp.Add(*[G[s, i] for s in range(G.shape[0]) for i in range(G.shape[1]) if i != star])


def teacher_argmax(t: sp.Matrix) -> list[sp.Expr]:
    """Indicators 1[i = argmax t] (first index on ties, as ``torch.argmax``), as Piecewise expressions."""
    t = _column("t", t)
    n = t.shape[0]
    indicators = []
    for i in range(n):
        # i is the argmax iff t_i > t_j for j < i and t_i >= t_j for j > i (first maximum wins)
        cond = sp.And(*[t[i] > t[j] for j in range(i)], *[t[i] >= t[j] for j in range(i + 1, n)])
        indicators.append(sp.Piecewise((1, cond), (0, True)))
    return indicators


def _teacher_max_probability(t: sp.Matrix) -> sp.Expr:
    t = _column("t", t)
    return sp.exp(sp.Max(*t)) / sum(t.applyfunc(sp.exp))  # p at the argmax


def cwtm_weights(Tt: sp.Matrix) -> list[sp.Expr]:
    """w_s = p_{*,s} / sum_u p_{*,u}, p_* the teacher's max probability (T = 1)."""
    tops = [_teacher_max_probability(Tt[s, :].T) for s in range(Tt.shape[0])]
    total = sp.Add(*tops)
    return [top / total for top in tops]


def cwtm_gradient(Z: sp.Matrix, Tt: sp.Matrix) -> sp.Matrix:
    """The seed's importance-weighted one-hot gradient: row s is w_s (q_s - y_s)/b, y_s = e_{argmax t_s}; b x n."""
    Z, Tt = _batch(Z, Tt)
    b = Z.shape[0]
    w = cwtm_weights(Tt)
    rows = []
    for s in range(b):
        y = sp.Matrix(teacher_argmax(Tt[s, :].T))  # (n x 1) one-hot
        rows.append((w[s] * (softmax(Z[s, :].T) - y) / b).T)  # (n x 1) -> (1 x n)
    return sp.Matrix.vstack(*rows)  # (b x n)


def _cyclic_permutation(n: int, argmax: int) -> list[int]:
    """sigma: the non-argmax classes shifted cyclically by one (in index order), the argmax fixed."""
    others = [i for i in range(n) if i != argmax]
    sigma = list(range(n))
    for k, i in enumerate(others):
        sigma[i] = others[(k + 1) % len(others)]
    return sigma


def dkpp_targets(t: sp.Matrix) -> sp.Matrix:
    """DKPP targets: p = softmax(t) with its non-argmax entries permuted, p~_i = p_{sigma(i)}; n x 1."""
    t = _column("t", t)
    n = t.shape[0]
    p, a = softmax(t), teacher_argmax(t)
    return sp.Matrix([sp.Add(*[a[m] * p[_cyclic_permutation(n, m)[i]] for m in range(n)]) for i in range(n)])


def dkpp_gradient(Z: sp.Matrix, Tt: sp.Matrix) -> sp.Matrix:
    """Gradient of (1/b) sum_s CE(z_s, dkpp_targets(t_s)): row s is (q_s - p~_s)/b; b x n (T = 1)."""
    Z, Tt = _batch(Z, Tt)
    b = Z.shape[0]
    rows = [((softmax(Z[s, :].T) - dkpp_targets(Tt[s, :].T)) / b).T for s in range(b)]  # (n x 1) -> (1 x n)
    return sp.Matrix.vstack(*rows)  # (b x n)


# --------------------------------------------------------------------------- derivations


def derivation_gradient(n: int = 4) -> Derivation:
    """sp.diff of -sum p_k log q_k (temperature T, n classes) equals the seed's (q - p), times 1/T."""
    z, t = _symbols("z", n), _symbols("t", n)
    return compare(f"d/dz of -sum_k softmax(t/T)_k log softmax(z/T)_k ({n} classes) equals (q - p)/T "
                   "(seed 004's q_i - p_i with Hinton's 1/T)", derived_gradient(z, t), distillation_gradient(z, t, T))


def derivation_gradient_sum(n: int = 4) -> Derivation:
    """The components of the derived gradient sum to zero."""
    z, t = _symbols("z", n), _symbols("t", n)
    return compare(f"sum_i of the derived gradient ({n} classes) is 0", sp.Add(*derived_gradient(z, t)), sp.S.Zero)


def _zero_mean(v: sp.Matrix) -> dict:
    """Substitution making v zero-mean: v_n = -(v_1 + ... + v_{n-1})."""
    return {v[-1]: -sp.Add(*v[:-1])}


@functools.cache
def _limit(n: int) -> sp.Matrix:
    z, t = _symbols("z", n), _symbols("t", n)
    return _tempered_difference(z, t).applyfunc(lambda e: sp.limit(e, epsilon, 0))


def derivation_hinton_limit(n: int = 4) -> Derivation:
    """lim_{T -> oo} T^2 grad (``sp.limit``) for zero-mean logits equals Hinton's (z - t)/n."""
    z, t = _symbols("z", n), _symbols("t", n)
    at = {**_zero_mean(z), **_zero_mean(t)}
    return compare(f"lim T^2 grad ({n} classes, zero-mean z and t) equals (z - t)/n (Hinton eq. 3)",
                   _limit(n).subs(at), hinton_limit(z, t).subs(at))


def derivation_centred_limit(n: int = 4) -> Derivation:
    """For any logits the limit is P(z - t)/n: the zero-mean assumption of Hinton eq. 3 is needed."""
    z, t = _symbols("z", n), _symbols("t", n)
    return compare(f"lim T^2 grad ({n} classes, any logits) equals (z - t - (mean z - mean t) 1)/n",
                   _limit(n), hinton_limit(centre(z), centre(t)))


def derivation_first_correction(n: int = 3) -> Derivation:
    """The 1/T coefficient of ``sp.series`` of T^2 grad equals c_1 (module docstring, item 3)."""
    z, t = _symbols("z", n), _symbols("t", n)
    h = _tempered_difference(z, t)
    derived = h.applyfunc(lambda e: sp.series(e, epsilon, 0, 2).removeO().coeff(epsilon, 1))
    zc, tc = centre(z), centre(t)
    m2 = lambda v: sum(x**2 for x in v) / n  # noqa: E731 -- mean square
    printed = sp.Matrix([_printed_first_correction(zc[i], m2(zc), tc[i], m2(tc), n) for i in range(n)])
    return compare(f"the 1/T coefficient of T^2 grad ({n} classes) is [(zc_i^2 - mean zc^2) - (tc_i^2 - mean tc^2)]/(2n)",
                   derived, printed, simplify=sp.expand)


def derivation_batch_terms_cancel(b: int = 2, n: int = 3) -> Derivation:
    """The seed's minibatch sum: true-label term + dark-knowledge term simplifies to 0."""
    Z = sp.Matrix(b, n, sp.symbols(f"z_0:{b}_0:{n}", real=True))
    Tt = sp.Matrix(b, n, sp.symbols(f"t_0:{b}_0:{n}", real=True))
    return compare(f"(1/b) sum_s (q_* - p_*) + (1/b) sum_s sum_(i != *) (q_i - p_i) = 0 (b = {b}, n = {n})",
                   true_label_term(Z, Tt) + dark_knowledge_term(Z, Tt), sp.S.Zero)


def derivation_cwtm_gradient(b: int = 2, n: int = 3) -> Derivation:
    """sp.diff of L_CWTM = (1/b) sum_s w_s CE(z_s, y_s) equals the importance-weighted one-hot gradient.

    Shown with every teacher's argmax at the last class (the seed's WLOG re-labelling), where the Piecewise
    indicators are constants; the claims check all argmax positions numerically.
    """
    Z = sp.Matrix(b, n, sp.symbols(f"z_0:{b}_0:{n}", real=True))
    Tt = sp.Matrix(b, n, sp.symbols(f"t_0:{b}_0:{n}", real=True))
    w = [softmax(Tt[s, :].T)[n - 1] for s in range(b)]
    w = [x / sp.Add(*w) for x in w]
    y = sp.zeros(n, 1)
    y[n - 1] = 1
    loss = sp.Add(*[w[s] * cross_entropy(Z[s, :].T, y) for s in range(b)]) / b
    derived = sp.Matrix(b, n, lambda s, i: sp.diff(loss, Z[s, i]))
    printed = sp.Matrix.vstack(*[(w[s] * (softmax(Z[s, :].T) - y) / b).T for s in range(b)])  # (b x n)
    return compare(f"d/dZ of (1/b) sum_s w_s CE(z_s, y_s) equals (1/b) w_s (q_s - y_s) (b = {b}, n = {n}, argmax = n)",
                   derived, printed)


# --------------------------------------------------------------------------- statements, rendered from the forms above


def kd_gradient_statement(lhs: str, q: str = "q", p: str = "p") -> str:
    """LaTeX ``lhs = (q - p)/T`` rendered from ``_printed_gradient``; q, p: the names shown (e.g. "q_i", "y")."""
    return statement_latex(lhs, _printed_gradient, sp.Symbol(q), sp.Symbol(p), T)


def hinton_limit_statement() -> str:
    """LaTeX statement of Hinton eq. 3's limit, rendered from ``_printed_limit``."""
    return statement_latex(r"\lim_{T\to\infty} T^2 \nabla_z \mathcal{L}", _printed_limit, *sp.symbols("z t n"))


def first_correction_statement() -> str:
    """LaTeX statement of the 1/T coefficient c_1, rendered from ``_printed_first_correction``."""
    z_i, mean_z2, t_i, mean_t2, n = sp.symbols("z_i mean_z2 t_i mean_t2 n")
    names = {z_i: r"\bar z_i", mean_z2: r"\overline{\bar z^2}", t_i: r"\bar t_i", mean_t2: r"\overline{\bar t^2}"}
    return statement_latex("c_{1,i}", _printed_first_correction, z_i, mean_z2, t_i, mean_t2, n, symbol_names=names)
