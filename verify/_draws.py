"""Engine-owned random inputs and the variance reduction they allow.

A Monte Carlo claim may *declare* its random inputs instead of drawing them itself::

    Claim(..., inputs={"x": Gaussian(4)}, monte_carlo=lambda w, w_star, x: ...)   # x: (n, 4) ~ N(0, I)

The engine then owns the draws, so it can reduce the variance of any estimator without its author writing
any of it (``variance_reduction=``, default ``"auto"``):

* ``"antithetic"`` -- every draw z comes with -z; the test's samples are the pair means (Y(z) + Y(-z)) / 2,
  iid across pairs, so the mean, SE and skewness are those of the pair means (n / 2 of them). The odd
  part of the estimator in z cancels exactly.
* ``"control_variates"`` -- Hermite polynomials of the inputs, whose means are known exactly (0):
  H1 = z_i and H2 = z_i z_j (i < j), (z_i^2 - 1) / sqrt 2 -- degree 2 up to ``MAX_QUADRATIC_DIM`` input
  coordinates, degree 1 above. The estimator's per-sample value Y becomes Y - C beta. beta is fitted by
  least squares on a separate *pilot* batch (its own seed), never pooled into the test, so beta is
  independent of the tested samples, E[Y - C beta] = E[Y] exactly, and the samples stay iid: the z-test
  of ``_stats.py`` holds unchanged. An estimator that draws its own randomness may also return
  ``(values, controls)``: controls (n, q) with mean 0 that the author knows; they are fitted the same way.
* ``"rqmc"`` -- randomized quasi-Monte Carlo: R = ``RQMC_REPLICATES`` independent scramblings (Owen-scrambled
  Sobol points, one seed each, mapped through the normal quantile function) of 2^k points each; the test's
  samples are the R replicate means, iid and unbiased; the critical value is Student-t with R - 1 degrees of
  freedom at alpha / m (``_stats.critical_t``), widened like the z-test by the replicate means' measured
  skewness (Edgeworth). **Assumption:** the replicate means are normal up to that skewness term (a CLT over
  the 2^k points of each replicate, Loh 2003 for scrambled nets; "auto" uses RQMC only at 2^k >= 1024). It pays when the integrand is
  smooth enough that RQMC's variance falls faster than 1/n; it can be combined with control variates.

``"auto"`` (the default) lets a pilot batch choose, per example, among plain draws, antithetic pairs and RQMC
-- each with the Hermite control variates. The pilot is drawn as antithetic pairs, which gives the residual
variance per draw both of plain draws (every draw) and of pairs (the pair means, even part only), and a small
RQMC pilot (``RQMC_PILOT`` replicates) gives RQMC's. Each design's detectable discrepancy is predicted from
them (``_stats.predicted_relative``, the SE = 0 allowance included where a component shows no variance:
RQMC's rests on its R replicates only). With ``resolve=`` the design that reaches the resolution with the
fewest draws wins (RQMC never runs fewer than R x 1024, so its pilot is skipped when another design needs no
more); without, the smallest predicted discrepancy at ``samples``. RQMC is weighed with its pilot variance
inflated by ``RQMC_MARGIN``, because that estimate has only RQMC_PILOT - 1 degrees of freedom.
The choice is made on pilot draws alone, so the tested samples are independent of it and each
design's test is valid as it stands. Without declared inputs, "auto" means control variates where the
estimator returns controls, plain sampling otherwise. ``"none"`` turns everything off (user-returned
controls included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ._errors import ClaimDefinitionError

__all__ = ["Gaussian", "Design", "METHODS", "MAX_QUADRATIC_DIM", "RQMC_REPLICATES", "hermite_controls"]

METHODS = ("antithetic", "control_variates", "rqmc")
MODES = ("iid", "antithetic", "rqmc")
RQMC_PILOT = 8              # replicates in the pilot that estimates RQMC's variance
RQMC_MIN_POINTS = 1024      # "auto" considers RQMC only with at least this many points per replicate (samples >= 65536)
RQMC_MARGIN = 3.0           # RQMC's pilot variance is inflated by this factor when weighed against the other designs
MAX_QUADRATIC_DIM = 12      # degree-2 Hermite controls up to this many input coordinates (q = D + D(D+1)/2 = 90)
RQMC_REPLICATES = 64        # t_{63} at 1e-6/(2m) is within 1.2x of the normal quantile for m <= 1000 tests
PILOT_SALT = 0x5EED_F11E    # the pilot batch's generator seed is example_seed ^ PILOT_SALT


@dataclass(frozen=True)
class Gaussian:
    """A standard Gaussian input of dimension ``dim``: the estimator receives it as an (n, dim) float64 tensor.

    ``dim`` may name a Vector parameter (``Gaussian(dim="w")``): the input then has w's dimension at every
    example, drawn ones included (``Vector(dim=(2, 8))``); the engine resolves it per example (``at``)."""

    dim: int | str

    def __post_init__(self):
        if isinstance(self.dim, str) and self.dim.isidentifier():
            return
        if isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim < 1:
            raise ClaimDefinitionError(f"Gaussian(dim={self.dim!r}): dim must be an integer >= 1 or a Vector parameter's name, "
                                       "e.g. Gaussian(4) for x ~ N(0, I_4), Gaussian(dim=\"w\") for w's dimension.")

    def at(self, params: dict) -> "Gaussian":
        """This input at one example: a reference replaced by the referred parameter's length there."""
        return self if isinstance(self.dim, int) else Gaussian(int(params[self.dim].shape[0]))


