"""Forward/backward identities and the marginalized gradient of a locally connected ReLU net (Tian 2018), in SymPy.

Family ``locally-connected``: derivation ``theory._locally_connected`` (the paper's equation, derived) ·
estimators ``numerics._locally_connected`` · claims ``verify.claims._locally_connected`` · tests ``tests/test_locally_connected.py``.

Source: seed ``002_d1776dabe51410e6.txt`` ("Forward and Backward Propagation in Student Network",
"Marginalized gradient", "Theorem 1 (Recursive Property of marginalized gradient)"), citing Y. Tian,
*A Theoretical Framework for Deep Locally Connected ReLU Network*, arXiv:1809.10829. The slides print

    f_j(x) = f'_j(x) sum_{k in ch(j)} w_jk f_k(x),     g_k(x) = f'_k(x) sum_{j in pa(k)} w_jk g_j(x),
    Delta w_jk = E_x[f_k(x) g_j(x)],
    g_j(x_k) = E_{x_{-k}|x_k}[g_j(x)],   Theorem 1:  g_j(x_k) = E_{x_{j,-k}|x_k}[g_j(x_j)].

Our reading of the slide text. x_k is the part of the input in node k's receptive field (the inputs
below k), x_{-k} the rest, x_{j,-k} the part of j's receptive field outside k's (k in ch(j), so
x_k is inside x_j). g_j is the gradient at node j's pre-activation in the *descent* direction
(g_top = y - f_top for the loss 1/2 (f_top - y)^2), so Delta w_jk is the gradient-flow update, and
f'_j = 1(pre-activation > 0) (with 1(0) = 0, PyTorch's relu'(0)). Theorem 1 is the tower property
(x_k is part of x_j); what makes it useful is locality: f'_k depends on x only through x_k, so
marginalizing the backward recursion gives the *marginalized back-propagation*

    g_k(x_k) = f'_k(x_k) sum_{j in pa(k)} w_jk E_{x_{j,-k}|x_k}[g_j(x_j)],

which needs only the distribution of each receptive field, never the whole input. With a label y that
is not a function of x (here a latent class z), g_top(x) = E[y | x] - f_top(x).

Network (``CHILDREN``): 4 inputs; layer 1 has 3 nodes, node j sees inputs j, j+1; layer 2 has 2
nodes, node j sees layer-1 nodes j, j+1 (receptive field inputs j..j+2); the top node (layer 3,
linear) sees both. Weights: ``W_l`` is n_l x 2, row j = (w_{j, ch_0(j)}, w_{j, ch_1(j)}).

Data model for Theorem 1 (a tiny discrete generative model): class z in {0, 1, 2} with
P(z) = softmax(a)_z; given z the input bits b_i are independent with P(b_i = 1 | z) = sigmoid(Theta_zi);
x = 2 b - 1 in {-1, 1}^4 (16 inputs); label y = c_z. Bits are correlated through z, so conditioning on
a receptive field is not trivial.

| code                | paper            | meaning                                                       |
|---------------------|------------------|---------------------------------------------------------------|
| ``W_1, W_2, W_3``   | w_jk             | weights of layers 1, 2, 3 (n_l x 2, row j = node j's inputs)  |
| ``CHILDREN[l-1][j]``| ch(j)            | indices in layer l-1 of the children of node j of layer l    |
| ``h, f, fprime``    | -, f_j, f'_j     | pre-activation, activation, gate of every node, per layer     |
| ``g``               | g_j              | gradient at node j (descent direction), per layer             |
| ``field(l, j)``     | x_j (receptive)  | input coordinates below node j of layer l                     |
| ``a, Theta, c``     | P(z), P(x|z), y  | prior logits (3), bit logits (3 x 4), class labels (3)        |
| ``bits``            | x_k = value      | a value of the receptive-field bits, a tuple of 0/1           |
"""

from __future__ import annotations

import itertools

import sympy as sp

from ._derivation import Derivation, compare

__all__ = [
    "CHILDREN",
    "INPUTS",
    "backward",
    "derivation_backward",
    "derivation_marginalized_recursion",
    "derivation_weight_update",
    "field",
    "forward",
    "forward_backward",
    "marginalized_gradient",
    "mixture_marginal",
    "parents",
    "weight_update",
]

