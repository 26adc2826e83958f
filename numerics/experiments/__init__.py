"""The built-in training experiments (issue 7), one module each; loaded on first use.

Each module defines ``EXPERIMENTS``, a list of :class:`numerics._experiment.Experiment`.
"""

from __future__ import annotations

import importlib

from .._experiment import Experiment

__all__ = ["experiment_names", "load_experiment"]

# name -> module (relative to this package); the modules are imported only when an experiment is used.
_MODULES = {
    "student-specialization": "._specialization",
    "ssl-ablations": "._ssl_ablations",
    "born-again": "._born_again",
    "overlay-theorem4": "._overlays",
    "overlay-population-flow": "._overlays",
    "overlay-committee-ode": "._committee_ode",
}


def experiment_names() -> list[str]:
    return list(_MODULES)


def load_experiment(name: str) -> Experiment:
    """The experiment called ``name`` (KeyError if there is none)."""
    module = importlib.import_module(_MODULES[name], __name__)
    for experiment in module.EXPERIMENTS:
        if experiment.name == name:
            return experiment
    raise KeyError(name)
