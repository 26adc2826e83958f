"""born-again experiment: smoke run, kill + resume reproducibility, the gradient split, the CWTM losses (the teacher's
argmax and the ground-truth ablation), verdict kinds and the disagreements with seed 004."""

from __future__ import annotations

import json
import math
import os

import pytest
import torch
import torch.nn.functional as F

from numerics._distillation import cwtm_loss, teacher_argmax
from numerics._experiment import mean_ci
from numerics.experiments import _born_again as ba
from numerics.experiments._born_again import PRESETS, cwtm_label_loss, gradient_split, make_data, mlp
from tests._draw_audit import run_audited
from tests._roundoff import FUNCTION_OPS, gamma
from verify._experiments import run_experiment
from tests._kill import SimulatedKill, killed_after

# the expensive fixture runs once: pytest-xdist keeps this module on one worker (--dist loadgroup), and it is
# session-scoped since a module-scoped one is rebuilt whenever the worker runs another module's tests in between
pytestmark = pytest.mark.xdist_group("test_experiment_born_again")

NAME = "born-again"
_SOFTMAX = 10 + FUNCTION_OPS + 3  # softmax / log-softmax of <= 10 logits: max, -, exp, sum, /


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("born-again-smoke"))
    summary = run_audited(NAME, preset="smoke", scheduler="serial", progress=False, out=out)
    return out, summary


def _task(out: str, arm: str, seed: int) -> tuple[bytes, dict]:
    directory = os.path.join(out, "tasks", arm, f"seed-{seed}")
    with open(os.path.join(directory, "metrics.jsonl"), "rb") as fh:
        metrics = fh.read()
    with open(os.path.join(directory, "result.json"), encoding="utf-8") as fh:
        return metrics, json.load(fh)["result"]


def test_smoke_files_and_summary(smoke):
    out, summary = smoke
    config = PRESETS["smoke"]
    for name in ("config.json", "summary.json", "summary.md"):
        assert os.path.exists(os.path.join(out, name))
    for figure in summary["figures"]:
        assert os.path.getsize(os.path.join(out, figure)) > 0
    assert len(summary["figures"]) == 2
    assert summary["tasks"] == len(config["datasets"]) * len(config["methods"]) * config["seeds"]
    assert set(config["methods"]) == {"kd", "cwtm", "cwtm-gt", "dkpp"}
    names = {v["name"]: v for v in summary["verdicts"]}
    kinds = {"scalar-split-cancels": "sanity"}
    for d in config["datasets"]:
        kinds[f"{d}-teacher-trained"] = "sanity"
        for m in config["methods"]:
            kinds[f"{d}-{m}-born-again"] = "reported"
        for name in ("cwtm-vs-kd", "dkpp-vs-kd", "cwtm-gt-vs-cwtm", "kd-dark-share"):
            kinds[f"{d}-{name}"] = "reported"
    assert {name: v["kind"] for name, v in names.items()} == kinds  # no finding: nothing enters a Holm family
    for name, v in names.items():
        assert v["asserted"] == (v["kind"] == "sanity")
        if v["kind"] == "reported":
            assert "uncorrected" in v["detail"].lower()
    assert names["scalar-split-cancels"]["status"] == "holds"  # an identity: true for any training length
    born_again = [name for name in names if name.endswith("-born-again") and "cwtm-gt" not in name]
    unresolved = [name for name in born_again if names[name]["status"] != "holds"]
    assert len(summary["disagreements"]) == len(unresolved)  # 2 epochs a generation: most are unresolved
    tables = summary["tables"]
    assert set(tables) == {"test_accuracy", "minus_teacher", "dark_share", "teacher_spread", "teacher_train_error"}
    assert len(tables["test_accuracy"]["digits"]["kd"]) == config["generations"] + 1
    _, result = _task(out, "digits-kd", 0)
    assert len(result["generations"]) == config["generations"] + 1
    lines = [json.loads(line) for line in _task(out, "synthetic-dkpp", 1)[0].splitlines()]
    assert {line["phase"] for line in lines} == {f"gen{g}" for g in range(config["generations"] + 1)}
    assert {"loss", "train_acc", "val_acc", "test_acc", "grad_true", "grad_dark", "dark_share", "dark_ratio",
            "scalar_true", "scalar_residual"} <= set(lines[0])


