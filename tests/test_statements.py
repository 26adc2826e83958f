"""Generated statements: each claim's LaTeX is rendered from the printed SymPy form its derivation proves.

Issue 14, item 1: a paper equation is typed once, in theory/. The table below names every claim whose
statement is generated and the theory function that renders it, so the claim cannot carry a retyped copy;
the second group of tests evaluates the form exactly as shown (``shown_form``, evaluation off) at the
derivation's concrete values and finds the printed side the derivation proves, so the shown formula cannot
drift from the proven one. The claims whose statements stay typed say why in a comment beside them.
"""

from __future__ import annotations

import pytest
import sympy as sp

from theory import _batchnorm as tb
from theory import _committee as tc
from theory import _covariance_operator as tco
from theory import _distillation as td
from theory import _kernels as tk
from theory import _linear_dynamics as tl
from theory import _population_gradient as tpg
from theory import _simsiam as ts
from theory._derivation import shown_form, statement_latex
from verify.claims import builtin_claims

GENERATED = {  # claim -> the theory rendering its statement contains (typed notation may follow or precede it)
    "population-gradient-mc": tpg.population_gradient_statement,
    "population-gradient-autograd": tpg.population_gradient_statement,
    "gating-kernel-mc": tpg.gating_kernel_statement,
    "relu-kernel-mc": tpg.relu_kernel_statement,
    "population-gradient-network-mc": lambda: tpg.gating_kernel_statement(r"g(\mathbf{w}, \mathbf{v})"),
    "population-gradient-network-autograd": lambda: tpg.gating_kernel_statement(r"g(\mathbf{w}, \mathbf{v})"),
    "nngp-relu-mc": tk.nngp_relu_statement,
    "nngp-erf-mc": tk.erf_kernel_statement,
    "committee-i2-mc": tc.i2_statement,
    "committee-i2-seed-erf-x-over-2": lambda: tc.i2_statement(r"\mathbb{E}[\mathrm{erf}(u/2)\,\mathrm{erf}(v/2)]"),
    "committee-i3-mc": tc.i3_statement,
    "committee-i4-mc": tc.i4_statement,
    "kd-gradient-cross-entropy": lambda: td.kd_gradient_statement(
        r"\frac{\partial}{\partial z_i}\Big(-\sum_k p_k \log q_k\Big)", "q_i", "p_i"),
    "kd-gradient-kl-div": lambda: td.kd_gradient_statement(r"\nabla_z\,\mathrm{KL}(p\,\|\,q)"),
    "kd-gradient-one-hot": lambda: td.kd_gradient_statement(r"\nabla_z\Big(-\log q_*\Big)", "q", "y"),
    "hinton-limit-zero-mean": td.hinton_limit_statement,
    "hinton-limit-uncentred": td.hinton_limit_statement,
    "hinton-first-correction": td.first_correction_statement,
    "batchnorm-backward-projection": tb.theorem5_statement,
    "batchnorm-backward-projection-weighted": tb.theorem5_statement,
    "batchnorm-backward-eps": tb.eps_backward_statement,
    "batchnorm-backward-eps-is-projection": lambda: tb.theorem5_statement(eps=True),
    "batchnorm-backward-eps-idempotent": tb.backward_operator_statement,
    "saxe-mode-strength-ode": tl.mode_strength_statement,
    "saxe-two-layer-gd-modes": tl.gd_map_statement,
    "saxe-larger-modes-first-small-init": tl.half_time_statement,
    "saxe-larger-modes-first-large-init": tl.half_time_statement,
    "saxe-larger-modes-first-progress": lambda: tl.half_time_statement(progress=True),
    "least-squares-gd-iterate": tl.gd_filter_latex,
    "gradient-flow-spectral-filter": tl.flow_filter_latex,
    "ridge-spectral-filter": tl.ridge_filter_latex,
    "covariance-operator-one-neuron": lambda: tco.one_neuron_statement(printed_u=False),
    "covariance-operator-one-neuron-linear": tco.one_neuron_statement,
    "covariance-operator-one-neuron-printed-relu": tco.one_neuron_statement,
    **{f"simsiam-channel-variance-d{d}": ts.channel_std_statement for d in (2, 16, 64)},
}


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_statement_is_the_theory_rendering(name):
    rendered = GENERATED[name]()
    assert rendered in builtin_claims()[name].statement


