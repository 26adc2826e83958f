"""Built-in claims: the covariance operator of SimCLR (seed 000_111be25265ff9c8a.txt; Tian et al. 2020).

Family ``covariance-operator``: derivation ``theory._covariance_operator`` (the paper's equation, derived) ·
estimators ``numerics._covariance_operator`` · claims ``verify.claims._covariance_operator`` · tests ``tests/test_covariance_operator.py``.

Closed forms come from ``theory._covariance_operator`` (SymPy differentiates the network and the loss),
estimators from ``numerics._covariance_operator`` (autograd Jacobians, autograd on the enumerated loss,
sampled pairs, enumeration of translations).
"""

from __future__ import annotations

import sympy as sp
import torch

from numerics._covariance_operator import (
    connection as connection_autograd,
    negative_squared_distance,
    second_moment_forms,
    one_neuron_covariance_enumerated,
    pair_gradients_samples,
    simclr_gradient,
    theorem4_flow,
    theorem4_trajectories,
    vec,
)
from theory._covariance_operator import (
    cosine_similarity,
    covariance_gradient,
    derivation_infonce_l2,
    derivation_psd,
    infonce_l2,
    infonce_statement,
    psd_quadratic_forms,
    derivation_connection,
    derivation_gradient_identity,
    derivation_one_neuron_linear,
    derivation_one_neuron_relu,
    derivation_theorem4,
    one_neuron_covariance,
    one_neuron_statement,
    network_output,
    printed_one_neuron_covariance,
    theorem4_field,
    weight_jacobian,
)
from verify._claim import Claim
from verify._params import Matrix, Vector

__all__ = [
    "CONNECTION_JACOBIAN",
    "CONNECTION_OUTPUT",
    "GRADIENT_EXACT",
    "GRADIENT_MC",
    "THEOREM4_FIELD",
    "ONE_NEURON_RELU",
    "ONE_NEURON_LINEAR",
    "ONE_NEURON_PRINTED_RELU",
    "INFONCE_L2",
    "OPERATOR_PSD",
    "CLAIMS",
]

SEED = "seed 000_111be25265ff9c8a.txt (Tian, Yu, Chen & Ganguli 2020, arXiv:2010.00578)"
FAMILY = "covariance-operator"
ONE_NEURON_D = 6  # pixels in the circular 1-D world of the one-neuron example

NET = {"x": Vector(2), "W1": Matrix(2, 2), "W2": Matrix(2, 2), "W3": Matrix(2, 2)}  # depth 3, widths 2-2-2-2
SIMCLR = {"X": Matrix(3, 2), "D": Matrix(2, 2), "W1": Matrix(2, 2), "W2": Matrix(2, 2)}  # 3 samples x 2 augmentations
TWO_LAYER = {"w1_0": Vector(2), "w1_1": Vector(2), "w2": Vector(2)}
ONE_NEURON = {"w": Vector(2), "X": Matrix(4, 2)}


# --------------------------------------------------------------------------- K_l


def _weight_jacobians(x, W1, W2, W3):
    """(d f_L / d vec(W_l))^T for l = 1, 2, 3 by SymPy, stacked: (4 + 4 + 4) x 2."""
    return sp.Matrix.vstack(*[weight_jacobian(x, [W1, W2, W3], l) for l in (1, 2, 3)])


def _connections(x, W1, W2, W3):
    """f_{l-1} (x) J_l^T with J_l by autograd, l = 1, 2, 3: (12, 2)."""
    return torch.cat([connection_autograd(x, [W1, W2, W3], l) for l in (1, 2, 3)])


def _outputs(x, W1, W2, W3):
    """f_L(x) once per layer, as rows: 3 x 2."""
    out = network_output(x, [W1, W2, W3]).T  # (1 x 2)
    return sp.Matrix.vstack(out, out, out)


def _connection_outputs(x, W1, W2, W3):
    """K_l(x)^T vec(W_l) for l = 1, 2, 3 with autograd K_l: (3, 2)."""
    Ws = [W1, W2, W3]
    return torch.stack([connection_autograd(x, Ws, l).T @ vec(Ws[l - 1]) for l in (1, 2, 3)])  # (2, 4) @ (4,) -> (2,)


