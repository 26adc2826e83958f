"""The built-in claim catalogue as a Markdown page, ``docs/claims.md``, generated from the Claim objects.

``python -m verify._docs --write`` regenerates the page (atomically: a temporary file beside it, renamed into
place); ``claims_markdown()`` returns its text. ``tests/test_docs.py`` fails while the page is stale, so after
adding, removing or changing a built-in claim (its name, statement, reference, notes, examples, samples, ...)
run the command and commit the page.

Per claim everything comes from the ``Claim`` itself except the optional one-line summary in ``SUMMARIES``
(what the claim compares, as the family tables of the README had it). Per family the page opens with static
prose, ``FAMILIES``: the derivation in ``theory/`` and the findings about the papers (printed forms that are
wrong, readings of the seed). A family missing from ``FAMILIES`` gets its name as a heading and no prose.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

__all__ = ["DOCS", "CLAIMS_PAGE", "WRITE_COMMAND", "claims_markdown", "write_claims_page", "github_slug"]

DOCS = Path(__file__).resolve().parent.parent / "docs"
CLAIMS_PAGE = DOCS / "claims.md"
WRITE_COMMAND = "python -m verify._docs --write"

# family -> (section heading, prose in Markdown). The order of the page is that of ``builtin_claims()``.
FAMILIES: dict[str, tuple[str, str]] = {
    'population-gradient': (
        'Population gradient of a two-layer ReLU network (seed 000; Tian, ICML 2017)',
        """\
For x ~ N(0, I) and J(w) = ½ E[(relu(wᵀx) − relu(w*ᵀx))²],
E[∇J] = ½(w − w*) + (1/2π)(θ w* − ‖w*‖/‖w‖ sin θ · w), θ the angle between w and w*.
`theory/_population_gradient.py` derives the gating kernel g(w, v) = E[x 1(wᵀx>0) relu(vᵀx)] by
integrating in polar coordinates in the plane of w and v, and with it the gradient g(w, w) − g(w, w*)
and the K-node network's; SymPy proves the derived gradient equal to the slide's printed form, and the
gradient of the derived population loss equal to the derived gradient.

The θ → 0, π limits, taken with `sp.limit`, equal the printed form at w* ∥ ±w, so the gradient is
finite and continuous on [0, π]. Property tests under hypothesis cover rotation equivariance, positive
homogeneity, zero gradient at w = w*, the two end limits, and norms from 1e-6 to 1e6, with tolerances
derived from float64 round-off. Finding: in plain float64 the gradient at w = w* is only about
1e-8·‖w‖, not 0, because acos is ill-conditioned near ±1 — the reason the engine's reference is the
50-digit value.

Reading of the seed: the slide prints the gradient of a sum over N samples (factor N) and writes
`‖w*_x‖` for ‖w*‖; the claims use the expectation (N = 1).
"""),
    'distillation': (
        'Distillation gradient (seed 004; Born Again Networks blog; Hinton et al. 2015)',
        """\
For q = softmax(z/T), p = softmax(t/T): ∂/∂z of −Σ pᵢ log qᵢ = (q − p)/T. `theory/_distillation.py`
differentiates the loss with `sp.diff` and proves the printed form for 2–6 classes; the claims check it
exactly against autograd of `F.cross_entropy` (probability and class-index targets) and `F.kl_div`.
It also covers the minibatch decomposition into a true-label and a dark-knowledge term, CWTM and DKPP.
Reading of the seed: the true label is the last class ("without loss of generality"); CWTM is the
gradient of (1/b) Σ_s w_s CE(z_s, argmax t_s) with w_s = p*_s / Σ_u p*_u held constant; DKPP uses a
fixed cyclic shift of the non-argmax classes (any permutation of them has the same properties).

Findings: the T → ∞ limit is P(z − t)/n, with P the centring projector, so Hinton's (z − t)/n needs
mean(z) = mean(t). The error is O(1/T) and tight for n ≥ 3, even for zero-mean logits; it is O(1/T²)
for n = 2 or t = −z (measured log-log slopes −1 and −2, tests). Read literally, the blog's summed
minibatch gradient is identically 0, and its scalar dark-knowledge term cannot tell DKPP from KD.
"""),
    'batchnorm': (
        'BatchNorm backward as a projection (seed 002, Theorem 5; seed 000, BYOL ablation)',
        """\
For one feature over a batch, f ∈ Rᵐ, with ⟨a, b⟩ = (1/m)Σ aᵢbᵢ: BN(f) = c1(f − μ)/σ + c0. Theorem 5:
the backward is Jᵀg = (c1/σ)·P⊥_{f,1} g. `theory/_batchnorm.py` differentiates BN with SymPy and proves
this for eps = 0 (m = 2..6), and proves the Ioffe–Szegedy chain equal to Jᵀg. The claims check both
against autograd (`nn.BatchNorm1d` in training mode, affine and not; the written-out forward pass for
eps = 0, which torch 2.13 rejects in training).