def test_statement_latex_keeps_the_grouping_as_written():
    a, b, c = sp.symbols("a b c")
    assert statement_latex("y", lambda a, b, c: (a - b) / 2 - c, a, b, c) == r"y = \frac{a - b}{2} - c"
    assert r"\frac{a - b}{2}" not in statement_latex("y", lambda a, b, c: (a - b) / 2 - c, a, b, c, evaluate=True)
    assert statement_latex("y", lambda a, b, c: (a - b) - (c - a), a, b, c) == "y = a - b - (c - a)".replace("(", r"\left(").replace(")", r"\right)")


def _components(shown: sp.Expr, columns: dict, n: int, scalars=None) -> sp.Matrix:
    """The shown form, each vector symbol replaced by component i of its column and each scalar symbol by its
    value (xreplace rebuilds with evaluation back on)."""
    return sp.Matrix([shown.xreplace({**{s: col[i] for s, col in columns.items()}, **(scalars or {})}) for i in range(n)])


def _zero(difference) -> bool:
    return all(sp.simplify(e) == 0 for e in sp.Matrix([difference]))


def test_shown_population_gradient_is_the_proven_printed_form():
    nws = sp.Symbol("norm_w_star", positive=True)
    w, w_star = tpg._plane(tpg.norm_w, 0), tpg._plane(nws, tpg.theta)
    shown = shown_form(tpg._printed_gradient, tpg._w, tpg._w_star, tpg.norm_w, tpg._norm_w_star, tpg.theta)
    at = _components(shown, {tpg._w: w, tpg._w_star: w_star}, 2, {tpg._norm_w_star: nws})
    assert _zero(at - tpg.derivation_population_gradient().printed)


def test_shown_kernels_of_the_population_gradient_are_the_proven_printed_forms():
    w, v = tpg._plane(tpg.norm_w, 0), tpg._plane(tpg.norm_v, tpg.theta)
    gating = shown_form(tpg._printed_gating, tpg._w, tpg._v, tpg.norm_w, tpg.norm_v, tpg.theta)
    assert _zero(_components(gating, {tpg._w: w, tpg._v: v}, 2) - tpg.derivation_kernel().printed)
    relu = shown_form(tpg._printed_relu_kernel, tpg.norm_w, tpg.norm_v, tpg.theta)
    assert _zero(relu.doit() - tpg.derivation_loss_kernel().printed)


def test_shown_nngp_kernels_are_the_proven_printed_forms():
    theta = sp.Symbol("theta")
    step = shown_form(tk._printed_arccos, tk.K_xx, tk.K_yy, theta, tk.sigma_w2, tk.sigma_b2)
    at = step.xreplace({theta: sp.acos(tk.K_xy / sp.sqrt(tk.K_xx * tk.K_yy))})
    assert _zero(at - tk.derivation_arccos_step().printed)
    erf = shown_form(tk._printed_erf, tk._s, tk._c, tk._t)
    assert _zero(erf.doit() - tk.derivation_erf_kernel().printed)


def test_shown_committee_forms_are_the_closed_forms():
    C = sp.Matrix(4, 4, lambda a, b: sp.Symbol(f"c{min(a, b)}{max(a, b)}", positive=True))
    at = {tc._C[a, b]: C[a, b] for a in range(4) for b in range(4)}
    assert _zero(shown_form(tc.i2, tc._C, evaluate=True).xreplace(at) - tc.i2(C))
    assert _zero(shown_form(tc.i3, tc._C, evaluate=True).xreplace(at) - tc.i3(C))
    lambdas = sp.symbols("Lambda_4 Lambda_0 Lambda_1 Lambda_2")
    i4 = shown_form(tc._printed_i4, *lambdas, evaluate=True).xreplace(dict(zip(lambdas, tc._lambdas(C))))
    assert _zero(i4 - tc.i4(C))