def parse_methods(value, *, who: str, has_inputs: bool) -> tuple[str, ...]:
    """The variance-reduction methods a claim asked for, validated: ("auto",), ("none",) or a tuple of METHODS."""
    if value in ("auto", ("auto",)):
        return ("auto",)
    if value in ("none", None, (), ("none",)):
        return ("none",)
    items = (value,) if isinstance(value, str) else tuple(value)
    bad = [m for m in items if m not in METHODS]
    if bad:
        raise ClaimDefinitionError(f"{who}: variance_reduction {bad[0]!r} is not one of {METHODS} (or 'auto', 'none'); "
                                   "e.g. variance_reduction=('antithetic', 'control_variates').")
    if not has_inputs and any(m in ("antithetic", "rqmc") for m in items):
        raise ClaimDefinitionError(f"{who}: variance_reduction={value!r} needs engine-owned draws: declare inputs={{'x': Gaussian(d)}} "
                                   "and take x as an argument of monte_carlo instead of drawing it from the generator.")
    if "antithetic" in items and "rqmc" in items:
        raise ClaimDefinitionError(f"{who}: variance_reduction: choose 'antithetic' or 'rqmc', not both.")
    return tuple(m for m in METHODS if m in items)


def hermite_controls(z: torch.Tensor, degree: int, *, even_only: bool = False) -> torch.Tensor:
    """(n, D) standard normal -> (n, q) orthonormal Hermite polynomials of degree 1..``degree`` (mean 0, variance 1):
    z_i, then z_i z_j (i < j) and (z_i^2 - 1) / sqrt 2.

    even_only: only the degree-2 terms (under antithetic pairs the odd ones cancel in every pair mean).
    """
    n, D = z.shape
    cols = [] if even_only else [z]
    if degree >= 2:     # column blocks (faster than an (n, D, D) outer product with D this small)
        cols += [z[:, i:i + 1] * z[:, i + 1:] for i in range(D - 1)]
        cols.append((z * z - 1.0) * (1.0 / math.sqrt(2.0)))
    if not cols:
        return z.new_zeros(n, 0)
    return cols[0] if len(cols) == 1 else torch.cat(cols, dim=1)


class Design:
    """How one claim's samples are drawn and combined into the iid units the test sees.

    inputs: name -> Gaussian (may be empty); methods: from ``parse_methods``.
    """

    def __init__(self, inputs: dict[str, Gaussian], methods: tuple[str, ...], device: torch.device):
        self.inputs = dict(inputs)
        self.methods = methods
        self.device = device
        self.dim = sum(g.dim for g in self.inputs.values())
        self.auto = methods == ("auto",) and self.dim > 0
        self.none = methods == ("none",)
        self.mode = "rqmc" if "rqmc" in methods else "antithetic" if "antithetic" in methods else "iid"
        self.control_variates = self.auto or "control_variates" in methods
        self.user_controls = not self.none      # controls returned by the estimator are fitted unless "none"
        self.degree = 2 if self.dim <= MAX_QUADRATIC_DIM else 1
        self._replicates: dict = {}

    @property
    def owns_draws(self) -> bool:
        return self.dim > 0

    def split(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        out, at = {}, 0
        for name, g in self.inputs.items():
            out[name] = z[:, at:at + g.dim]
            at += g.dim
        return out

    def iid(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(n, self.dim, generator=generator, dtype=torch.float64, device=self.device)

    def sobol(self, m: int, seed: int) -> torch.Tensor:
        """m scrambled Sobol points mapped to N(0, I): one RQMC replicate (seed fixes the scrambling)."""
        eng = torch.quasirandom.SobolEngine(self.dim, scramble=True, seed=seed)
        u = eng.draw(m, dtype=torch.float64).clamp_(2.0**-53, 1.0 - 2.0**-53)
        return torch.special.ndtri(u).to(self.device)

    def replicates(self, m: int, seeds: list[int]) -> torch.Tensor:
        """The RQMC point sets for ``seeds`` (len(seeds) x m, D), cached: a claim's examples share them.

        Sharing is valid: each example's test needs its replicates independent of one another (they are:
        one scrambling each) and of its pilot (which uses other seeds), not of other examples' -- the union
        bound over examples holds whatever their dependence.
        """
        key = (m, tuple(seeds))
        cached = self._replicates.get(key)
        if cached is None:
            cached = torch.cat([self.sobol(m, s) for s in seeds])
            if cached.numel() * 8 <= 64 << 20:
                self._replicates[key] = cached
        return cached

    def engine_controls(self, z: torch.Tensor, mode: str) -> torch.Tensor | None:
        """Hermite controls at z (per draw; for antithetic pairs the degree-2 ones, equal at z and -z)."""
        if not (self.control_variates and self.owns_draws):
            return None
        return hermite_controls(z, self.degree, even_only=mode == "antithetic")


def fit_coefficients(y: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Least-squares beta (q, k) of centred y (p, k) on centred c (p, q); rank-deficient columns get 0 weight."""
    yc = y - y.mean(0)
    cc = c - c.mean(0)
    scale = cc.pow(2).mean(0).sqrt()
    keep = scale > 0
    beta = torch.zeros(c.shape[1], y.shape[1], dtype=y.dtype, device=y.device)
    if keep.any():
        cs = cc[:, keep] / scale[keep]
        sol = torch.linalg.pinv(cs, rcond=1e-10) @ yc      # (q', k)
        beta[keep] = sol / scale[keep, None]
    return beta