With eps > 0, Jᵀg = (c1/σ)(g − ḡ − f̂·mean(g f̂)) stays exact, but the operator is P⊥ + λP_f̂ with
λ = eps/(var + eps): not a projection, A² − A = −λ(1 − λ)P_f̂, largest (1/4) when var ≈ eps, i.e. for
small-variance features. The gradient stays zero-mean but is no longer orthogonal to f̂.

Finding: seed 002's transcription of ∂ℓ/∂σ_B² has an extra factor −1/√(σ_B² + ε) and is refuted
(`batchnorm-backward-ioffe-szegedy-as-printed`, expected refuted); the paper's (−1/2)(σ_B² + ε)^(−3/2)
is verified.

BN in the reformulation (seed 002): over the m values of a latent z_α with probabilities p, with μ, σ² and
the inner product ⟨a, b⟩ = E_{z_α}[ab] all p-weighted, the gradient under that inner product,
Λ⁻¹JᵀΛg, is (c1/σ)·P⊥_{f,1} g with P⊥ under ⟨·,·⟩_{z_α} (SymPy, m = 2, 3; autograd with p = softmax(a)):
E_{z_α}-centred, as `disentangled-weight-update` needs.

BYOL (seed 000): which property of the gradient reaching the pre-BN activations survives each variant
(SymPy, m = 4; `theory._batchnorm.variant_properties()`): only a live mean keeps it zero-mean; detaching
the std with the mean live keeps zero-mean but loses orthogonality to f̂; mean detached with the std live
loses zero-mean and keeps orthogonality.
"""),
    'covariance-operator': (
        'The covariance operator of SimCLR (seed 000; Tian, Yu, Chen & Ganguli 2020)',
        """\
For a bias-free deep ReLU (or leaky/linear) network, f_L(x) = K_l(x)ᵀ vec(W_l) with
K_l = f_{l−1} ⊗ J_lᵀ, J_l = ∂f_L/∂z_l, and K_l is also the weight Jacobian. For
L_simp = E½‖f(x₁) − f(x₂)‖² − E½‖f(x₁) − f(x′)‖² this gives −∂L/∂vec(W_l) = 2 V_x[K̄_l(x)] vec(W_l).
By Euler's identity for 1-homogeneous activations this holds exactly for the actual loss, with gates
moving with W (no "gates held fixed" approximation is needed at a point); it fails for softplus/tanh or
with biases (tested). V is PSD (hypothesis over depths, widths, slopes; as a claim,
`covariance-operator-psd`: vᵀE[K̄K̄ᵀ]v ≥ ‖E[K̄]ᵀv‖² at any weights, i.e. at any stage of training, stated
without a cancelling difference so that round-off stays relative). The InfoNCE slide's
−‖u − v‖² = 2 sim(u, v) − 2 for unit u, v is derived by SymPy (`covariance-operator-infonce-l2`). `theory/_covariance_operator.py`
derives J_l and ∂f/∂vec(W_l) by SymPy's chain rule, the gradient identity for generic K, Theorem 4
(ẇ₂ⱼ = w₂ⱼ w₁ⱼᵀAⱼw₁ⱼ, ẇ₁ⱼ = w₂ⱼ²Aⱼw₁ⱼ when Cov[uⱼ, uₖ] = 0) and its first integral w₂ⱼ² − ‖w₁ⱼ‖².

Tests also check that gradient descent tracks Theorem 4's ODE (scipy DOP853) with error ∝ η
(slope 1 ± 0.1). Finding: the printed V_{z0}[K̄] = uuᵀ/(4d²), u = x₁₁ + x₀₀ − x₀₁ − x₁₀, holds for a
*linear* neuron; for a ReLU neuron u must keep the gates, u = Σ c_ab 1(wᵀx_ab > 0) x_ab. With raw
pixels the printed u is 0, while the gated one reproduces "ReLU: enforce what is initialized".
The constant 2 is for L_simp as written; Theorem 4 corresponds to ½L_simp.
"""),
    'kernels': (
        'NNGP kernels of infinitely wide networks (seed 003; Lee et al. 2018, Cho & Saul 2009, Williams 1997)',
        """\