def test_teacher_is_shared_across_methods(smoke):
    out, summary = smoke
    assert summary["tables"]["teacher_spread"] == {"digits": 0.0, "synthetic": 0.0}
    gen0 = {m: [line for line in _task(out, f"digits-{m}", 1)[0].splitlines() if b'"gen0"' in line]
            for m in ("kd", "cwtm", "cwtm-gt", "dkpp")}
    assert gen0["kd"] == gen0["cwtm"] == gen0["cwtm-gt"] == gen0["dkpp"]
    assert len(gen0["kd"]) == PRESETS["smoke"]["epochs"]


def test_kill_and_resume_reproduce_the_uninterrupted_run(tmp_path):
    # 2 generations x 20 epochs = 40 steps per task, a checkpoint every 4; each process does 7 steps and dies between
    # checkpoints, so the task resumes at steps 4, 8, ..., 20 (the first step of generation 1), ...
    overrides = {"datasets": ["synthetic"], "methods": ["dkpp"], "epochs": 20}
    kwargs = {"preset": "smoke", "scheduler": "serial", "progress": False, "overrides": overrides}
    straight = str(tmp_path / "straight")
    run_experiment(NAME, out=straight, **kwargs)
    killed, kills = str(tmp_path / "killed"), 0
    for attempt in range(100):
        try:
            with killed_after(7):
                run_experiment(NAME, out=killed, resume=attempt > 0, **kwargs)
            break
        except SimulatedKill:
            kills += 1
    assert kills >= 2 * 9  # seed 0 alone is killed after 7, 11, ..., 39 of its steps
    for seed in range(PRESETS["smoke"]["seeds"]):
        assert _task(killed, "synthetic-dkpp", seed) == _task(straight, "synthetic-dkpp", seed)


@pytest.mark.roundoff
def test_gradient_split_of_a_known_matrix():
    G = torch.tensor([[0.3, -0.5, 0.2], [0.1, 0.1, -0.2]])  # rows sum to 0 (in decimal; float32 entries, u32)
    y = torch.tensor([1, 2])
    true_sq, dark_sq, true, total = gradient_split(G, y).tolist()
    f32 = torch.float32
    a = float(G.double().abs().sum())  # sum |G| = 1.4
    # float32: each entry rounded from its decimal (u), squared (2u), summed; the expected sums in float64 (gamma_4)
    assert true_sq == pytest.approx(0.25 + 0.04, rel=gamma(4, f32) + gamma(4), abs=0)
    # total_sq (6 squares) - true_sq: cancellation, so on the magnitude total_sq + true_sq = 0.73
    assert dark_sq == pytest.approx(0.09 + 0.04 + 0.01 + 0.01, rel=0, abs=gamma(2 + 6 + 1, f32) * 0.73 + gamma(5) * 0.15)
    assert true == pytest.approx(-0.7, rel=gamma(2, f32) + gamma(1), abs=0)  # 2 rounded entries, 1 addition
    assert total == pytest.approx(0.0, abs=gamma(1 + 5, f32) * a)  # 0 in decimal: the entries' rounding, 5 additions
    assert gradient_split(torch.tensor([[1.0, 2.0]]), torch.tensor([0]))[3] == 3.0  # integers: exact