CONNECTION_JACOBIAN = Claim(
    name="covariance-operator-connection",
    params=NET,
    closed_form=_weight_jacobians,
    exact=_connections,
    derivation=derivation_connection,
    # typed (and the next four): Kronecker/vec identities, expectations and the ODE field, not one SymPy form
    statement=r"\left(\partial f_L / \partial\,\mathrm{vec}(W_l)\right)^\top = K_l(\mathbf{x}) := \mathbf{f}_{l-1}(\mathbf{x}) \otimes J_l^\top(\mathbf{x}),\ l = 1, 2, 3",
    reference=f"{SEED}: 'The Covariance Operator', connection K_l",
    family=FAMILY,
    examples=30,
    notes="Depth-3 ReLU net 2-2-2-2, linear output, no biases. Closed form: SymPy's chain rule through the network; "
          "estimate: Kronecker product with J_l = d f_L / d z_l from torch.func.jacrev.",
)

CONNECTION_OUTPUT = Claim(
    name="covariance-operator-connection-output",
    params=NET,
    closed_form=_outputs,
    exact=_connection_outputs,
    derivation=derivation_connection,
    statement=r"f_L(\mathbf{x}) = K_l(\mathbf{x})^\top \mathrm{vec}(W_l),\ l = 1, 2, 3",
    reference=f"{SEED}: 'The Covariance Operator', connection K_l",
    family=FAMILY,
    examples=30,
    notes="Depth-3 ReLU net 2-2-2-2: the SymPy forward pass vs K_l^T vec(W_l) with autograd J_l. With the "
          "connection claim this makes the gradient identity exact (Euler's identity for 1-homogeneous nets).",
)


# --------------------------------------------------------------------------- -dL/dW = 2 V[K_bar] vec(W)


def _covariance_gradients(X, D, W1, W2):
    """2 V_x[K_bar_l(x)] vec(W_l) for l = 1, 2, stacked: (4 + 4) x 1."""
    return sp.Matrix.vstack(*[covariance_gradient([W1, W2], X, D, l) for l in (1, 2)])


def _autograd_gradients(X, D, W1, W2):
    """-dL_simp/dvec(W_l) by autograd on the enumerated loss, l = 1, 2: (8,)."""
    return torch.cat([simclr_gradient([W1, W2], X, D, l) for l in (1, 2)])


def _pair_gradients(X, D, W1, W2, n, generator):
    """Per-sample -grad of 1/2|f(x1)-f(x2)|^2 - 1/2|f(x1)-f(x')|^2 w.r.t. vec(W_1), vec(W_2), one sampled triple: (n, 8)."""
    return pair_gradients_samples([W1, W2], X, D, (1, 2), n, generator)


GRADIENT_STATEMENT = (r"-\frac{\partial L_{\mathrm{simp}}}{\partial\,\mathrm{vec}(W_l)} = 2\,\mathbb{V}_{\mathbf{x}}"
                      r"\left[\bar K_l(\mathbf{x})\right]\mathrm{vec}(W_l),\ L_{\mathrm{simp}} = \mathbb{E}\tfrac12\|f(\mathbf{x}_1)"
                      r" - f(\mathbf{x}_2)\|^2 - \mathbb{E}\tfrac12\|f(\mathbf{x}_1) - f(\mathbf{x}')\|^2")

GRADIENT_EXACT = Claim(
    name="covariance-operator-gradient",
    params=SIMCLR,
    closed_form=_covariance_gradients,
    exact=_autograd_gradients,
    derivation=derivation_gradient_identity,
    statement=GRADIENT_STATEMENT,
    reference=f"{SEED}: 'The Covariance Operator', vec(Delta W_l) = beta V_x[K_bar_l] vec(W_l) (beta = 2 for L_simp)",
    family=FAMILY,
    examples=20,
    notes="Two-layer ReLU net 2-2-2, 3 samples (rows of X) x 2 augmentations x + D_a, enumerated exactly; autograd "
          "through the actual network, gates moving with W: exact for 1-homogeneous activations without biases.",
)

GRADIENT_MC = Claim(
    name="covariance-operator-gradient-mc",
    params=SIMCLR,
    closed_form=_covariance_gradients,
    monte_carlo=_pair_gradients,
    statement=GRADIENT_STATEMENT,
    reference=f"{SEED}: 'The Covariance Operator', vec(Delta W_l) = beta V_x[K_bar_l] vec(W_l) (beta = 2 for L_simp)",
    family=FAMILY,
    examples=10,
    samples=10_000,
    notes="Same network and data; one sampled (x1, x2, x') triple per estimate, shared by both layers' gradients "
          "(one autograd pass): sample i, augmentations a, b, and an independent (j, c) for the negative (j = i "
          "allowed: the identity needs x' independent of x). The randomness is discrete (indices), not Gaussian, so "
          "the estimator draws it from its generator (no engine-owned inputs).",
)


# --------------------------------------------------------------------------- Theorem 4