An infinitely wide random network is a Gaussian process (seed 003, "kernels"). For ReLU with
W^l ~ N(0, σ_w²/fan-in), b ~ N(0, σ_b²): K⁰ = σ_w² xᵀx'/d + σ_b² and
K^{l+1} = σ_w²/(2π) √(K^l(x,x) K^l(x',x')) (sin θ + (π − θ) cos θ) + σ_b². `theory/_kernels.py` writes the
layer's 2×2 covariance through its Cholesky factor and reuses the derived `relu_kernel` (population-gradient
family), so SymPy proves the arc-cosine step rather than restating it. Williams' erf kernel
E[erf(uᵀx̃) erf(uᵀx̃')] = (2/π) arcsin(2x̃ᵀΣx̃' / √((1+2x̃ᵀΣx̃)(1+2x̃'ᵀΣx̃'))) goes through Price's theorem
(stated, not derived by SymPy): SymPy computes E[erf'(U) erf'(V)] and integrates it in the covariance.
Monte Carlo: one hidden unit per sample is an unbiased per-sample estimate of the infinite-width kernel.
Finite width: the empirical kernel of width-N deep ReLU networks (depth 1–3) differs from K^L with a
log-log slope −1/2 in N (tested in [−0.6, −0.4]; a kernel 5 % off makes the error level off instead).
"""),
    'committee': (
        'Soft committee machines, g = erf(x/√2) (seed 000; Saad & Solla 1995; Goldt et al. 2019)',
        """\
For fields (u, v, …) ~ N(0, C): I2 = E[g(u)g(v)] = (2/π) arcsin(C12/√((1+C11)(1+C22))), I3 = E[g′(u) v g(w)],
I4 = E[g′(u)g′(v)g(w)g(z)], and ε_g = ½ΣI2(Q) + ½ΣI2(T) − ΣI2(R). `theory/_committee.py` derives I2:
Price's theorem (used, not re-proven) gives dI2/dC12 = E[g′g′]; SymPy computes that Gaussian integral
through the Cholesky factor and proves it equals d/dC12 of the printed I2, which is 0 at C12 = 0. ε_g is
derived by expanding the square and proven equal to Saad & Solla's eq. (9). I3 and I4 are stated as
printed and checked by Monte Carlo only. I2's sampler uses the exact Cholesky factor in (s_u, s_v, ρ),
exactly 0 in its corner at ρ = ±1; boundary examples include ρ = ±1 and scales from 1e-10 to 403.

Findings: the slide's σ(x) = erf(x/2) has lost a square root (with erf(x/2) the arcsin argument has
2 + C in place of 1 + C; `committee-i2-seed-erf-x-over-2`, expected refuted). The edge where naive code
breaks is ρ = ±1 at *large* variances: the arcsin argument rounds to 1 + 2⁻⁵² and gives NaN; the product
under the square root overflows near C ≈ 1e155; a sampler that forms √(1−ρ²) gets NaN at ρ = ±1 and 0/0
at tiny scales. `theory._committee.robust()` clamps every arcsin argument to [−1, 1] and splits √(ab)
into √a·√b (tests at 1e-150 … 1e160 against 50-digit references). Monte Carlo cannot see a bias on a
rare event (I4 at norm 1e3), so the claims' ranges are capped where that happens; their notes say so.
"""),
    'simsiam': (
        'SimSiam facts (seed 001; Chen & He, CVPR 2021)',
        """\
- For a symmetric D, the gradient w.r.t. (z1, z2) of ½D(z1, sg z2) + ½D(z2, sg z1) equals ½∇D(z1, z2):
  derived with SymPy for any d (stop-gradient = frozen symbols), checked against autograd with a real
  `.detach()` for negative cosine and squared L2.
- argmin_η E_T‖F(T(x)) − η‖² = E_T[F(T(x))]: solved by SymPy from gradient = 0; checked with one autograd
  Newton step over weighted augmentations.
- A non-collapsed isotropic Gaussian output has per-channel std of its ℓ2-normalised version 1/√d
  (E[z̄ᵢ²] = 1/d derived for symbolic d); Monte Carlo for d = 2, 16, 64; a collapsed output gives 0.

- The optimal predictor ("Predictor: fill the gap"): over all functions h of the view z₁ = f(T(x)), the
  minimiser of E‖h(z₁) − sg(z₂)‖², z₂ = f(T′(x)), is E_T[f(T(x))] at every view of x (SymPy solves
  gradient = 0 over a predictor table; one autograd Newton step with a detached target, encoder
  f(x) = W₂ tanh(W₁x), two images); and E_T′‖h − f(T′(x))‖² = ‖h − E_T f‖² + Var_T f exactly (any other
  output costs ‖h − mean‖² more; also checked as the bound `>=` with h down to 1e-3 from the mean).