INPUTS = 4
CHILDREN = (((0, 1), (1, 2), (2, 3)), ((0, 1), (1, 2)), ((0, 1),))
LAYERS = len(CHILDREN)
CLASSES = 3


def parents(l: int, k: int) -> list[tuple[int, int]]:
    """[(j, a)]: node j of layer l+1 has node k of layer l as its a-th child."""
    return [(j, a) for j, ch in enumerate(CHILDREN[l]) for a, c in enumerate(ch) if c == k]


def field(l: int, j: int) -> tuple[int, ...]:
    """Receptive field of node j of layer l: the sorted input coordinates below it (layer 0: inputs)."""
    if l == 0:
        return (j,)
    return tuple(sorted(set().union(*(field(l - 1, c) for c in CHILDREN[l - 1][j]))))


def _step(h):
    """f'(h) = 1(h > 0) = (sign h + sign^2 h)/2, exact in floating point; 1(0) = 0 as PyTorch's relu'(0).

    The activation is then f = f'(h) h, exactly 0 for a closed gate (as torch.relu). (h + |h|)/2 is not:
    SymPy distributes it and the float sum can leave 1e-42 behind, which opens a gate downstream.)
    """
    s = sp.sign(h)
    return (s + s**2) / 2


def _rows(W) -> list[list]:
    return [[W[j, a] for a in range(W.shape[1])] for j in range(W.shape[0])]


def forward(weights, x, gate=None, shift=None) -> tuple[list, list, list]:
    """(h, fprime, f) per layer 0..L (layer 0: f = x); f_j = f'_j sum_{k in ch(j)} w_jk f_k.

    Gates default to f'_j = 1(h_j > 0) (``_step``); the top layer is linear (f' = 1). ``gate``,
    if given, maps (l, j, h) to a gate expression (used with free symbols by the derivations); ``shift``
    maps (l, j) to a term added to h_j (the derivation differentiates with respect to it).
    """
    f = [list(x)]
    h, fprime = [None], [None]
    for l in range(1, LAYERS + 1):
        w = _rows(weights[l - 1])
        h_l = [sum(w[j][a] * f[l - 1][c] for a, c in enumerate(ch)) for j, ch in enumerate(CHILDREN[l - 1])]
        if shift is not None:
            h_l = [e + shift.get((l, j), 0) for j, e in enumerate(h_l)]
        if l == LAYERS:
            d_l = [sp.S.One] * len(h_l)
            f_l = h_l
        elif gate is None:
            d_l = [_step(e) for e in h_l]
            f_l = [d * e for d, e in zip(d_l, h_l)]
        else:
            d_l = [gate(l, j, e) for j, e in enumerate(h_l)]
            f_l = [d * e for d, e in zip(d_l, h_l)]
        h.append(h_l)
        fprime.append(d_l)
        f.append(f_l)
    return h, fprime, f


def backward(weights, fprime, g_top) -> list:
    """g per layer 1..L (index 0 unused): g_top given, g_k = f'_k sum_{j in pa(k)} w_jk g_j."""
    g = [None] * (LAYERS + 1)
    g[LAYERS] = list(g_top)
    for l in range(LAYERS - 1, 0, -1):
        w = _rows(weights[l])
        g[l] = [fprime[l][k] * sum(w[j][a] * g[l + 1][j] for j, a in parents(l, k)) for k in range(len(CHILDREN[l - 1]))]
    return g


def weight_update(weights, f, g) -> list:
    """Per-sample Delta w per layer, as n_l x 2 Matrices: Delta w_jk = f_k g_j."""
    return [sp.Matrix([[f[l - 1][c] * g[l][j] for c in ch] for j, ch in enumerate(CHILDREN[l - 1])])
            for l in range(1, LAYERS + 1)]


def forward_backward(W_1, W_2, W_3, x, y) -> tuple[list, list, list]:
    """(f, g, Delta w) for one input x (4 x 1) and target y: loss 1/2 (f_top - y)^2, g_top = y - f_top."""
    weights = (W_1, W_2, W_3)
    _, fprime, f = forward(weights, list(x))
    g = backward(weights, fprime, [y - f[LAYERS][0]])
    return f, g, weight_update(weights, f, g)


# --------------------------------------------------------------------------- marginalized gradient


def _bernoulli(theta, b):
    return theta if b else 1 - theta