@pytest.mark.roundoff
def test_hard_label_gradient_has_dark_share_at_most_one_half():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(32, 10, generator=g, requires_grad=True)
    y = torch.randint(0, 10, (32,), generator=g)
    (G,) = torch.autograd.grad(F.cross_entropy(z, y), z)  # (q - onehot(y)) / b
    true_sq, dark_sq, true, total = gradient_split(G, y).tolist()
    # sum G = 0 exactly (each softmax row sums to 1): float32 softmax within gamma_s q (s = softmax operations), the
    # subtraction and / b; sum over (q + onehot) / b = 2; then the sum of b n entries, gamma_{bn} sum |G|
    f32, (b, n) = torch.float32, G.shape
    bound = gamma(_SOFTMAX + 2, f32) * 2 + gamma(b * n, f32) * float(G.abs().sum())
    assert dark_sq <= true_sq and abs(total) <= bound < abs(true)  # the seed's scalar split: true = -dark
    z = torch.zeros(1, 3, requires_grad=True)  # q = 1/3 each
    p = torch.tensor([[1 / 3, 0.6, 1 / 15]])  # a soft target pulling class 1 up and class 2 down
    (G,) = torch.autograd.grad(F.cross_entropy(z, p), z)  # q - p = [0, -4/15, 4/15]: dark share 1 > 1/2
    true_sq, dark_sq, _, _ = gradient_split(G, torch.tensor([0])).tolist()
    # each entry q_i - p_i within gamma_{s+1} (q_i + p_i) (float32 softmax, p rounded to float32); the squares'
    # errors 2 |G| dG, and the sums (total_sq of 3, minus true_sq) gamma_5 on their magnitude
    q = torch.softmax(z.detach(), -1)
    dG = gamma(_SOFTMAX + 2, f32) * (q + p)  # (1, 3)
    assert true_sq == pytest.approx(0.0, rel=0, abs=float(dG[0, 0]) ** 2)
    expected = 2 * (4 / 15) ** 2
    bound = float(2 * (G.abs() * dG)[0, 1:].sum() + dG[0, 1:].pow(2).sum()) + gamma(5, f32) * float(G.pow(2).sum()) + gamma(4) * expected
    assert dark_sq == pytest.approx(expected, rel=0, abs=bound)


@pytest.mark.roundoff
def test_a_saturated_softmax_gives_nan_not_an_error():
    assert ba._ratio(1.0, 4.0) == 0.25 and ba._ratio(1.0, 0.0) == math.inf and math.isnan(ba._ratio(0.0, 0.0))
    # (0.2 + 0.4) / 2 from rounded decimals: 2 operations + 2 inputs; the literal 0.3: 1
    assert ba._nanmean([{"s": 0.2}, {"s": "nan"}, {"s": 0.4}], "s") == pytest.approx(0.3, rel=gamma(4) + gamma(1), abs=0)  # as jsonable stores nan
    assert math.isnan(ba._nanmean([{"s": "nan"}], "s"))


@pytest.mark.roundoff
def test_cwtm_label_loss_is_b_times_the_argmax_form_where_the_teacher_is_right():
    g = torch.Generator().manual_seed(1)
    Z = torch.randn(8, 5, generator=g)
    Tt = torch.randn(8, 5, generator=g)
    y = Tt.argmax(-1)
    # both are sum_s w_s CE_s (8 positive terms; CE_s = log-softmax: softmax operations + a log; w_s, * and the sum;
    # the mean's / 8 and * 8), so each is within gamma_k of their common value: relative 2 gamma_k, float32
    label, argmax = cwtm_label_loss(Z, Tt, y), 8 * cwtm_loss(Z, Tt)
    rel = 2 * gamma(_SOFTMAX + FUNCTION_OPS + 8 + 4, torch.float32)
    assert abs(float(label - argmax)) <= rel * float(argmax)
    assert abs(float(cwtm_label_loss(Z, Tt, (y + 1) % 5) - argmax)) > rel * float(argmax)  # wrong labels: not round-off


@pytest.mark.roundoff
def test_cwtm_trains_on_the_teacher_argmax_and_cwtm_gt_on_the_labels():
    g = torch.Generator().manual_seed(2)
    b, n = 16, 5
    Tt = torch.randn(b, n, generator=g)
    y = teacher_argmax(Tt).clone()
    wrong = torch.arange(b) % 4 == 0  # the teacher's argmax is not the label on rows 0, 4, 8, 12
    y[wrong] = (y[wrong] + 1) % n
    Z = torch.randn(b, n, generator=g)
    idx = torch.arange(b)
    losses = {m: ba._loss_fn(m, 1, Tt, y, 1.0) for m in ("cwtm", "cwtm-gt")}
    # the seed's reading is numerics._distillation.cwtm_loss times b (the bound of the test above)
    argmax = b * cwtm_loss(Z, Tt)
    rel = 2 * gamma(_SOFTMAX + FUNCTION_OPS + b + 4, torch.float32)
    assert abs(float(losses["cwtm"](Z, idx) - argmax)) <= rel * float(argmax)
    assert abs(float(losses["cwtm-gt"](Z, idx) - argmax)) > rel * float(argmax)
    grads = {}
    for m, loss in losses.items():
        z = Z.clone().requires_grad_(True)
        (grads[m],) = torch.autograd.grad(loss(z, idx), z)  # (b, n): w_s (q_s - onehot(target_s))
    # rows where the teacher is right: the same loss term, computed the same way
    assert torch.equal(grads["cwtm"][~wrong], grads["cwtm-gt"][~wrong])
    # rows where it is wrong: cwtm pushes the label's logit down and the argmax's up, cwtm-gt the reverse
    label_col = grads["cwtm"].gather(1, y[:, None])[:, 0]  # (b,)
    assert bool((label_col[wrong] > 0).all()) and bool((grads["cwtm-gt"].gather(1, y[:, None])[wrong] < 0).all())
    a = teacher_argmax(Tt)[wrong][:, None]  # (4, 1)
    assert bool((grads["cwtm"][wrong].gather(1, a) < 0).all())
    assert bool((grads["cwtm-gt"][wrong].gather(1, a) > 0).all())


