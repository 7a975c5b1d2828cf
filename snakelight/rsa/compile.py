"""Compile the RSA kernels (:mod:`snakelight.rsa.distances`' RDM loops and
:mod:`snakelight.rsa.models`' Kendall tau-a) into numba's on-disk cache, so that the
first RSA chunk job does not pay for it. ``make setup`` runs it:

    python -m snakelight.rsa.compile
"""

import numpy as np

from snakelight.rsa import distances, models, patterns


def compile_kernels():
    """Compute every RDM and the tau-a fit of two small spheres as a chunk job does
    (float64 patterns, spheres as intp indices): numba compiles and caches each signature."""
    rng = np.random.default_rng(0)
    labels = np.tile(np.repeat(["a", "b", "c"], 2), 2)
    runs = np.repeat([1, 2], 6)
    found = patterns.condition_patterns(rng.standard_normal((12, 5)).astype(np.float32), labels, runs)
    spheres = [np.arange(3), np.arange(1, 5)]
    rdms = [distances.rdms(found, spheres, method) for method in ("correlation", "euclidean")]
    rdms += [distances.rdms(found, spheres, "crossnobis", noise) for noise in ("shrinkage_diag", "shrinkage_eye")]
    return [models.fit(rdm, rdm[:1], "tau-a") for rdm in rdms]


if __name__ == "__main__":
    compile_kernels()
