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
from sklearn.svm import LinearSVC

from snakelight._compat import validate_estimator
from snakelight.searchlight.engines import fast, fast_unsupported, resolve_engine
from snakelight.searchlight.engines.exact import score_spheres_exact

# Closed-form estimators and their scikit-learn counterparts (used by the exact engine).
OTHER_ESTIMATORS = {
    "gnb": lambda: GaussianNB(),
    "lda": lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
}


# The penalty of nilearn's LinearSVC estimators, which make_estimator builds as nilearn's
# validate_estimator does (tests/test_engines.py compares them), so that a chunk job
# running them does not import nilearn.
LINEAR_SVC_PENALTIES = {"svc": "l2", "svc_l2": "l2", "svc_l1": "l1"}


def make_estimator(name):
    """The scikit-learn estimator for ``name``: nilearn's for its names, else the
    counterpart of a fast estimator."""
    if name in OTHER_ESTIMATORS:
        return OTHER_ESTIMATORS[name]()
    if name in LINEAR_SVC_PENALTIES:
        return LinearSVC(penalty=LINEAR_SVC_PENALTIES[name], max_iter=10_000, random_state=0, verbose=False)
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
    problem = fast_unsupported(estimator, scoring)
    if problem is not None:
        raise ValueError(problem[1])
    return fast.score_spheres_fast(X, y, spheres, estimator, folds, progress=progress, n_threads=n_threads)