Findings: with a linear predictor h(z) = Az the stop-gradient equivalence fails (the slide's "maintain
asymmetry"); "η ← E_T[T(x)]" read literally holds only for F = identity; the 1/√d reference needs an
isotropic, zero-mean output; the optimal predictor is E[z₂ | z₁], which is the slide's E_T[f(T(x))] only
where a view identifies its image (two images sharing a view: the optimum there is the posterior mixture of
their means, `simsiam-optimal-predictor-shared-view`, expected refuted).
"""),
    'recursive-gradient': (
        'Recursive gradient rule (seed 000; Tian, ICML 2020, Lemma 1)',
        """\
For deep ReLU teacher and student nets under the L2 loss, g_l(x) = D_l(x)[A_l(x) f*_l(x) − B_l(x) f_l(x)]
and Ẇ_l = E_x[f_{l−1} g_lᵀ]. The slide does not define A_l and B_l; our reading (Tian 2020): V_L = I,
V_{l−1} = V_l D_l W_lᵀ (the gated Jacobian ∂f_L/∂f_l), V*_l the teacher's, A_l = V_lᵀV*_l, B_l = V_lᵀV_l,
g_l = −∂J_x/∂h_l (so g_L = f*_L − f_L); linear output layer, no biases. SymPy proves Lemma 1 with the
gates as free symbols (every gate pattern) and Ẇ_l = −∂J/∂W_l = f_{l−1} g_lᵀ; autograd confirms g_l and
the per-sample Ẇ_l on a d-3-2-2 student and d-2-3-2 teacher for every input width d in 2..4 (the SymPy proofs
are at d = 2); A_1, B_1 at x equal the autograd Jacobians at x + tδ with t half the exact distance to the first
gate flip (past a flip they jump: tested); for a two-layer net with Gaussian input, 1..3 student units and 2
teacher units, the mean of f_{l−1} g_lᵀ matches −E[∇J] (Monte Carlo). Finding: A_l
depends on x only through the gates above layer l of both nets, B_l through the student's; neither
depends on D_l.
"""),
    'locally-connected': (
        'Locally connected ReLU framework (seed 002; Tian 2018)',
        """\
f_j = f′_j Σ_{k∈ch(j)} w_jk f_k, g_k = f′_k Σ_{j∈pa(k)} w_jk g_j, Δw_jk = E[f_k g_j], and Theorem 1
(marginalized gradient) g_j(x_k) = E_{x_{j,−k}|x_k}[g_j(x_j)]. Reading: x_k is node k's receptive field,
g the descent-direction gradient at the pre-activation, f′ = 1(h > 0). Network: 4 inputs, 3 and 2 ReLU
nodes with 2-child receptive fields, a linear top node. SymPy proves the backward recursion and Δw with
gates as free symbols, and Theorem 1 plus the marginalized recursion for an arbitrary distribution (16
free probabilities); autograd on masked dense layers confirms f, g and Δw; on a small generative model
(3-class latent z, input bits Bernoulli given z) the recursion's marginalized gradients match brute-force
enumeration of all (z, x) pairs. Finding: Theorem 1 is the tower property; its content is locality (f′_k
depends only on x_k).
"""),
    'disentangled': (
        'Reformulation and disentangled representations (seed 002; Tian 2018, Theorems 2, 8, 9)',
        """\
Theorem 2 (forward part): on z_α → z_β → x (two child bits, parent relu(wᵀf)), E_{x|z_α}[f_j] is
Σ_k w_jk E_{z_β|z_α}[E_{x|z_β}[f′_j f_k]] (SymPy, any distributions, gates free; enumeration in torch).
Finding: as printed, f′_j(z_α) Σ_k w_jk E_{z_β|z_α}[f_k(z_β)] with f′_j(z_α) = E_{x|z_α}[f′_j] is refuted: it
factors the gate out of the expectation, which needs the gate and the children decorrelated given z_α.

Matrix form F_α = D_α ∘ P_αβ F_β W_βα (β a child of α; rows: values of the latent z, columns: nodes) and
ΔW_βα = (P_αβ F_β)ᵀ Λ_α G_α. Reading: z has two factors; P decomposes: P_αβ = P¹ ⊗ P² (and, for Theorem 9,
P(z_α) = p¹ ⊗ p²); F disentangled: F = [F¹ ⊗ 1, 1 ⊗ F²] (a node depends on its group's factor only);
W separates: W = diag(W¹, W²). SymPy proves, every entry symbolic, that the gated matrix form of a disentangled
child is [σ(P¹F¹W¹) ⊗ 1, 1 ⊗ σ(P²F²W²)] for any entrywise gate (P²'s rows summing to 1 is what makes it
work), and that with centred gradients ΔW = diag((P^k F^k)ᵀ diag(p^k) G^k); torch runs the matrix form on
the joint Kronecker objects. Findings: Theorem 8 as printed runs the wrong way (F_α disentangled ⇒ F_β):
an entangled direction n ⊗ v of F_β with P¹n = 0 does not reach F_α; it also needs the gating D_α
disentangled (ReLU of the pre-activation is; an arbitrary D_α is not). Theorem 9 as printed fails: ΔW's
off-diagonal blocks are E[(P F_β)_k] E[g_j]; they vanish when E_{z_α}[g_j] = 0, which BatchNorm's backward
pass under ⟨·,·⟩_{z_α} gives (`batchnorm-backward-projection-weighted`).
"""),
    'linear-dynamics': (
        'Linear dynamics: deep linear networks and implicit bias (seed 003; Saxe et al. 2014, Ali et al. 2019, Soudry et al. 2018)',
        """\
**Deep linear networks.** A two-layer linear network with whitened inputs, aligned balanced
initialisation and loss ½‖Σ_yx − W₂W₁‖²: each mode obeys τȧ = 2a(s − a), solved by
a(t) = s·e^{2st/τ}/(e^{2st/τ} − 1 + s/a₀). `theory/_linear_dynamics.py` derives the field from ½(s − bc)²
with b = c, proves the printed a(t) solves it (substitution; `sp.dsolve` in the slow tier), and derives
the gradient-descent map a ↦ a(1 + η(s − a))² and the half times. Four full-matrix GD steps equal the
SymPy-iterated map; GD converges to a(t) with slope 1 ± 0.1 in the step size (tested).

**Least squares.** GD from 0 gives w_k = Σᵢ (1 − (1 − ηλᵢ)ᵏ)/λᵢ · vᵢvᵢᵀXᵀy (`sp.summation`), which tends
to the minimum-norm solution X⁺y (`sp.limit`). Gradient flow applies 1 − e^{−λt} (`sp.dsolve`; checked
with a 30-digit matrix exponential), ridge at μ = 1/t applies x/(1 + x), x = λt.

**Separable data.** For x₁ = (1, p), x₂ = (1, −q), SymPy solves the max-margin KKT conditions and
Soudry's w̃, and proves ŵ log t + w̃ solves gradient flow on the exponential loss exactly. For p = 1,
q = 2, log t × direction error → ln 2/3; logistic gradient flow shows it with log-log slope 1 ± 0.05 over
log t ∈ [50, 1000] (tested).

Findings:
- "Larger singular values are learned first" depends on what "learned" means: with "reaches s/2",
  t½ = τ ln(s/a₀ − 1)/(2s) decreases in s only when s/a₀ > r* = 4.5911 (root of ln(r − 1) = r/(r − 1)),
  i.e. it needs small initialisation (at a₀ = 0.45, s = 1 reaches s/2 at 0.10τ, s = 2.5 at 0.30τ); with
  "half of the way from a₀ to s" the larger mode is always first.
- Early stopping is *similar* to ridge at λ = 1/t, not equal: the filter ratio (1 − e^{−x})(1 + x)/x lies
  in [1, 1.298426], maximum at x* = 1.79328 where eˣ = 1 + x + x² (Ali et al.'s 1.2985 is rounded up).
- GD reaches the minimum-norm solution only from w₀ in the row space of X (e.g. 0); otherwise it keeps
  the null-space part of w₀.
- Symmetric data (p = q) is degenerate: w̃ ∥ ŵ, and the direction error falls faster than 1/log t.
- `torch.linalg.matrix_exp` (float64, torch 2.13, CPU) is off by up to ~4e-12 relative for 1-norms of
  about 0.01–0.07, so the flow uses a 30-digit mpmath exponential.
"""),
    'optimization': (
        'Optimisation: the PL rate, rescale conservation laws, implicit bias of factorisation (seed 003; Karimi et al. 2016, Kunin et al. 2021, Gunasekar et al. 2017)',
        """\
**PL condition.** For an L-smooth f with ½‖∇f‖² ≥ μ(f − f*), gradient descent with step 1/L gives
f(x_t) − f* ≤ (1 − μ/L)ᵗ(f(x₀) − f*) (Karimi et al., Theorem 1). `theory/_optimization.py` solves the
recursion e_{t+1} = (1 − μ/L)e_t (descent lemma + PL) with `sp.rsolve`; the bound is checked on
f = ½xᵀdiag(μ, m, L)x, where μ and L are exact, with t = 0…25 autograd GD steps (`relation="<="`). On a
quadratic each eigencomponent contracts by (1 − λ/L)² ≤ 1 − μ/L (derived), so the bound is tight only at
t = 0. The seed's printed condition ‖∇f‖² ≥ αf is checked as printed with α = 2μ (tight along the μ
eigenvector, `relation=">="`).

**Rescale symmetry.** For f(x) = W₂ relu(W₁x), scaling row i of W₁ by s > 0 and column i of W₂ by 1/s
leaves the loss unchanged, so gradient flow conserves Qᵢ = ‖w₁ᵢ‖² − ‖w₂ᵢ‖² (Kunin et al.): SymPy
differentiates the loss and proves dQᵢ/dt = 0; the claim sets d/dt‖w₁ᵢ‖² by autograd against
d/dt‖w₂ᵢ‖² from SymPy. One GD step of size η changes Qᵢ by exactly η²(‖g₁ᵢ‖² − ‖g₂ᵢ‖²) (the seed's
"modeling discretization", derived); "GD conserves Qᵢ" is refuted (tests).

**Implicit bias of matrix factorisation.** X = UUᵀ (3 × 3), L = ½Σᵢ(⟨Aᵢ, X⟩ − yᵢ)² with two commuting
measurements Aᵢ = Q diag(aᵢ) Qᵀ, gradient flow from U(0) = αI (Gunasekar et al., Theorem 1). SymPy proves
the flow is U(s) = α exp(−2Σᵢ sᵢAᵢ) with ṡ = r (the claim: autograd −∇L at U(s) from
`torch.linalg.matrix_exp` against SymPy's Σᵢ rᵢ∂U/∂sᵢ), so the eigenvalues keep x₁x₂/x₃ = α², and solves
the limit at fixed α from the fit and that conserved quantity; the estimate is the fitting point
α² exp(A*(ν)) by damped Newton on the dual (no eigenbasis assumed), and a test integrates the flow itself
onto it. The α → 0 statement is checked at fixed α as a bound: ‖X_∞(α)‖_* − min ‖X‖_* ≤ α√min(y₁, y₂)
(the minimum by an LP), O(α) and tight at y₁ = y₂; at fixed y₁ ≠ y₂ the gap is O(α²).

Findings:
- The seed's PL constant has no ½: α = 2μ. The textbook rate read with it, (1 − α/L)ᵗ, is false
  (`pl-rate-seed-constant`, expected refuted: along the μ eigenvector GD gives (1 − μ/L)²ᵗ > (1 − 2μ/L)ᵗ);
  with the seed's α the rate is (1 − α/(2L))ᵗ.
- The printed ‖∇f‖² ≥ αf ≥ 0 presumes f* = 0 (f stands for f − f*): f + c, c > 0, violates it at its
  minimiser for every α > 0. And the seed's "global convergence" needs L-smoothness besides PL.
- "Grad descent on U, V yields min nuclear norm solution" needs the small initialisation (α → 0) and, in
  Gunasekar's theorem, commuting measurements: at α ∈ [0.3, 2] the limit's nuclear norm exceeds the minimum
  (`gunasekar-min-nuclear-norm-any-init`, expected refuted; at α = 1, y = (1, 1): 1.618 vs 1).
"""),
}

# claim name -> a one-line summary in Markdown (optional; a name that is not a built-in claim is an error).
SUMMARIES: dict[str, str] = {
    "population-gradient-mc": "one node, d = 4: closed form vs analytic per-sample gradients",
    "population-gradient-autograd": "one node, every d in 2..8: closed form vs per-sample autograd through a `TwoLayerReLU`",
    "population-gradient-network-mc": "K = 3 students, M = 2 teachers, output weights 1: analytic per-sample",
    "population-gradient-network-autograd":
        "K = 3 students, M = 2 teachers, output weights 1: per-sample autograd (`torch.func.vmap(grad)`)",
    "gating-kernel-mc": "g(w, v) = E[x 1(wᵀx>0) relu(vᵀx)] = (1/2π)[(π−θ)v + ‖v‖ sin θ w/‖w‖] vs per-sample "
                        "estimates; derivation of the kernel",
    "relu-kernel-mc": "k(w, v) = E[relu(wᵀx) relu(vᵀx)] = ‖w‖‖v‖(sin θ + (π−θ) cos θ)/(2π) (half the degree-1 "
                      "arc-cosine kernel)",
    "population-loss-mc": "J(w) = ½k(w,w) − k(w,w\\*) + ½k(w\\*,w\\*); the derivation shows its SymPy gradient "
                          "equals g(w,w) − g(w,w\\*)",
    "population-gradient-network-weighted-mc":
        "K = 3, M = 2 with general signed output weights v, v\\*: analytic per-sample",
    "population-gradient-network-weighted-autograd":
        "K = 3, M = 2 with general signed output weights v, v\\*: per-sample autograd through `TwoLayerReLU(W, v)`",
    "batchnorm-backward-projection": "eps = 0, affine",
    "batchnorm-backward-eps": "non-affine `BatchNorm1d`",
    "batchnorm-gradient-zero-mean": "affine, eps",
    "kd-gradient-cross-entropy": "(q − p)/T",
    "kd-gradient-kl-div": "(q − p)/T",
    "kd-gradient-one-hot": "(q − y)/T",
    "kd-gradient-sums-to-zero": "Σᵢ (q − p)ᵢ/T = 0",
    "hinton-limit-zero-mean": "lim T²∇ = (z − t)/n needs zero-mean logits",
    "hinton-limit-uncentred": "lim T²∇ = (z − t)/n needs zero-mean logits (expected refuted without them)",
    "hinton-first-correction": "the exact 1/T coefficient of T²∇ (from `sp.series`), vs nested `torch.func.jvp`",
    "kd-batch-gradient": "(Q − P)/b",
    "kd-batch-true-label-cancels-dark-knowledge": "the blog's two summed terms are negatives",
    "cwtm-gradient": "CWTM = importance-weighted one-hot gradient",
    "cwtm-equals-kd-true-label-term": "CWTM = importance-weighted one-hot gradient ≠ KD's true-label term",
    "dkpp-gradient": "what permuting the non-argmax predictions keeps",
    "dkpp-argmax-column-unchanged": "what permuting the non-argmax predictions keeps",
    "dkpp-dark-knowledge-sum-unchanged": "what permuting the non-argmax predictions keeps",
    "dkpp-equals-kd": "what permuting the non-argmax predictions keeps (and what it does not)",
    "covariance-operator-connection": "depth 3: SymPy Jacobian vs autograd f_{l−1} ⊗ J_lᵀ",
    "covariance-operator-connection-output": "depth 3: SymPy output vs autograd f_{l−1} ⊗ J_lᵀ",
    "covariance-operator-gradient": "3 samples × 2 augmentations: autograd on the enumerated loss",
    "covariance-operator-gradient-mc": "3 samples × 2 augmentations: autograd on sampled pairs",
    "covariance-operator-theorem4":
        "Theorem 4's field vs autograd −∇½L_simp of a two-unit net with independent receptive fields",
    "covariance-operator-one-neuron": "objects 11 / 101 translating in a circular world of d pixels",
    "covariance-operator-one-neuron-linear": "objects 11 / 101 translating in a circular world of d pixels",
    "covariance-operator-one-neuron-printed-relu": "objects 11 / 101 translating in a circular world of d pixels",
    "covariance-operator-infonce-l2": "−‖u − v‖² = 2 sim(u, v) − 2 for u = a/‖a‖, v = b/‖b‖",
    "covariance-operator-psd": "vᵀE[K̄K̄ᵀ]v ≥ ‖E[K̄]ᵀv‖² at any weights and direction, both layers",
    "pl-rate": "GD at step 1/L on ½xᵀdiag(μ, m, L)x, t = 0…25; derivation: rsolve",
    "pl-rate-seed-constant": "the rate with the seed's α = 2μ in place of μ (refuted)",
    "pl-condition": "the seed's ‖∇f‖² ≥ αf on the quadratic, α = 2μ",
    "rescale-conservation-flow": "d/dt‖w₁ᵢ‖² (autograd) = d/dt‖w₂ᵢ‖² (SymPy), 3 ReLU units",
    "rescale-conservation-step": "Qᵢ after one GD step = Qᵢ + η²(‖g₁ᵢ‖² − ‖g₂ᵢ‖²)",
    "nngp-relu-mc": "K¹(x, x') of a one-hidden-layer ReLU net vs f(x)f(x') of one-unit random nets; derivation: "
                    "arc-cosine step",
    "nngp-erf-mc": "Williams' erf kernel (Σ = AAᵀ, 3×3) vs erf(uᵀx̃) erf(uᵀx̃'); derivation: Price + SymPy integrals",
    "committee-generalization-error-mc": "K = M = 2",
    "recursive-gradient-autograd": "g_l = D_l[A_l f\\*_l − B_l f_l] vs −∂J/∂h_l by autograd, all layers",
    "recursive-gradient-piecewise-constant":
        "[A_1 | B_1] at x vs autograd Jacobians at x + tδ, no gate flipped",
    "recursive-gradient-weight-update-autograd": "f_{l−1} g_lᵀ vs −∂J_x/∂W_l",
    "recursive-gradient-weight-update-mc": "E[f_{l−1} g_lᵀ] (Lemma 1 per sample) = −E[∇J] (SymPy closed form)",
    "locally-connected-forward-backward": "node-wise f_j, g_k recursions vs torch.relu / autograd",
    "locally-connected-weight-update": "Δw_jk = E[f_k g_j] over a 3-point data set vs −∇ of the mean loss",
    "locally-connected-marginalized-gradient": "marginalized back-prop vs enumeration of 48 (z, x) pairs",
    "reformulation-forward": "Theorem 2 with the gate inside E_{x|z_β} vs enumeration of (z_β, x)",
    "disentangled-forward": "factor-wise σ(P^k F^k W^k) vs relu(P F W) on the joint 6 × 6 objects",
    "disentangled-weight-update": "diag((P^k F^k)ᵀ diag(p^k) G^k) vs (P F_β)ᵀ Λ G on the joint objects, G centred",
    "batchnorm-backward-projection-weighted": "E_{z_α}-weighted statistics and inner product",
    "saxe-mode-strength-ode": "autograd d/dt of the lambdified a(t)",
    "saxe-two-layer-gd-modes": "4 GD steps vs the per-mode map; trajectory figure",
    "saxe-larger-modes-first-small-init": "a₀ ≤ 0.05",
    "saxe-larger-modes-first-large-init": "a₀ ∈ [0.2, 0.45], a = s/2",
    "saxe-larger-modes-first-progress": "a₀ ∈ [0.2, 0.45], half of the way",
    "ridge-spectral-filter": "ratio derivation attached",
    "max-margin-exp-loss-trajectory": "logistic direction-error figure",
}

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _escape(text: str) -> str:
    """Plain text (a claim's notes, its reference) as Markdown that renders as that text."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: inline code and emphasis marks dropped, lower case, punctuation
    removed, spaces to hyphens (a repeated heading gets -1, -2, ...: see ``tests/test_docs.py``)."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)        # a link: its text
    text = text.replace("`", "").replace("**", "").replace("\\", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def _items(mapping) -> str:
    return "; ".join(f"`{name}`: `{spec!r}`" for name, spec in mapping.items())


def _claim_section(claim) -> list[str]:
    lines = [f"### `{claim.name}`", ""]
    if claim.name in SUMMARIES:
        lines += [f"In brief: {SUMMARIES[claim.name]}.", ""]
    expected = ("**refuted** (a statement the suite shows false on purpose)" if claim.expected == "refuted"
                else claim.expected)
    method = claim.method
    facts = [("expected verdict", expected),
             ("method", f"`{method}`" + (" (Monte Carlo test)" if method == "monte_carlo"
                                         else " (round-off bound against a deterministic estimate)")),
             ("reference", _escape(claim.reference) or "none"),
             ("parameters", _items(claim.params))]
    if method == "monte_carlo":
        if claim.inputs:
            facts.append(("random inputs (engine-owned)", _items(claim.inputs)))
    if claim.relation != "==":
        facts.append(("relation", f"a bound: estimand {claim.relation} closed form"))
    if claim.limit is not None:
        lim = claim.limit
        facts.append(("asymptotic order", f"estimand − closed form = {lim.describe()}, on a ladder of {lim.rungs} rungs "
                                          f"(ratio {lim.ratio:g}, tolerance {lim.tolerance:g}; docs/bounds-and-orders.md)"))
    facts.append(("examples", f"{claim.examples} hypothesis draws, on top of the boundary examples"))
    if method == "monte_carlo":
        if claim.resolve is not None:
            samples = (f"sized per example to resolve {claim.resolve:g} (relative), from {claim.min_samples} "
                       f"up to {claim.samples} per example")
        else:
            samples = f"{claim.samples} per example"
        facts += [("samples", samples), ("false-refutation rate", f"{claim.false_refutation_rate:g}")]
        vr = claim.variance_reduction
        facts.append(("variance reduction", ", ".join(f"`{v}`" for v in ((vr,) if isinstance(vr, str) else vr))))
        if claim.sample_bound is not None:
            facts.append(("sample bound", f"{claim.sample_bound:g}"))
    attached = [what for what, present in (("derivation (derived vs printed form)", claim.derivation),
                                           ("sweep (report figure)", claim.sweep),
                                           ("trajectory (report figure)", claim.trajectory)) if present]
    facts.append(("attached", ", ".join(attached) if attached else "none"))
    lines += [f"- {label}: {value}" for label, value in facts]
    lines.append("")
    if claim.statement:
        lines += ["Statement:", "", "```math", claim.statement.strip(), "```", ""]
    if claim.notes:
        lines += [f"Notes: {_escape(claim.notes)}", ""]
    return lines


def claims_markdown(claims: dict | None = None) -> str:
    """The text of ``docs/claims.md`` for ``claims`` (default: ``verify.claims.builtin_claims()``)."""
    if claims is None:
        from .claims import builtin_claims
        claims = builtin_claims()
    unknown = sorted(set(SUMMARIES) - set(claims))
    if unknown:
        raise ValueError(f"verify/_docs.py SUMMARIES names claims that do not exist: {', '.join(unknown)}")
    families: dict[str, list] = {}
    for claim in claims.values():
        families.setdefault(claim.family or "other", []).append(claim)
    refuted = sum(c.expected == "refuted" for c in claims.values())
    lines = [
        "# Built-in claims",
        "",
        f"<!-- Generated from the Claim objects in verify/claims/ by `{WRITE_COMMAND}`: do not edit by hand "
        "(tests/test_docs.py fails while this page is stale). Family prose lives in verify/_docs.py. -->",
        "",
        f"The {len(claims)} built-in claims in {len(families)} families, in the order `theorycheck list` shows "
        f"them; {refuted} of them are statements the suite shows false on purpose (expected verdict refuted: "
        "a printed form that is wrong, or a reading that does not hold). `theorycheck run NAME` checks one; "
        "the fields are those of a `Claim` ([README](../README.md#writing-a-claim-the-derivation-file-format)), "
        "and how a verdict is reached is in [verdicts.md](verdicts.md).",
        "",
        "Each family opens with its derivation (`theory/`) and findings about the papers; then, per claim, its "
        "expected verdict, method, reference, parameters, examples and samples, the LaTeX statement it "
        "carries and its notes. Method `exact` compares a deterministic estimate (autograd, an enumeration) "
        "with the closed form within a round-off bound; `monte_carlo` runs the statistical test.",
        "",
    ]
    for family, members in families.items():
        title = FAMILIES.get(family, (family, ""))[0]
        lines.append(f"- [{title}](#{github_slug(title)}): {len(members)} claims")
    lines.append("")
    for family, members in families.items():
        title, prose = FAMILIES.get(family, (family, ""))
        lines += [f"## {title}", ""]
        if prose.strip():
            lines += [prose.strip(), ""]
        lines += [f"Family `{family}`: {', '.join(f'[`{c.name}`](#{github_slug(c.name)})' for c in members)}.", ""]
        for claim in members:
            lines += _claim_section(claim)
    return "\n".join(lines).rstrip("\n") + "\n"


def write_claims_page(path: str | os.PathLike = CLAIMS_PAGE) -> Path:
    """Regenerate ``docs/claims.md`` (imports the claims, so torch), atomically."""
    from ._results import write_text_atomic

    return write_text_atomic(path, claims_markdown())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--write"]:
        print(f"wrote {write_claims_page()}")
        return 0
    if argv == ["--check"]:
        current = CLAIMS_PAGE.read_text(encoding="utf-8") if CLAIMS_PAGE.is_file() else None
        if current == claims_markdown():
            return 0
        print(f"{CLAIMS_PAGE} is stale: run {WRITE_COMMAND}", file=sys.stderr)
        return 1
    print(f"usage: {WRITE_COMMAND}   (or --check: exit 1 when docs/claims.md is stale)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