def test_cwtm_dark_share_can_pass_one_half_where_the_teacher_disagrees_with_the_label():
    # split at the label (column 0) with the teacher's argmax at column 1: G = w (q - e_1) = [1/3, -2/3, 1/3] at
    # z = 0 (w = 1, one row), so ||G_true||^2 = 1/9 and ||G_dark||^2 = 5/9: a share of 5/6, far above the bound 1/2
    # that holds where the target is the label (cwtm-gt: [-2/3, 1/3, 1/3], share 1/3)
    Tt, y, z = torch.tensor([[0.0, 2.0, 0.0]]), torch.tensor([0]), torch.zeros(1, 3, requires_grad=True)
    shares = {}
    for m in ("cwtm", "cwtm-gt"):
        (G,) = torch.autograd.grad(ba._loss_fn(m, 1, Tt, y, 1.0)(z, torch.tensor([0])), z)
        true_sq, dark_sq, _, _ = gradient_split(G, y).tolist()
        shares[m] = dark_sq / (true_sq + dark_sq)
    assert shares["cwtm"] > 0.8 and shares["cwtm-gt"] < 0.4


def _fake_results(config: dict, student_minus_teacher: dict) -> dict:
    """Task results as ``train`` returns them, one generation of students: the teacher's test accuracy 0.8 + 0.01 s
    on seed s, each method's student that plus ``student_minus_teacher[m][s]``."""
    out = {}
    for d in config["datasets"]:
        for m in config["methods"]:
            for s in range(config["seeds"]):
                teacher = 0.8 + 0.01 * s
                gens = [{"test_acc": acc, "val_acc": acc, "train_acc": 0.9, "loss": 0.3, "dark_share": 0.4,
                         "dark_ratio": 0.8, "scalar_residual": 1e-7, "scalar_true_first": -0.8}
                        for acc in (teacher, teacher + student_minus_teacher[m][s])]
                out[(f"{d}-{m}", s)] = {"bayes_acc": 0.9, "chance": 0.1, "generations": gens}
    return out


def test_disagreements_are_built_from_the_estimates():
    config = dict(PRESETS["quick"], seeds=4, datasets=["synthetic"], generations=1)
    diffs = {"kd": [0.010, 0.012, 0.008, 0.011],  # above 0: agrees with the seed's report, no entry
             "cwtm": [0.004, -0.006, 0.002, -0.001],  # straddles 0: not resolved
             "cwtm-gt": [-0.02, -0.03, -0.025, -0.02],  # the ablation: not a setup of the paper, no entry
             "dkpp": [-0.02, -0.015, -0.03, -0.01]}  # below 0
    summary = ba.summarize(config, _fake_results(config, diffs))
    kinds = {v.name: v.kind for v in summary["verdicts"]}
    assert kinds["synthetic-teacher-trained"] == kinds["scalar-split-cancels"] == "sanity"
    assert {k for name, k in kinds.items() if k != "sanity"} == {"reported"}
    entries = {d.topic.split(" student")[0]: d for d in summary["disagreements"]}
    assert set(entries) == {"synthetic: the cwtm", "synthetic: the dkpp"}
    for m, verdict, status in (("cwtm", "not resolved from 0", "not reproduced"), ("dkpp", "below 0", "contradicts")):
        e = mean_ci(diffs[m])
        ours = entries[f"synthetic: the {m}"].ours
        assert entries[f"synthetic: the {m}"].status == status
        assert f"{100 * e['mean']:+.2f} [{100 * e['lo']:+.2f}, {100 * e['hi']:+.2f}] points" in ours and verdict in ours
        assert "one random seed" in entries[f"synthetic: the {m}"].paper
    shifted = ba.summarize(config, _fake_results(config, dict(diffs, cwtm=[x + 0.05 for x in diffs["cwtm"]])))
    assert [d.topic for d in shifted["disagreements"]] == ["synthetic: the dkpp student beats its teacher (BAN's DKPP)"]