def mixture_marginal(a, Theta, coords, bits, z=None):
    """P(b_coords = bits) (or P(z, b_coords = bits) when z is given) under the class mixture."""
    prior = [sp.exp(a[i]) for i in range(CLASSES)]
    total = sum(prior)
    theta = [[1 / (1 + sp.exp(-Theta[i, k])) for k in range(INPUTS)] for i in range(CLASSES)]
    classes = range(CLASSES) if z is None else [z]
    return sum(prior[i] / total * sp.Mul(*[_bernoulli(theta[i][k], b) for k, b in zip(coords, bits)]) for i in classes)


def _representative(coords, bits) -> list:
    """An input (x = 2b - 1) with the given bits on coords and 0 bits elsewhere (gates below depend on coords only)."""
    b = [0] * INPUTS
    for k, v in zip(coords, bits):
        b[k] = v
    return [2 * v - 1 for v in b]


def marginalized_gradient(W_1, W_2, W_3, a, Theta, c, *, gate=None, marginal=None, top=None) -> sp.Matrix:
    """Marginalized back-propagation: [g_k(x_k = bits)] for layers 1, 2, every node, every bits (28 x 1).

    Top: g_top(x) = E[c_z | x] - f_top(x). Layer l < L, node k, value beta of x_k:
    g_k(beta) = f'_k(beta) sum_{j in pa(k)} w_jk sum_{gamma ~ beta} P(x_j = gamma | x_k = beta) g_j(gamma),
    gamma running over the values of j's receptive field that agree with beta (Theorem 1).
    ``gate``, ``marginal`` and ``top`` replace the gates, the receptive-field marginal P(coords = bits)
    and g_top(bits) by other expressions (the derivation passes free symbols).
    """
    weights = (W_1, W_2, W_3)
    if marginal is None:
        def marginal(coords, bits):
            return mixture_marginal(a, Theta, coords, bits)
    if top is None:
        def top(bits):
            x = [2 * v - 1 for v in bits]
            _, _, f = forward(weights, x)
            p = marginal(tuple(range(INPUTS)), bits)
            posterior_label = sum(c[i] * mixture_marginal(a, Theta, tuple(range(INPUTS)), bits, z=i) for i in range(CLASSES)) / p
            return posterior_label - f[LAYERS][0]
    tables = [None] * (LAYERS + 1)  # tables[l][j][bits] = g_j(x_j = bits)
    tables[LAYERS] = [{bits: top(bits) for bits in itertools.product((0, 1), repeat=INPUTS)}]
    for l in range(LAYERS - 1, 0, -1):
        w = _rows(weights[l])
        tables[l] = []
        for k in range(len(CHILDREN[l - 1])):
            R_k = field(l, k)
            table = {}
            for beta in itertools.product((0, 1), repeat=len(R_k)):
                if gate is None:
                    _, fprime, _ = forward(weights, _representative(R_k, beta))
                    d = fprime[l][k]
                else:
                    d = gate(l, k, beta)
                p_beta = marginal(R_k, beta)
                total = 0
                for j, a_ in parents(l, k):
                    R_j = field(l + 1, j)
                    fixed = dict(zip(R_k, beta))
                    expectation = sum(marginal(R_j, gamma) / p_beta * tables[l + 1][j][gamma]
                                      for gamma in itertools.product((0, 1), repeat=len(R_j))
                                      if all(gamma[R_j.index(i)] == v for i, v in fixed.items()))
                    total += w[j][a_] * expectation
                table[beta] = d * total
            tables[l].append(table)
    return sp.Matrix([tables[l][k][beta] for l in range(1, LAYERS) for k in range(len(tables[l])) for beta in sorted(tables[l][k])])


# --------------------------------------------------------------------------- derivations


def _symbolic_weights():
    return tuple(sp.Matrix(len(ch), 2, sp.symbols(f"w{l + 1}_0:{len(ch)}_0:2", real=True)) for l, ch in enumerate(CHILDREN))


def _free_gate(l, j, h):
    return sp.Symbol(f"d{l}_{j}", real=True)


