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

from snakelight._compat import SUPPORTED_ESTIMATORS, validate_estimator
from snakelight.searchlight.engines import fast, fast_unsupported, resolve_engine
from snakelight.searchlight.engines.exact import score_spheres_exact

# Closed-form estimators and their scikit-learn counterparts (used by the exact engine).
OTHER_ESTIMATORS = {
    "gnb": lambda: GaussianNB(),
    "lda": lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
}


def make_estimator(estimator, owning_class_type=None, estimator_args=None, verbose=0):
    """The scikit-learn estimator for ``estimator``: the counterpart of a fast estimator's
    name, else what nilearn's SearchLight makes of it (nilearn's classifier and regressor
    names, with ``estimator_args``; an estimator object, checked against
    ``owning_class_type`` and returned as it is)."""
    if isinstance(estimator, str) and estimator in OTHER_ESTIMATORS:
        return OTHER_ESTIMATORS[estimator]()
    # nilearn 0.14.1 merges estimator_args (and verbose) into its module-level defaults
    # in place, so that every later estimator of that name in the process would keep
    # them: its defaults are put back once the estimator is made.
    defaults = [config["extra_params"] for kind in SUPPORTED_ESTIMATORS.values() for config in kind.values()]
    saved = [dict(params) for params in defaults]
    try:
        return validate_estimator(
            estimator, owning_class_type=owning_class_type, estimator_args=estimator_args, verbose=verbose
        )
    finally:
        for params, original in zip(defaults, saved):
            params.clear()
            params.update(original)


def score_spheres(
    X, y, spheres, estimator, folds, *, engine="auto", scoring=None, progress=None, n_threads=1, groups=None
):
    """Cross-validated scores of each sphere: an array (n_spheres, n_folds).

    ``X`` is (samples, mask voxels), ``spheres`` a list of sorted column indices into
    ``X``, ``folds`` (train, test) index pairs. ``estimator`` is an estimator name, or
    for the exact engine a scikit-learn estimator object. ``progress(done, total)`` is
    called as spheres complete. ``folds=None`` is for an estimator that scores itself
    (nilearn's ``nilearn_searchlight_uses_cv = False``): it fits and scores each whole
    sphere, with ``groups``, and the array has one column.
    """
    engine = resolve_engine(engine, estimator)
    if len(spheres) == 0:
        return np.empty((0, 1 if folds is None else len(folds)))
    if engine == "exact":
        model = make_estimator(estimator) if isinstance(estimator, str) else estimator
        return score_spheres_exact(X, y, spheres, model, folds, scoring=scoring, progress=progress, groups=groups)
    problem = fast_unsupported(estimator, scoring)
    if problem is not None:
        raise ValueError(problem[1])
    return fast.score_spheres_fast(X, y, spheres, estimator, folds, progress=progress, n_threads=n_threads)
