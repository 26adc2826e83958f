"""BYOL and SimSiam ablations on a hierarchical latent-tree model and on scikit-learn's digits.

Sources: seed ``000_111be25265ff9c8a.txt`` (Tian, Yu, Chen & Ganguli 2020, "Understanding self-supervised
learning with dual deep networks": the HLTM, the covariance operator, the BYOL "Ablation Study of Batch
components" table and the predictor re-initialisation table) and seed ``001_6773eab5ac926cae.txt`` (Chen & He
2021, SimSiam: stop-gradient, predictor, the collapse metric).

| code                    | paper                         | meaning                                               |
|-------------------------|-------------------------------|-------------------------------------------------------|
| ``h``, ``z``, ``p``     | f(x), z, p (SimSiam)          | encoder output, projection, prediction                 |
| ``t``                   | sg(z) / target projection     | what p is pulled to                                   |
| ``tau``                 | tau (BYOL)                    | EMA rate of the target network                        |
| ``mu, sigma, mud, sigmad`` | mu, sigma, mu-dd, sigma-dd (seed 000 BN table) | batch components (below)             |
| ``K_bar``, ``op_trace`` | K_bar_l(x), tr V_x[K_bar_l]   | augment-mean connection, covariance-operator trace    |
| ``collapse_z``          | std of l2-normalised output   | SimSiam's collapse monitor, x sqrt(d)                 |

What is trained. An MLP encoder ``f`` (Linear-ReLU-Linear-ReLU; its output ``h`` is the representation), a
projector ``g`` (Linear-BN-ReLU-Linear; output ``z``) and a predictor ``q`` (Linear-BN-ReLU-Linear; output
``p``). "BN" is one of seed 000's batch components, exactly the table's code lines and nothing else (no affine,
no eps, no running statistics)::

    mu:   x = x - x.mean(0)        mu':    x = x - x.mean(0).detach()      (mu' is the table's mu-double-dagger)
    sigma: x = x / x.std(0)        sigma': x = x / x.std(0).detach()

applied mean first, then scale. Loss: L = 1/2 D(p1, t2) + 1/2 D(p2, t1), D = negative cosine, for two views
x1, x2 of one item. SimSiam: t = z of the same network, detached (``stop_grad``) or not. BYOL: t = z of a
target network (encoder + projector) that follows the online one by EMA with rate ``tau``.

Training: SGD (lr 0.05, momentum 0.9, weight decay 1e-4), batch 128 items (two views each), both methods alike.
quick trains HLTM 400 steps and digits 800: the digits base arm's probe accuracy still rose from 400 to 800 steps
(BYOL, 4 seeds: 0.89 -> 0.91), HLTM's is at the Bayes accuracy by 400. ``tau`` = 0.98 (an EMA time constant of 50
steps, 1/8 of the HLTM run): with 0.99 BYOL without predictor was still collapsing at step 400 (0.09 and falling).

Arms and why these. 19 arms x 4 seeds must fit ~3 CPU minutes, so each ablation runs where it means something:

* per data set and method: ``base`` and ``nopred`` (q = identity); ``nosg`` for SimSiam only: in BYOL the
  target's weights are an EMA, not trained, so there is no gradient to stop.
* ``reinit`` (q re-drawn, and its optimizer state dropped, every ``reinit_every_epochs``; quick: 800 steps are
  100 epochs of digits, re-initialised every 5, as Table 5's T = 5 over 100 epochs; full keeps ~20 re-inits):
  BYOL, whose table it is (seed 000's Table 5), on digits only: it is a claim about accuracy, and on the HLTM
  every arm's probe accuracy sits at the Bayes accuracy of the root (``bayes_acc``), so no accuracy effect can
  show there.
* EMA on/off is the BYOL-vs-SimSiam pair itself: BYOL with tau = 0 computes exactly SimSiam's detached
  target (the same weights, the same batch statistics), so a separate "BYOL without EMA" arm would repeat
  ``simsiam-*-base`` bit for bit. The EMA comparison is reported as the paired difference byol - simsiam.
* seed 000's BN table (9 variants, BYOL) runs on digits only (``bn_dataset``): it is the image data set, like
  the table's STL-10, and 8 extra arms on each data set would not fit the quick budget. Its ``mu,sigma``
  entry is ``byol-digits-base``. The other arms use ``mu,sigma``.

All arms with the same seed share the data, the split, the initial weights, the augmentation stream and the
evaluation views (separate generators drawn from ``run.generator``), so arm differences are paired per seed.

Data. HLTM (seed 000): binary latents on a binary tree; root z0 ~ Bernoulli(1/2), each child equals its
parent flipped with probability ``flip``; each leaf latent (level ``depth``) emits ``leaves`` Gaussian
observations (2 z - 1) + ``noise`` N(0, 1). The class is z0. An item is fixed by its latents at levels
<= ``keep``; a view re-samples the latents below ``keep`` and the leaf noise given them (the probe sees one
fixed draw per item). Digits: ``sklearn.datasets.load_digits`` (bundled, 1797 8x8 images, scaled to [0, 1]);
a view shifts by up to ``shift`` pixels in each direction (zero fill), adds ``noise`` N(0, 1) and zeroes
each pixel with probability ``mask``. Both are split train/val/test (``split``) by the seed.

Metrics (after training).

* ``probe_acc``: multinomial logistic regression on the standardised frozen ``h`` of the un-augmented inputs
  of the train split; C from ``probe_Cs`` chosen by validation accuracy, the test accuracy of that one C is
  the reported number (the test split is touched once). ``probe_acc_init``: the same at initialisation (base
  arms only: every arm of a seed and data set starts from the same weights). ``bayes_acc`` (HLTM): the exact
  Bayes classifier of the root (upward message passing on the tree) on the same test split, a ceiling.
* ``collapse_z`` (``collapse_h``): SimSiam's monitor, std over a batch of the l2-normalised ``z`` (``h``), per
  channel, averaged over channels, times sqrt(d): ~1 for healthy isotropic outputs, 0 when collapsed.
  Computed on ``eval_batch`` validation items, BN with that batch's statistics.
* ``op_trace``: per encoder layer l, tr V_x[K_bar_l(x)] = E_x ||K_bar_l(x) - E_x K_bar_l||_F^2 with
  K_bar_l(x) = E_aug[d h(x_aug) / d vec(W_l)] (autograd), over ``op_items`` validation items x and ``op_views``
  views each (plug-in means over both). This is the trace of seed 000's covariance operator OP_l for the
  encoder f = h: the BN-free part, where h(x) is a per-sample function as the definition requires.

Verdicts (95% t intervals over seeds, paired per seed where two arms are compared). Error model: with normal
per-seed values a true claim is called "fails" with probability <= 2.5% per verdict and nothing corrects for the
11 asserted verdicts together; "inconclusive" means the seeds cannot tell (more seeds: ``--seeds N``).

* ``METHOD-DATA-nopred-collapses``, ``simsiam-DATA-nosg-collapses``: collapse_z < 0.1 (asserted).
* ``METHOD-DATA-base-healthy``: collapse_z of the full method > 0.5 (asserted; the contrast above needs it).
* ``bn-mu-sigma-beats-none``: probe_acc(mu,sigma) - probe_acc(none) > 0 (asserted).
* ``bn-table-ordering``: Kendall tau between the 9 per-seed accuracies and the table's means > 0 (reported:
  a comparison with a paper's table); ``detail`` names every pair whose order differs from the table's.
* ``DATA-ema-effect`` (byol - simsiam) and ``METHOD-DATA-reinit-effect`` (reinit - base) probe-accuracy
  differences against 0 (reported: seed 000 Table 5 has re-init >= base; seed 001 has EMA helpful, not
  necessary).

Findings (quick, 4 seeds). Every asserted verdict holds: without predictor (BYOL and SimSiam) or without
stop-gradient the collapse metric of z ends at 0.03-0.05 on both data sets, the full methods stay at ~0.8;
BN (mu, sigma) beats none by 0.085 [0.011, 0.158] probe accuracy. The BN table's order holds in direction only
loosely (Kendall tau 0.40 [0.12, 0.68], 25 of 36 pairs): as in the table, (mu, sigma) and (mu, sigma') are the
best two, and they are the only variants whose z stays healthy (~0.85; five others end below 0.09, and
(mu', sigma), (mu', sigma') at ~0.33 with h collapsed to ~0.01 instead); unlike the table, sigma alone and mu
alone do not beat none, and (mu', sigma) is the worst (probe 0.63; 0.16 in one seed).
Re-initialising the predictor every 5 epochs costs accuracy on digits in the mean (-0.075 [-0.160, 0.011],
inconclusive; -0.060 [-0.075, -0.045] before the re-init draws got their own named stream), the opposite
of Table 5's small gain, but 4 seeds do not decide it. EMA vs none: no detectable difference on either data set. On the HLTM the linear
probe is within 0.02 of the Bayes accuracy (0.857) for every arm, collapsed or not: h stays informative when z
collapses; on digits, random features already give 0.83, so SSL gains are a few points. Arms collapsed by
removing the predictor or the stop-gradient end with a smaller covariance-operator trace than healthy ones
(digits, layer 2: 3.4-4.5 vs ~10); (mu', sigma) and (mu', sigma'), whose h collapses, have the largest.
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._batchnorm import BatchComponents
from .._experiment import Experiment, Run, Verdict, init_linear_, mean_ci, per_seed, save_figure

__all__ = ["BN_TABLE", "EXPERIMENTS", "BatchComponents", "collapse_metric", "covariance_operator_trace",
           "digits_shifts", "digits_views", "hltm_bayes_root", "hltm_sample", "kendall_tau", "linear_probe"]

# seed 000, "Ablation Study of Batch components" (BYOL, STL-10 top-1 %): variant -> (mu, sigma, mean, +-).
# mu / sigma as numerics._batchnorm.normalize's center / scale: "none", "batch" (live) or "detached"
BN_TABLE = {
    "none": ("none", "none", 43.9, 4.2),
    "mu": ("batch", "none", 64.8, 0.6),
    "sigma": ("none", "batch", 72.2, 0.9),
    "mu-sigma": ("batch", "batch", 78.1, 0.3),
    "mud": ("detached", "none", 44.2, 7.0),
    "sigmad": ("none", "detached", 54.2, 0.6),
    "mud-sigma": ("detached", "batch", 48.3, 2.7),
    "mu-sigmad": ("batch", "detached", 76.3, 0.4),
    "mud-sigmad": ("detached", "detached", 47.0, 8.1),
}
BN_LABEL = {"none": "none", "mu": "μ", "sigma": "σ", "mu-sigma": "μ,σ", "mud": "μ‡", "sigmad": "σ‡",
            "mud-sigma": "μ‡,σ", "mu-sigmad": "μ,σ‡", "mud-sigmad": "μ‡,σ‡"}
COLLAPSED = 0.1  # collapse_z below this: collapsed (a healthy isotropic output gives ~1)
HEALTHY = 0.5    # collapse_z above this: not collapsed
ABLATIONS = {  # name -> (predictor, stop_grad, reinit); methods it applies to
    "base": ((True, True, False), ("byol", "simsiam")),
    "nopred": ((False, True, False), ("byol", "simsiam")),
    "nosg": ((True, False, False), ("simsiam",)),
    "reinit": ((True, True, True), ("byol",)),
}


# --------------------------------------------------------------------------------------------- data
def hltm_sample(upper: Tensor, *, depth: int, keep: int, leaves: int, flip: float, noise: float,
                generator: torch.Generator) -> Tensor:
    """Given the latents at level ``keep`` (n, 2**keep), draw the levels below and the leaves; (n, 2**depth leaves)."""
    z = upper
    for _ in range(depth - keep):
        z = z.repeat_interleave(2, dim=1)  # (n, m) -> (n, 2m): each node's two children
        z = z ^ (torch.rand(z.shape, generator=generator) < flip)  # flip each child with probability flip
    mean = (2 * z.to(torch.float32) - 1).repeat_interleave(leaves, dim=1)  # (n, 2**depth) -> (n, 2**depth * leaves)
    return mean + noise * torch.randn(mean.shape, generator=generator)


def hltm_bayes_root(x: Tensor, *, depth: int, leaves: int, flip: float, noise: float, **_) -> Tensor:
    """The Bayes classifier of the root from x (n, 2**depth * leaves): exact upward message passing; (n,)."""
    xs = x.reshape(x.shape[0], 2**depth, leaves).double()  # (n, m, k)
    msg = torch.stack([-((xs + 1) ** 2).sum(-1), -((xs - 1) ** 2).sum(-1)], -1) / (2 * noise**2)  # log p(x|z): (n, m, 2)
    log_T = torch.tensor([[1 - flip, flip], [flip, 1 - flip]], dtype=torch.float64).log()  # [parent, child]
    for _ in range(depth):
        up = torch.logsumexp(log_T + msg[:, :, None, :], -1)  # (n, m, 1, 2) + (2, 2) -> (n, m, 2): log p(below | parent)
        msg = up.reshape(up.shape[0], -1, 2, 2).sum(2)  # the two children of each parent: (n, m / 2, 2)
    return msg[:, 0].argmax(-1)  # uniform root prior


def _hltm(cfg: dict, n: int, generator: torch.Generator):
    """(items' kept latents (n, 2**keep), class = root (n,), one fixed input draw per item (n, d))."""
    root = torch.rand(n, 1, generator=generator) < 0.5  # (n, 1) bool
    upper = root
    for _ in range(cfg["keep"]):
        upper = upper.repeat_interleave(2, dim=1)
        upper = upper ^ (torch.rand(upper.shape, generator=generator) < cfg["flip"])
    x = hltm_sample(upper, generator=generator, **_hltm_args(cfg))
    return upper, root[:, 0].long(), x


def _hltm_args(cfg: dict) -> dict:
    return {k: cfg[k] for k in ("depth", "keep", "leaves", "flip", "noise")}


def digits_shifts(images: Tensor, shift: int) -> Tensor:
    """Every translation of (n, s, s) images by up to ``shift`` pixels per axis, zero fill; (n, (2 shift + 1)**2, s s)."""
    n, s = images.shape[0], images.shape[1]
    padded = F.pad(images, (shift, shift, shift, shift))  # (n, s + 2 shift, s + 2 shift)
    k = 2 * shift + 1
    return torch.stack([padded[:, dy:dy + s, dx:dx + s].reshape(n, s * s) for dy in range(k) for dx in range(k)], 1)


def digits_views(shifts: Tensor, index: Tensor, *, noise: float, mask: float, generator: torch.Generator) -> Tensor:
    """Views of items ``index`` (n,) from ``digits_shifts`` (N, S, d): a random shift, + noise N(0, 1), pixels
    zeroed with probability mask; (n, d)."""
    n, S = index.shape[0], shifts.shape[1]
    out = shifts[index, torch.randint(S, (n,), generator=generator)]  # (n, d)
    out = out + noise * torch.randn(out.shape, generator=generator)
    return out * (torch.rand(out.shape, generator=generator) >= mask)


class _Data:
    """One data set, split by the seed: ``x`` (n, d) probe inputs, ``y`` (n,), ``keys`` what a view is drawn from."""

    def __init__(self, name: str, config: dict, generator: torch.Generator):
        self.name = name
        if name == "hltm":
            cfg = config["hltm"]
            self.keys, self.y, self.x = _hltm(cfg, cfg["n"], generator)
            self._views = lambda index, g: hltm_sample(self.keys[index], generator=g, **_hltm_args(cfg))
        elif name == "digits":
            from sklearn.datasets import load_digits

            digits = load_digits()
            images = torch.tensor(digits.images, dtype=torch.float32) / 16.0  # (1797, 8, 8) in [0, 1]
            self.y = torch.tensor(digits.target, dtype=torch.long)
            self.x = images.reshape(len(self.y), -1)  # (n, 64)
            cfg = config["digits"]
            self.keys = digits_shifts(images, cfg["shift"])  # (n, 9, 64) for shift 1
            self._views = lambda index, g: digits_views(self.keys, index, generator=g, noise=cfg["noise"],
                                                        mask=cfg["mask"])
        else:
            raise ValueError(f"data set {name!r}: use 'hltm' or 'digits'")
        n = len(self.y)
        perm = torch.randperm(n, generator=generator)
        a, b = (round(float(f) * n) for f in np.cumsum(config["split"][:2]))
        self.split = {"train": perm[:a], "val": perm[a:b], "test": perm[b:]}

    def views(self, index: Tensor, generator: torch.Generator) -> Tensor:
        """One augmented view of each item in ``index`` (n,); (n, d)."""
        return self._views(index, generator)


# --------------------------------------------------------------------------------------------- networks
# The batch components are numerics._batchnorm.BatchComponents: the code the batchnorm family's claims
# differentiate (normalize / normalization_grad) is the code trained here.
def _mlp(n_in: int, n_hidden: int, n_out: int, bn: BatchComponents | None, last_relu: bool = False) -> nn.Sequential:
    layers = [nn.Linear(n_in, n_hidden)] + ([bn] if bn is not None else []) + [nn.ReLU(), nn.Linear(n_hidden, n_out)]
    return nn.Sequential(*layers, *([nn.ReLU()] if last_relu else []))


def _networks(config: dict, d_in: int, bn: str, generator: torch.Generator) -> nn.ModuleDict:
    mu, sigma = BN_TABLE[bn][:2]
    net = nn.ModuleDict({
        "encoder": _mlp(d_in, config["width"], config["rep"], None, last_relu=True),
        "projector": _mlp(config["rep"], config["hidden"], config["out"], BatchComponents(mu, sigma)),
        "predictor": _mlp(config["out"], config["hidden"], config["out"], BatchComponents(mu, sigma)),
    })
    init_linear_(net, generator)  # always all three, so every arm of a seed starts from the same weights
    return net


# --------------------------------------------------------------------------------------------- metrics
def collapse_metric(z: Tensor) -> float:
    """SimSiam's monitor: std over the batch of z / ||z|| per channel, averaged, times sqrt(d); z (B, d)."""
    zbar = F.normalize(z, dim=1)  # (B, d)
    return float(zbar.std(0).mean() * math.sqrt(z.shape[1]))


def covariance_operator_trace(encoder: nn.Module, views: Tensor) -> list[float]:
    """tr V_x[K_bar_l(x)] per Linear layer of ``encoder``; ``views`` (N items, A views, d).

    K_bar_l(x) = mean over the A views of d h(view) / d W_l (autograd); the trace is the plug-in
    E_x ||K_bar_l(x) - E_x K_bar_l||_F^2 over the N items.
    """
    from torch.func import functional_call, jacrev, vmap

    params = {k: v.detach() for k, v in encoder.named_parameters()}
    out = []
    for name in (k for k, m in encoder.named_modules() if isinstance(m, nn.Linear)):
        key = f"{name}.weight"

        def h(W, x, key=key):
            return functional_call(encoder, {**params, key: W}, (x,))  # (d,) -> (r,)

        jac = vmap(jacrev(h), in_dims=(None, 0))
        K_sum, sq_sum = 0.0, 0.0
        for item in views:  # (A, d); one item at a time: the Jacobians of all items would not fit at full scale
            K_bar = jac(params[key], item).double().mean(0)  # (A, r, n_l, n_{l-1}) -> (r, n_l, n_{l-1})
            K_sum = K_sum + K_bar
            sq_sum += float((K_bar**2).sum())
        n = views.shape[0]
        out.append(sq_sum / n - float(((K_sum / n) ** 2).sum()))  # float64: E||K||^2 - ||E K||^2 cancels
    return out


def linear_probe(train: tuple, val: tuple, test: tuple, Cs) -> dict:
    """Multinomial logistic regression on standardised features; C by validation accuracy, test reported once.

    Each argument is (features (n, r) numpy, labels (n,)). Non-finite features (a diverged run) count as no
    representation: every input gets the train split's majority class.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    (Xtr, ytr), (Xva, yva), (Xte, yte) = train, val, test
    if not all(np.all(np.isfinite(X)) for X in (Xtr, Xva, Xte)):
        majority = np.bincount(ytr).argmax()
        return {"C": math.nan, "val_acc": float(np.mean(yva == majority)), "test_acc": float(np.mean(yte == majority)),
                "diverged": True}
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # lbfgs capped at 300 iterations; the val split picks C
        scaler = StandardScaler().fit(Xtr)
        Xtr, Xva, Xte = scaler.transform(Xtr), scaler.transform(Xva), scaler.transform(Xte)
        best = None
        for C in Cs:
            model = LogisticRegression(C=C, max_iter=300).fit(Xtr, ytr)
            acc = float(model.score(Xva, yva))
            if best is None or acc > best[1]:
                best = (C, acc, model)
        C, val_acc, model = best
        return {"C": C, "val_acc": val_acc, "test_acc": float(model.score(Xte, yte)), "diverged": False}


def _finite_or_none(v):
    if isinstance(v, list):
        return [_finite_or_none(x) for x in v]
    return None if isinstance(v, float) and not math.isfinite(v) else v


def kendall_tau(a, b) -> float:
    """Kendall's tau-b between two sequences (scipy)."""
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


# --------------------------------------------------------------------------------------------- arms, training
def _arms(config: dict) -> list[dict]:
    arms = []
    for data, ablations in config["ablations"].items():
        for method in ("byol", "simsiam"):
            for ablation in ablations:
                (predictor, stop_grad, reinit), methods = ABLATIONS[ablation]
                if method in methods:
                    arms.append({"name": f"{method}-{data}-{ablation}", "method": method, "data": data,
                                 "ablation": ablation, "predictor": predictor, "stop_grad": stop_grad,
                                 "reinit": reinit, "bn": "mu-sigma"})
    if config["bn_dataset"] is not None:
        for bn in config["bn_variants"]:
            if bn == "mu-sigma" and "base" in config["ablations"].get(config["bn_dataset"], ()):
                continue  # that entry is byol-DATA-base
            arms.append({"name": f"byol-{config['bn_dataset']}-bn-{bn}", "method": "byol", "data": config["bn_dataset"],
                         "ablation": f"bn-{bn}", "predictor": True, "stop_grad": True, "reinit": False, "bn": bn})
    return arms


def _features(encoder: nn.Module, x: Tensor, device) -> np.ndarray:
    with torch.no_grad():
        return encoder(x.to(device)).cpu().double().numpy()


def _probe(encoder: nn.Module, data: _Data, config: dict, device) -> dict:
    feats = _features(encoder, data.x, device)
    parts = [(feats[data.split[s].numpy()], data.y[data.split[s]].numpy()) for s in ("train", "val", "test")]
    return linear_probe(*parts, Cs=config["probe_Cs"])


def _loss(net: nn.ModuleDict, target: nn.ModuleDict | None, x: Tensor, arm: dict):
    """1/2 D(p1, t2) + 1/2 D(p2, t1) for the two views stacked in x (2, B, d); returns (loss, z (2, B, out))."""
    z = net["projector"](net["encoder"](x))  # (2, B, out); BN statistics per view (dim -2)
    p = net["predictor"](z) if arm["predictor"] else z
    if target is not None:  # BYOL: the EMA network's projections, no gradient
        with torch.no_grad():
            t = target["projector"](target["encoder"](x))
    elif arm["stop_grad"]:
        t = z.detach()
    else:
        t = z
    loss = -F.cosine_similarity(p, t.flip(0), dim=-1).mean()  # view 1 against view 2's target and vice versa
    return loss, z


def _train(run: Run) -> dict:
    arm, config, device = run.arm, run.config, run.device
    seeds = run.seeds("data", "init", "stream", "evaluation", "reinit")
    data = _Data(arm["data"], config, torch.Generator().manual_seed(seeds["data"]))
    net = _networks(config, data.x.shape[1], arm["bn"], torch.Generator().manual_seed(seeds["init"])).to(device)
    state = {"net": net, "aug_gen": torch.Generator().manual_seed(seeds["stream"]),
             "reinit_gen": torch.Generator().manual_seed(seeds["reinit"])}
    if arm["method"] == "byol":
        state["target"] = copy.deepcopy(nn.ModuleDict({k: net[k] for k in ("encoder", "projector")}))
        state["target"].requires_grad_(False)
    online_tp = [p for k in ("encoder", "projector") for p in net[k].parameters()]  # what the target follows
    state["opt"] = torch.optim.SGD(net.parameters(), lr=config["lr"], momentum=config["momentum"],
                                   weight_decay=config["weight_decay"], foreach=True)
    # every arm of a seed and data set starts from these weights: probe them once, in the base arms
    init_probe = None
    if config["probe_init"] and arm["ablation"] == "base":
        init_probe = _probe(net["encoder"], data, config, device)

    train_index = data.split["train"]
    steps_per_epoch = max(1, len(train_index) // config["batch"])
    reinit_every = config["reinit_every_epochs"] * steps_per_epoch
    total, tau = config["steps"][arm["data"]], config["tau"]
    for step in run.steps("train", total, state, checkpoint_every=config["checkpoint_every"]):
        g = state["aug_gen"]
        index = train_index[torch.randint(len(train_index), (config["batch"],), generator=g)]
        x = data.views(index.repeat(2), g).reshape(2, len(index), -1).to(device)  # two views of each item: (2, B, d)
        loss, z = _loss(net, state.get("target"), x, arm)
        state["opt"].zero_grad(set_to_none=True)
        loss.backward()
        state["opt"].step()
        if "target" in state:  # EMA: target <- tau target + (1 - tau) online
            with torch.no_grad():
                for t, o in zip(state["target"].parameters(), online_tp):
                    t.lerp_(o, 1 - tau)
        if arm["reinit"] and (step + 1) % reinit_every == 0 and step + 1 < total:
            init_linear_(net["predictor"], state["reinit_gen"])
            for p in net["predictor"].parameters():
                state["opt"].state.pop(p, None)  # the momentum of the old predictor goes with it
        if step % config["log_every"] == 0 or step + 1 == total:
            run.log(step, loss=float(loss.detach()), collapse_z=collapse_metric(z[0].detach()))

    # ---- evaluation: deterministic given the trained state (its own generator), the same views for every arm
    eval_gen = torch.Generator().manual_seed(seeds["evaluation"])
    val = data.split["val"]
    batch = val[:config["eval_batch"]]
    with torch.no_grad():
        h = net["encoder"](data.x[batch].to(device))
        z = net["projector"](h)
    op_items = val[:config["op_items"]]
    views = torch.stack([data.views(op_items, eval_gen) for _ in range(config["op_views"])], 1)  # (N, A, d)
    probe = _probe(net["encoder"], data, config, device)
    test = data.split["test"]
    result = {"probe_acc": probe["test_acc"], "probe_val_acc": probe["val_acc"], "probe_C": probe["C"],
              "diverged": probe["diverged"] or not bool(torch.isfinite(z).all()),
              "collapse_z": collapse_metric(z), "collapse_h": collapse_metric(h),
              "op_trace": covariance_operator_trace(net["encoder"], views.to(device)),
              "probe_acc_init": init_probe["test_acc"] if init_probe else None,
              "bayes_acc": (float((hltm_bayes_root(data.x[test], **config["hltm"]) == data.y[test]).double().mean())
                            if data.name == "hltm" else None)}
    result = {k: _finite_or_none(v) for k, v in result.items()}  # result.json is strict JSON: a diverged run has nulls
    run.log(total, phase="eval", **result)
    return result


# --------------------------------------------------------------------------------------------- summary
def _bn_arm(config: dict, variant: str, arm_names) -> str | None:
    """The arm that carries BN-table ``variant`` (mu-sigma is ``byol-DATA-base`` where that arm runs)."""
    data = config["bn_dataset"]
    for name in (f"byol-{data}-bn-{variant}", f"byol-{data}-base" if variant == "mu-sigma" else None):
        if name in arm_names:
            return name
    return None


def _table_ci(values: list) -> dict | None:
    """mean_ci for the tables, or None where a seed has no value (summary.json is strict JSON)."""
    return None if any(v is None for v in values) else mean_ci(values)


def _ci_text(ci: dict) -> str:
    return f"{ci['mean']:.3f} [{ci['lo']:.3f}, {ci['hi']:.3f}]"


def _summarize(config: dict, results: dict) -> dict:
    n = config["seeds"]
    arm_names = {arm for arm, _ in results}
    arms = [a["name"] for a in _arms(config)]
    table = {}
    for arm in arms:
        row = {key: _table_ci([results[(arm, s)][key] for s in range(n)])
               for key in ("probe_acc", "probe_acc_init", "collapse_z", "collapse_h", "bayes_acc")}
        layers = len(results[(arm, 0)]["op_trace"])
        row["op_trace"] = [_table_ci([results[(arm, s)]["op_trace"][l] for s in range(n)]) for l in range(layers)]
        row["diverged_seeds"] = sum(bool(results[(arm, s)]["diverged"]) for s in range(n))
        table[arm] = row

    verdicts = []

    def collapse(arm, below, statement, detail):
        if arm in arm_names:
            threshold = COLLAPSED if below else HEALTHY
            verdicts.append(Verdict(f"{arm}-{'collapses' if below else 'healthy'}", statement,
                                    mean_ci(per_seed(results, arm, "collapse_z", n)), threshold,
                                    "below" if below else "above", True, detail))

    def paired(name, statement, a, b, detail, asserted=False):
        if a in arm_names and b in arm_names:
            diff = np.subtract(per_seed(results, a, "probe_acc", n), per_seed(results, b, "probe_acc", n))
            verdicts.append(Verdict(name, statement, mean_ci(diff), 0.0, "above", asserted, detail))

    for data in config["ablations"]:
        for method in ("byol", "simsiam"):
            collapse(f"{method}-{data}-base", False,
                     f"{method} on {data}, with predictor and stop-gradient: collapse metric of z > {HEALTHY}",
                     "the healthy reference the ablations are compared with (isotropic outputs give ~1)")
            collapse(f"{method}-{data}-nopred", True,
                     f"{method} on {data} without predictor collapses: collapse metric of z < {COLLAPSED}",
                     "seed 001 Table 1 (no pred. MLP: 0.1%); seed 000 ('no predictor, things do not work')")
        collapse(f"simsiam-{data}-nosg", True,
                 f"simsiam on {data} without stop-gradient collapses: collapse metric of z < {COLLAPSED}",
                 "seed 001 Figure 2 (without stop-gradient the output std goes to 0)")
        paired(f"{data}-ema-effect", f"{data}: probe accuracy BYOL (EMA target) - SimSiam (no EMA) > 0",
               f"byol-{data}-base", f"simsiam-{data}-base",
               "seed 001: the momentum encoder is effective but not necessary; BYOL with tau = 0 is SimSiam")
        for method in ("byol", "simsiam"):
            paired(f"{method}-{data}-reinit-effect",
                   f"{method} on {data}: probe accuracy with the predictor re-initialised every "
                   f"{config['reinit_every_epochs']} epochs - without > 0",
                   f"{method}-{data}-reinit", f"{method}-{data}-base",
                   "seed 000 Table 5 (BYOL, STL-10: 78.1 -> 78.6 / 79.1 / 79.0 for T = 5 / 10 / 20)")

    bn = [v for v in BN_TABLE if config["bn_dataset"] is not None and _bn_arm(config, v, arm_names)]
    bn_table = []
    if bn:
        acc = {v: per_seed(results, _bn_arm(config, v, arm_names), "probe_acc", n) for v in bn}
        bn_table = [{"variant": v, "label": BN_LABEL[v], "table_mean": BN_TABLE[v][2], "table_pm": BN_TABLE[v][3],
                     "arm": _bn_arm(config, v, arm_names), "probe_acc": mean_ci(acc[v]),
                     "collapse_z": table[_bn_arm(config, v, arm_names)]["collapse_z"]} for v in bn]
        if "mu-sigma" in acc and "none" in acc:
            paired("bn-mu-sigma-beats-none", f"BYOL on {config['bn_dataset']}: probe accuracy with BN (mu, sigma) "
                   "in projector and predictor - without (none) > 0",
                   _bn_arm(config, "mu-sigma", arm_names), _bn_arm(config, "none", arm_names),
                   "seed 000 BN table: mu,sigma 78.1 +- 0.3 vs none 43.9 +- 4.2", asserted=True)
        if len(bn) >= 3:
            tau = [kendall_tau([acc[v][s] for v in bn], [BN_TABLE[v][2] for v in bn]) for s in range(n)]
            verdicts.append(Verdict("bn-table-ordering",
                                    f"Kendall tau between our per-seed BN-variant accuracies ({len(bn)} variants) and "
                                    "seed 000's table > 0", mean_ci(tau), 0.0, "above", False,
                                    _ordering_detail(bn, acc)))
    return {"verdicts": verdicts, "arms": table, "bn_table": bn_table}


def _ordering_detail(bn: list[str], acc: dict) -> str:
    """The variant pairs whose order (by mean over seeds) differs from the table's, with the paired CI."""
    bad, total = [], 0
    for i, a in enumerate(bn):
        for b in bn[i + 1:]:
            hi, lo = (a, b) if BN_TABLE[a][2] > BN_TABLE[b][2] else (b, a)  # the table's better one first
            total += 1
            ci = mean_ci(np.subtract(acc[hi], acc[lo]))
            if ci["mean"] <= 0:
                gap = BN_TABLE[hi][2] - BN_TABLE[lo][2]
                within = " (the table's gap is within its own +-)" if gap < BN_TABLE[hi][3] + BN_TABLE[lo][3] else ""
                strong = ", CI below 0" if ci["hi"] < 0 else ""
                bad.append(f"{BN_LABEL[hi]} > {BN_LABEL[lo]} in the table ({BN_TABLE[hi][2]} vs {BN_TABLE[lo][2]})"
                           f"{within}, ours {BN_LABEL[hi]} - {BN_LABEL[lo]} = {_ci_text(ci)}{strong}")
    head = f"{total - len(bad)} of {total} pairs ordered as in the table"
    return head + ("; disagreements: " + "; ".join(bad) if bad else "")


# --------------------------------------------------------------------------------------------- figures
def _figures(config: dict, results: dict, metrics, directory: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = config["seeds"]
    arms = _arms(config)
    files = []
    datasets = list(config["ablations"])
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 3.8), squeeze=False)
    for ax, data in zip(axes[0], datasets):
        for arm in (a for a in arms if a["data"] == data and not a["ablation"].startswith("bn-")):
            rows = [[r for r in metrics(arm["name"], s) if r["phase"] == "train"] for s in range(n)]
            steps = [r["step"] for r in rows[0]]
            curve = np.mean([[r["collapse_z"] for r in rs] for rs in rows], 0)
            ax.plot(steps, curve, label=arm["name"].replace(f"-{data}", ""),
                    ls="-" if arm["method"] == "byol" else "--")
        ax.axhline(COLLAPSED, color="k", lw=0.6, ls=":")
        ax.set(title=f"{data}: collapse metric of z (mean of {n} seeds)", xlabel="step", ylabel="std(z/|z|) sqrt(d)")
        ax.legend(fontsize=7)
    files.append(save_figure(fig, directory, "collapse.png"))

    summary = _summarize(config, results)
    if summary["bn_table"]:
        fig, ax = plt.subplots(figsize=(5.5, 4.2))
        for row in summary["bn_table"]:
            ci = row["probe_acc"]
            ax.errorbar(row["table_mean"], ci["mean"], yerr=[[ci["mean"] - ci["lo"]], [ci["hi"] - ci["mean"]]],
                        xerr=row["table_pm"], fmt="o", capsize=3)
            ax.annotate(row["label"], (row["table_mean"], ci["mean"]), textcoords="offset points", xytext=(5, 4))
        ax.set(xlabel="seed 000 table: BYOL top-1 on STL-10 (%)",
               ylabel=f"ours: linear-probe accuracy on {config['bn_dataset']} (95% CI)",
               title="BN components in projector and predictor")
        files.append(save_figure(fig, directory, "bn_table.png"))

    fig, axes = plt.subplots(1, 2, figsize=(12, 0.28 * len(arms) + 1.5))
    labels = [a["name"] for a in arms]
    y = np.arange(len(labels))
    panels = ((axes[0], "probe_acc", "linear-probe test accuracy"), (axes[1], "op_trace", "tr OP_l (encoder)"))
    for ax, key, title in panels:
        table = summary["arms"]
        if key == "probe_acc":
            m = np.array([table[a]["probe_acc"]["mean"] for a in labels])
            err = np.array([[m[i] - table[a]["probe_acc"]["lo"], table[a]["probe_acc"]["hi"] - m[i]]
                            for i, a in enumerate(labels)]).T  # (2, arms)
            ax.barh(y, m, xerr=err, color="C0")
            ax.set_xlim(max(0.0, float(np.nanmin(m)) - 0.1), 1.0)
        else:
            layers = len(table[labels[0]]["op_trace"])
            for l in range(layers):
                means = [(table[a]["op_trace"][l] or {"mean": math.nan})["mean"] for a in labels]
                ax.barh(y + (l - (layers - 1) / 2) * 0.8 / layers, means, height=0.8 / layers, label=f"layer {l + 1}")
            ax.set_xscale("log")
            ax.legend(fontsize=7)
        ax.set_yticks(y, labels if key == "probe_acc" else [""] * len(labels), fontsize=7)
        ax.set_title(f"{title} (mean of {n} seeds)")
    files.append(save_figure(fig, directory, "arms.png"))
    return files


# --------------------------------------------------------------------------------------------- presets
_COMMON = {
    "ablations": {"hltm": ["base", "nopred", "nosg"], "digits": ["base", "nopred", "nosg", "reinit"]},
    "bn_dataset": "digits", "bn_variants": list(BN_TABLE),
    "hltm": {"n": 1500, "depth": 3, "keep": 1, "leaves": 4, "flip": 0.1, "noise": 1.0},
    "digits": {"shift": 1, "noise": 0.1, "mask": 0.1},
    "split": [0.6, 0.2, 0.2],
    "width": 64, "rep": 32, "hidden": 64, "out": 32,
    "batch": 128, "lr": 0.05, "momentum": 0.9, "weight_decay": 1e-4, "tau": 0.98, "reinit_every_epochs": 5,
    "probe_Cs": [0.01, 0.1, 1.0, 10.0], "probe_init": True, "eval_batch": 256, "op_items": 16, "op_views": 8,
}
PRESETS = {
    "quick": {**_COMMON, "seeds": 4, "steps": {"hltm": 400, "digits": 800}, "log_every": 10, "checkpoint_every": 400},
    "full": {**_COMMON, "seeds": 5, "steps": {"hltm": 20000, "digits": 10000}, "log_every": 100,
             "width": 512, "rep": 256, "hidden": 512, "out": 128, "batch": 256, "tau": 0.996, "reinit_every_epochs": 125,
             "hltm": {"n": 20000, "depth": 5, "keep": 2, "leaves": 4, "flip": 0.1, "noise": 1.0},
             "eval_batch": 512, "op_items": 64, "op_views": 16, "checkpoint_every": 1000},
}

EXPERIMENTS = [Experiment(
    name="ssl-ablations",
    title="BYOL and SimSiam ablations: predictor, stop-gradient, EMA, predictor re-init, BN components",
    source="seed 000_111be25265ff9c8a (Tian et al. 2020, BN table, Table 5, HLTM, covariance operator); "
           "seed 001_6773eab5ac926cae (Chen & He 2021, SimSiam)",
    presets=PRESETS, arms=_arms, train=_train, summarize=_summarize, figures=_figures,
    description=__doc__.split("\n\n")[0],
)]