def test_shown_distillation_gradient_is_the_proven_printed_form():
    n = 4
    z, t = td._symbols("z", n), td._symbols("t", n)
    q_, p_ = sp.symbols("q p")
    shown = shown_form(td._printed_gradient, q_, p_, td.T)
    at = _components(shown, {q_: td.softmax(z, td.T), p_: td.softmax(t, td.T)}, n)
    assert _zero(at - td.derivation_gradient(n).printed)
    z_, t_, n_ = sp.symbols("z t n")
    limit = _components(shown_form(td._printed_limit, z_, t_, n_), {z_: z, t_: t}, n, {n_: n})
    assert _zero(limit - td.hinton_limit(z, t))


def test_shown_batchnorm_operator_is_the_proven_printed_form():
    f, g, c1, eps = tb._symbols(3)
    f_hat = tb.normalized(f, eps)
    shown = shown_form(lambda c1, sigma, *a: tb._printed_scaled(c1, sigma, tb._printed_operator(*a)),
                       tb._c1, tb._sigma, tb._g, tb._g_bar, tb._one, tb._f_hat, tb._gf_bar)
    scalars = {tb._c1: c1, tb._sigma: tb.batch_sigma(f, eps), tb._g_bar: tb.batch_mean(g), tb._gf_bar: tb.inner(g, f_hat)}
    at = _components(shown, {tb._g: g, tb._one: sp.ones(3, 1), tb._f_hat: f_hat}, 3, scalars)
    assert _zero(at - tb.batchnorm_backward(f, g, c1, eps))


def test_shown_linear_dynamics_forms_are_the_proven_printed_forms():
    field = shown_form(tl._printed_field, tl.a, tl.s, tl.tau)
    assert _zero(field.doit() - tl.derivation_mode_field().printed)
    gd_map = shown_form(tl._printed_gd_map, tl.a, tl.s, tl.eta)
    assert _zero(gd_map.doit() - tl.derivation_mode_gd_map().printed)
    times = [shown_form(f, tl.s, tl.a0, tl.tau).doit() for f in (tl._printed_half_time, tl._printed_progress_time)]
    assert _zero(sp.Matrix(times) - tl.derivation_half_time().printed)
    gd = shown_form(tl._printed_gd_filter, tl._lam_i, tl.eta, tl.k).xreplace({tl._lam_i: tl.lam})
    assert _zero(gd - tl.derivation_gd_filter().printed)
    flow = shown_form(tl._printed_flow_filter, tl._lam_i, tl.t).xreplace({tl._lam_i: tl.lam})
    ridge = shown_form(tl._printed_ridge_filter, tl._lam_i, tl.mu).xreplace({tl._lam_i: tl.lam})
    assert _zero(sp.Matrix([flow, ridge]) - tl.derivation_flow_filter().printed)


def test_shown_one_neuron_covariance_is_the_printed_form():
    X = sp.Matrix(4, 2, sp.symbols("x0:8", real=True))  # rows: the patterns 00, 01, 10, 11
    u, u_t, d = sp.Symbol("u", commutative=False), sp.Symbol("u_t", commutative=False), sp.Symbol("d", positive=True)
    shown_u = shown_form(tco._printed_u, *sp.symbols("x00 x01 x10 x11"))
    col = sp.Matrix([shown_u.xreplace(dict(zip(sp.symbols("x00 x01 x10 x11"), X.col(j)))) for j in range(2)])
    shown = shown_form(tco._printed_covariance, u, u_t, d)
    at = sp.Matrix(2, 2, lambda i, j: shown.xreplace({u: col[i], u_t: col[j], d: 6}))
    assert _zero(at - tco.printed_one_neuron_covariance(X, 6))
