"""Searchlight scoring: :func:`score_spheres` is the one place spheres are scored; chunk
jobs, tests and benchmarks all go through it. It runs one of two engines:

- ``exact`` (:mod:`snakelight.searchlight.engines.exact`): nilearn's ``SearchLight``
  scores, bit for bit, with the estimator nilearn builds from its name;
- ``fast`` (:mod:`snakelight.searchlight.engines.fast`): batched estimators over many
  spheres at once.
"""

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.naive_bayes import GaussianNB

from snakelight._compat import validate_estimator
from snakelight.io import InputError
from snakelight.searchlight.engines import fast, fast_unsupported, resolve_engine
from snakelight.searchlight.engines.exact import score_spheres_exact

# Closed-form estimators and their scikit-learn counterparts (used by the exact engine).
OTHER_ESTIMATORS = {
    "gnb": lambda: GaussianNB(),
    "lda": lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
}


def make_estimator(name):
    """The scikit-learn estimator for ``name``: nilearn's for its names, else the
    counterpart of a fast estimator."""
    if name in OTHER_ESTIMATORS:
        return OTHER_ESTIMATORS[name]()
    return validate_estimator(name, owning_class_type="classifier")


def score_spheres(X, y, spheres, estimator, folds, *, engine="auto", scoring=None, progress=None, n_threads=1):
    """Cross-validated scores of each sphere: an array (n_spheres, n_folds).

    ``X`` is (samples, mask voxels), ``spheres`` a list of sorted column indices into
    ``X``, ``folds`` (train, test) index pairs. ``progress(done, total)`` is called as
    spheres complete.
    """
    engine = resolve_engine(engine, estimator)
    if len(spheres) == 0:
        return np.empty((0, len(folds)))
    if engine == "exact":
        return score_spheres_exact(X, y, spheres, make_estimator(estimator), folds, scoring=scoring, progress=progress)
    problem = fast_unsupported(estimator, scoring, len(np.unique(y)))
    if problem is not None:
        raise ValueError(problem[1])
    return fast.score_spheres_fast(X, y, spheres, estimator, folds, progress=progress, n_threads=n_threads)


def check_finite_scores(fold_scores, *, estimator, scoring, where):
    """Refuse scores (n_spheres, n_folds) holding NaN or infinities: cross_val_score turns
    a failing fit or scorer into NaN, so such a chunk is an error, never a merged map."""
    bad = ~np.isfinite(fold_scores).all(axis=1)
    if bad.any():
        raise InputError(
            f"config key searchlight.scoring: {where}: {int(bad.sum())} of {bad.size} spheres scored NaN or "
            f"infinity with estimator {estimator!r} and scoring {scoring!r} (scikit-learn's reason is in "
            "this step's log); choose a scorer that fits the estimator and the contrast"
        )