def _theorem4_trajectory(seed: int) -> dict:
    """Gradient descent (eta = 0.01) vs Theorem 4's ODE from the test suite's initial point (no gate flips)."""
    theta0 = torch.tensor([1.0, 0.8, 1.0, 0.5, 0.6, 1.0], dtype=torch.float64)  # (w2_0, w2_1, w1_0, w1_1)
    tr = theorem4_trajectories(theta0, eta=0.01, steps=100, every=5)
    series = {}
    for name, i in (("w2_0", 0), ("w2_1", 1)):
        series[f"ODE {name}"] = tr["ode"][:, i].tolist()
        series[f"GD {name}"] = tr["gd"][:, i].tolist()
    return {"t": tr["t"].tolist(), "series": series, "xlabel": "t = step x eta", "ylabel": "second-layer weight",
            "title": "Theorem 4: gradient descent (eta = 0.01) vs the ODE"}


THEOREM4_FIELD = Claim(
    name="covariance-operator-theorem4",
    params=TWO_LAYER,
    closed_form=theorem4_field,
    exact=theorem4_flow,
    trajectory=_theorem4_trajectory,
    derivation=derivation_theorem4,
    statement=(r"\dot w_{2,j} = w_{2,j}\,\mathbf{w}_{1,j}^\top A_j \mathbf{w}_{1,j},\ \dot{\mathbf{w}}_{1,j} = w_{2,j}^2 A_j"
               r" \mathbf{w}_{1,j},\ A_j = \mathbb{V}_z[\mathbf{u}_j(z)]"),
    reference=f"{SEED}: Theorem 4 (two-layer dynamics, Cov_z[u_j, u_k] = 0)",
    family=FAMILY,
    examples=30,
    notes="f = sum_j w2_j relu(w1_j^T x_j), two units with their own 2-D receptive fields; (z_j, z'_j) independent "
          "across j, so Cov_z[u_0, u_1] = 0. Estimate: -grad of 1/2 L_simp by autograd on the enumerated loss.",
)


# --------------------------------------------------------------------------- one-neuron example


def _enumerated(slope):
    def estimate(w, X):
        return one_neuron_covariance_enumerated(w, X, ONE_NEURON_D, slope)
    return estimate


def _derived(slope):
    def closed_form(w, X):
        return one_neuron_covariance(w, X, ONE_NEURON_D, slope)
    return closed_form


def _printed(X):
    return printed_one_neuron_covariance(X, ONE_NEURON_D)


ONE_NEURON_STATEMENT = one_neuron_statement(printed_u=False)  # rendered from the printed SymPy form
ONE_NEURON_REFERENCE = f"{SEED}: one-layer one-neuron example, objects 11 and 101 translating in 1D"

ONE_NEURON_RELU = Claim(
    name="covariance-operator-one-neuron",
    params=ONE_NEURON,
    closed_form=_derived(0),
    exact=_enumerated(0.0),
    derivation=derivation_one_neuron_relu,
    # the gated u is an indexed sum over the four patterns: typed
    statement=ONE_NEURON_STATEMENT + r",\ \mathbf{u} = \sum_{ab} c_{ab}\,\mathbb{I}(\mathbf{w}^\top\mathbf{x}_{ab} > 0)\,\mathbf{x}_{ab}",
    reference=ONE_NEURON_REFERENCE,
    family=FAMILY,
    notes=f"ReLU neuron, d = {ONE_NEURON_D}, c = (+1, -1, -1, +1) for (00, 01, 10, 11): the printed u with the gates kept. "
          "Closed form: derived from the window counts; its derivation proves it equal to 1/(4d^2) u_w u_w^T. "
          "Estimate: every translation enumerated, K = d relu(w^T x)/dw by autograd.",
)

ONE_NEURON_LINEAR = Claim(
    name="covariance-operator-one-neuron-linear",
    params=ONE_NEURON,
    closed_form=_derived(1),
    exact=_enumerated(1.0),
    derivation=derivation_one_neuron_linear,
    statement=one_neuron_statement(),
    reference=ONE_NEURON_REFERENCE,
    family=FAMILY,
    notes=f"Linear neuron, d = {ONE_NEURON_D}: closed form derived from the window counts; its derivation proves it "
          "equal to the printed 1/(4d^2) u u^T for every d >= 4 (the printed form holds as printed).",
)

