"""The experiments' smoke presets: the smallest run of each that goes through every phase, for the tests only.

Each is the experiment's ``quick`` preset with these settings changed (same keys, same order), so ``config.json``
holds a complete configuration. ``install()`` registers them as the preset ``"smoke"`` of every experiment in this
process (tests/conftest.py calls it; a test's subprocess calls it itself); production code has no smoke preset.
Tasks sent to Dask workers carry their resolved configuration, so the workers need nothing installed.
"""

from __future__ import annotations

SMOKE = {
    "student-specialization": {"seeds": 2, "d": 8, "m": 4, "multiple": 3, "c": 6, "n_train": 256, "n_eval": 256,
                               "batch": 32, "steps": 200, "eval_every": 40},
    "ssl-ablations": {"ablations": {"hltm": ["base", "nosg"]}, "bn_dataset": None,
                      "hltm": {"n": 300, "depth": 2, "keep": 1, "leaves": 2, "flip": 0.1, "noise": 1.0},
                      "width": 16, "rep": 8, "hidden": 16, "out": 8, "batch": 32, "probe_Cs": [1.0],
                      "probe_init": False, "eval_batch": 32, "op_items": 4, "op_views": 2, "seeds": 2,
                      "steps": {"hltm": 12}, "log_every": 4, "checkpoint_every": None},
    "born-again": {"seeds": 2, "generations": 1, "epochs": 2, "width": 16, "synthetic_train": 200,
                   "synthetic_val": 100, "synthetic_test": 200},
    "overlay-theorem4": {"steps": {"gd": [10, 20], "sgd": [10, 20]}, "grid": 10, "horizon": 3.0, "seeds": 2},
    "overlay-population-flow": {"d": 4, "Ns": [32, 128], "batch": 16, "eta": 0.02, "T": 2.0, "grid": 10, "seeds": 2},
    "overlay-committee-ode": {"K": 1, "M": 1, "replicas": 2, "Ns": [64, 128], "alpha_max": 0.5, "seeds": 2},
}


def install() -> None:
    """Add the ``"smoke"`` preset to every experiment (idempotent); an experiment without one here is an error."""
    from verify._experiments import experiment_names, get_experiment

    for name in experiment_names():
        presets = get_experiment(name).presets
        if name not in SMOKE:
            raise KeyError(f"experiment {name!r} has no smoke preset in tests/_smoke.py: add one")
        quick = presets["quick"]
        unknown = set(SMOKE[name]) - set(quick)
        if unknown:
            raise KeyError(f"tests/_smoke.py: {name!r} settings {sorted(unknown)} are not in its quick preset")
        presets["smoke"] = {**quick, **SMOKE[name]}