def derivation_backward() -> Derivation:
    """-d loss/d h_k by ``sp.diff`` equals the backward recursion g_k = f'_k sum_j w_jk g_j (gates free symbols).

    d/dh_k is taken as d/d eps_k at eps = 0 of the loss with eps_k added to node k's pre-activation.
    """
    weights = _symbolic_weights()
    x = sp.symbols("x0:4", real=True)
    y = sp.Symbol("y", real=True)
    eps = {(l, j): sp.Symbol(f"eps{l}_{j}", real=True) for l in range(1, LAYERS + 1) for j in range(len(CHILDREN[l - 1]))}
    _, _, f_shifted = forward(weights, x, gate=_free_gate, shift=eps)
    loss = (f_shifted[LAYERS][0] - y) ** 2 / 2
    zero = {e: 0 for e in eps.values()}
    derived = sp.Matrix([-sp.diff(loss, e).xreplace(zero) for e in eps.values()])
    _, fprime, f = forward(weights, x, gate=_free_gate)
    g = backward(weights, fprime, [y - f[LAYERS][0]])
    printed = sp.Matrix([g[l][j] for (l, j) in eps])
    return compare("-d(1/2 (f_top - y)^2)/d h_k (sp.diff, gates as free symbols) equals g_k = f'_k sum_{j in pa(k)} w_jk g_j "
                   "at every node of the locally connected net", derived, printed, simplify=sp.expand)


def derivation_weight_update() -> Derivation:
    """-d loss/d w_jk by ``sp.diff`` equals f_k g_j for every weight (gates free symbols)."""
    weights = _symbolic_weights()
    x = sp.symbols("x0:4", real=True)
    y = sp.Symbol("y", real=True)
    _, fprime, f = forward(weights, x, gate=_free_gate)
    loss = (f[LAYERS][0] - y) ** 2 / 2
    derived = sp.Matrix([-sp.diff(loss, w) for W in weights for w in W])
    g = backward(weights, fprime, [y - f[LAYERS][0]])
    printed = sp.Matrix([e for U in weight_update(weights, f, g) for e in U])
    return compare("-d(1/2 (f_top - y)^2)/d w_jk (sp.diff) equals f_k g_j for every weight: Delta w_jk = E_x[f_k g_j]",
                   derived, printed, simplify=sp.expand)


def derivation_marginalized_recursion() -> Derivation:
    """Brute-force E[g_k(x) | x_k] equals the marginalized back-propagation, for ANY distribution of x.

    P(x = b) = p_b (16 free positive symbols), g_top(b) free, gates free symbols that depend on the
    receptive-field bits only (locality): derived = sum over b of p_b g_k(b) / P(x_k), g_k(b) by the
    per-input backward recursion; printed = ``marginalized_gradient`` with receptive-field marginals
    sum_b p_b. Shows Theorem 1 and the marginalized recursion with no assumption on the distribution.
    """
    weights = _symbolic_weights()
    patterns = list(itertools.product((0, 1), repeat=INPUTS))
    p = {b: sp.Symbol("p_" + "".join(map(str, b)), positive=True) for b in patterns}
    G = {b: sp.Symbol("G_" + "".join(map(str, b)), real=True) for b in patterns}

    def gate(l, k, bits):
        return sp.Symbol(f"d{l}_{k}_" + "".join(map(str, bits)), real=True)

    def marginal(coords, bits):
        return sum(p[b] for b in patterns if all(b[i] == v for i, v in zip(coords, bits)))

    printed = marginalized_gradient(*weights, None, None, None, gate=gate, marginal=marginal, top=lambda bits: G[bits])
    derived = []
    per_input = {}
    for b in patterns:
        fprime = [None] + [[gate(l, k, tuple(b[i] for i in field(l, k))) for k in range(len(CHILDREN[l - 1]))]
                           for l in range(1, LAYERS)] + [[sp.S.One]]
        per_input[b] = backward(weights, fprime, [G[b]])
    for l in range(1, LAYERS):
        for k in range(len(CHILDREN[l - 1])):
            R_k = field(l, k)
            for beta in itertools.product((0, 1), repeat=len(R_k)):
                match = [b for b in patterns if all(b[i] == v for i, v in zip(R_k, beta))]
                derived.append(sum(p[b] * per_input[b][l][k] for b in match) / sum(p[b] for b in match))
    return compare("E[g_k(x) | x_k] by enumeration (any distribution p_b, gates local) equals the marginalized recursion "
                   "g_k(x_k) = f'_k(x_k) sum_j w_jk E_{x_{j,-k}|x_k}[g_j(x_j)] (Theorem 1)",
                   sp.Matrix(derived), printed, simplify=lambda e: sp.expand(sp.cancel(e)))