ONE_NEURON_PRINTED_RELU = Claim(
    name="covariance-operator-one-neuron-printed-relu",
    params=ONE_NEURON,
    closed_form=_printed,
    exact=_enumerated(0.0),
    statement=one_neuron_statement() + r"\ \text{(ReLU neuron)}",
    reference=ONE_NEURON_REFERENCE,
    family=FAMILY,
    expected="refuted",
    notes="The printed u has no gates; for a ReLU neuron V_{z0}[K_bar] = 1/(4d^2) u_w u_w^T with gated u_w "
          "(covariance-operator-one-neuron). Refuted wherever some w^T x_ab <= 0.",
)

# --------------------------------------------------------------------------- InfoNCE on the unit sphere


def _infonce_l2(a, b):
    """2 sim(u, v) - 2 with sim the cosine of a and b (u = a/|a|, v = b/|b|)."""
    return infonce_l2(cosine_similarity(a, b))


INFONCE_L2 = Claim(
    name="covariance-operator-infonce-l2",
    params={"a": Vector(4), "b": Vector(4)},
    closed_form=_infonce_l2,
    exact=negative_squared_distance,
    derivation=derivation_infonce_l2,
    statement=infonce_statement(),  # rendered from the printed SymPy form
    reference=f"{SEED}: 'InfoNCE', 'If |u| = |v| = 1 ... -r = -|u - v|^2 = 2 sim(u, v) - 2' (Chen et al. 2020, SimCLR)",
    family=FAMILY,
    examples=30,
    notes="Why InfoNCE on the distance r = |u - v|^2 is SimCLR's loss on the cosine: for unit vectors u = a/|a|, "
          "v = b/|b| (a, b any nonzero 4-vectors, norms 0.1-10), -|u - v|^2 computed in torch equals 2 sim(u, v) - 2 "
          "with sim the cosine of a and b; the derivation expands the squared distance in SymPy. Exact: within the "
          "float64 round-off of 2 cos - 2. Without the normalisation the identity fails (tests).",
)


# --------------------------------------------------------------------------- the operator is PSD

PSD = {**SIMCLR, "v1": Vector(4), "v2": Vector(4)}  # any weights (any stage of training) and any direction per layer


def _mean_forms(X, D, W1, W2, v1, v2):
    """|E_x[K_bar_l]^T v_l|^2 for l = 1, 2 by SymPy: 2 x 1."""
    return psd_quadratic_forms([W1, W2], X, D, [v1, v2])


def _second_moment_forms(X, D, W1, W2, v1, v2):
    """v_l^T E_x[K_bar_l K_bar_l^T] v_l for l = 1, 2 with autograd K: (2,)."""
    return second_moment_forms([W1, W2], X, D, [v1, v2])


OPERATOR_PSD = Claim(
    name="covariance-operator-psd",
    params=PSD,
    closed_form=_mean_forms,
    exact=_second_moment_forms,
    relation=">=",
    derivation=derivation_psd,
    # typed: a quadratic-form inequality over expectations (notation, not one SymPy form)
    statement=(r"\mathbb{V}_{\mathbf{x}}[\bar K_l(\mathbf{x}; \mathcal{W})] \succeq 0:\ \mathbf{v}^\top"
               r" \mathbb{E}_{\mathbf{x}}[\bar K_l \bar K_l^\top] \mathbf{v} \ge \|\mathbb{E}_{\mathbf{x}}[\bar K_l]^\top"
               r" \mathbf{v}\|^2\ \forall \mathbf{v},\ l = 1, 2"),
    reference=f"{SEED}: 'The Covariance Operator', 'V_x[K_bar_l(x; W(t))]: always PSD at any stage of training'",
    family=FAMILY,
    examples=12,
    notes="The operator of covariance-operator-gradient (two-layer ReLU net 2-2-2, 3 samples x 2 augmentations, "
          "enumerated) at arbitrary weights W1, W2, i.e. at whatever point training has reached, gates included, and an "
          "arbitrary direction v_l per layer: v^T V v >= 0 stated as the second moment (estimand: mean_i "
          "|K_bar_l(x_i)^T v|^2 with K_l from autograd) >= the mean's part (closed form: SymPy's K_bar). Stated this "
          "way, not as lambda_min(V) >= 0, so that neither side is a cancelling difference: where V is singular "
          "(dead units, repeated samples) a computed lambda_min is +-1e-16 |V| and an exact bound against 0 has no "
          "round-off allowance. The derivation proves v^T V v = E|(K_bar - E K_bar)^T v|^2.",
)

CLAIMS = (CONNECTION_JACOBIAN, CONNECTION_OUTPUT, GRADIENT_EXACT, GRADIENT_MC, THEOREM4_FIELD,
          ONE_NEURON_RELU, ONE_NEURON_LINEAR, ONE_NEURON_PRINTED_RELU, INFONCE_L2, OPERATOR_PSD)