def _raw_train(config: dict, dataset: str) -> torch.Tensor:
    """The raw float32 training inputs make_data(config, dataset, Generator().manual_seed(3)) standardises: the
    same draws in the same order (the caller checks that standardising them reproduces make_data's exactly)."""
    g = torch.Generator().manual_seed(3)
    if dataset == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        perm = torch.randperm(len(y), generator=g)
        return torch.as_tensor(X, dtype=torch.float32)[perm[config["digits_test"] + config["digits_val"]:]]
    d, h, classes = config["synthetic_d"], config["synthetic_hidden"], config["synthetic_classes"]
    torch.randn(h, d, generator=g), torch.randn(classes, h, generator=g)  # W1, W2
    X = torch.randn(sum(config[f"synthetic_{k}"] for k in ("train", "val", "test")), d, generator=g)
    return X[:config["synthetic_train"]]


@pytest.mark.roundoff
@pytest.mark.parametrize("dataset", ["digits", "synthetic"])
def test_data_is_a_deterministic_disjoint_split(dataset):
    config = PRESETS["smoke"]
    a = make_data(config, dataset, torch.Generator().manual_seed(3))
    b = make_data(config, dataset, torch.Generator().manual_seed(3))
    c = make_data(config, dataset, torch.Generator().manual_seed(4))
    for part in ("train", "val", "test"):
        assert torch.equal(a[part][0], b[part][0]) and torch.equal(a[part][1], b[part][1])
    assert not torch.equal(a["test"][1], c["test"][1])
    rows = torch.cat([a[p][0] for p in ("train", "val", "test")])
    assert len(torch.unique(rows, dim=0)) == len(rows) or dataset == "digits"  # digits has duplicate images
    assert 1 / a["classes"] < a["bayes_acc"] <= 1.0
    # standardised with training statistics: each training column has mean 0 but for float32 round-off. The raw
    # columns (rebuilt as make_data draws them, checked bit for bit) give the bound: column j's mean is
    # -(mu_hat_j - mu_j) / s_j, |mu_hat_j - mu_j| <= gamma_N mean|x_j|; each entry rounds twice (-, /); the test
    # averages in float64 (gamma_{N d}, float64)
    X = _raw_train(config, dataset)
    std = X.std(0) + 1e-6
    assert torch.equal((X - X.mean(0)) / std, a["train"][0])
    N, d = X.shape
    xs = a["train"][0].double()
    bound = (float((gamma(N, torch.float32) * X.double().abs().mean(0) / std.double()).mean())
             + (gamma(2, torch.float32) + gamma(N * d)) * float(xs.abs().mean()))
    assert abs(float(xs.mean())) <= bound


def test_mlp_init_uses_only_its_generator():
    before = torch.random.get_rng_state()
    a = mlp(4, 8, 2, 3, torch.Generator().manual_seed(5))
    b = mlp(4, 8, 2, 3, torch.Generator().manual_seed(5))
    assert torch.equal(torch.random.get_rng_state(), before)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert a(torch.zeros(2, 4)).shape == (2, 3)


@pytest.mark.slow
def test_quick_preset(tmp_path):
    summary = run_experiment(NAME, preset="quick", scheduler="serial", progress=False, out=str(tmp_path))
    assert summary["seeds"] >= 5
    for verdict in summary["verdicts"]:
        if verdict["asserted"]:
            assert verdict["status"] == "holds", verdict
    assert all(spread == 0.0 for spread in summary["tables"]["teacher_spread"].values())
    for figure in summary["figures"]:
        assert os.path.getsize(os.path.join(str(tmp_path), figure)) > 0
