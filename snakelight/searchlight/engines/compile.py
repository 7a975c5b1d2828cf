"""Compile the exact engine's solvers (:mod:`snakelight.searchlight.engines._tron` and
:mod:`snakelight.searchlight.engines._dual`) and the fast engine's svc and lda
(:mod:`snakelight.searchlight.engines._newton`, :mod:`snakelight.searchlight.engines._lda`)
into numba's on-disk cache, so that the first searchlight does not pay for it (several
seconds of CPU, once per chunk job that starts before the cache exists). ``make setup`` runs it:

    python -m snakelight.searchlight.engines.compile
"""

import numpy as np
from sklearn.model_selection import KFold

from snakelight.searchlight.scoring import score_spheres


def compile_solver():
    """Score three spheres of random data as a chunk job does (float32 samples, nilearn's
    'svc', KFold): numba compiles and caches every signature the workflow calls. The
    last sphere is wider than the 18 training samples: LinearSVC runs the dual there.
    Then the fast engine's svc and lda on the same spheres."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 24)).astype(np.float32)  # the masked samples' dtype
    y = np.repeat(["face", "house"], 12)
    folds = list(KFold(n_splits=4).split(X, y))
    spheres = [np.arange(3, dtype=np.intp), np.arange(2, 6, dtype=np.intp), np.arange(24, dtype=np.intp)]
    for estimator in ("svc", "lda"):
        score_spheres(X, y, spheres, estimator, folds, engine="fast")
    return score_spheres(X, y, spheres, "svc", folds, engine="exact")


if __name__ == "__main__":
    compile_solver()
