"""Searchlight scoring: :func:`score_spheres` is the one place spheres are scored; chunk
jobs, tests and benchmarks all go through it. It runs one of two engines:

- ``exact`` (:mod:`snakelight.searchlight.engines.exact`): nilearn's ``SearchLight``
  scores, bit for bit, with the estimator nilearn builds from its name;
- ``fast`` (:mod:`snakelight.searchlight.engines.fast`): batched estimators over many
  spheres at once; its svc hands spheres of more than ``FAST_SVC_MAX_VOXELS`` voxels to
  the exact engine's solver, the faster there.

:func:`score_spheres_permuted` scores the same spheres under permuted labels: the null maps
of a permutation test.
"""

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.naive_bayes import GaussianNB
from sklearn.svm import LinearSVC

from snakelight import _compat
from snakelight.io import InputError
from snakelight.searchlight.engines import FAST_BINARY_ESTIMATORS, fast, fast_unsupported, resolve_engine
from snakelight.searchlight.engines.exact import predict_spheres_exact, score_outputs_exact, score_spheres_exact
from snakelight.searchlight.measures import reduce
from snakelight.searchlight.outputs import output_name, output_names, scorers

# Closed-form estimators and their scikit-learn counterparts (used by the exact engine).
OTHER_ESTIMATORS = {
    "gnb": lambda: GaussianNB(),
    "lda": lambda: LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"),
}


# The penalty of nilearn's LinearSVC estimators, which make_estimator builds as nilearn's
# validate_estimator does with no estimator_args (tests/test_engines.py compares them), so
# that a chunk job running them does not import nilearn.
LINEAR_SVC_PENALTIES = {"svc": "l2", "svc_l2": "l2", "svc_l1": "l1"}


def make_estimator(estimator, owning_class_type=None, estimator_args=None, verbose=0):
    """The scikit-learn estimator for ``estimator``: the counterpart of a fast estimator's
    name, else what nilearn's SearchLight makes of it (nilearn's classifier and regressor
    names, with ``estimator_args``; an estimator object, checked against
    ``owning_class_type`` and returned as it is)."""
    if isinstance(estimator, str) and estimator in OTHER_ESTIMATORS:
        return OTHER_ESTIMATORS[estimator]()
    plain_linear_svc = (
        isinstance(estimator, str)
        and estimator in LINEAR_SVC_PENALTIES
        and owning_class_type != "regressor"
        and estimator_args is None
        and verbose <= 1
    )
    if plain_linear_svc:
        return LinearSVC(penalty=LINEAR_SVC_PENALTIES[estimator], max_iter=10_000, random_state=0, verbose=False)
    # nilearn 0.14.1 merges estimator_args (and verbose) into its module-level defaults
    # in place, so that every later estimator of that name in the process would keep
    # them: its defaults are put back once the estimator is made.
    defaults = [config["extra_params"] for kind in _compat.SUPPORTED_ESTIMATORS.values() for config in kind.values()]
    saved = [dict(params) for params in defaults]
    try:
        return _compat.validate_estimator(
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
    for the exact engine a scikit-learn estimator object; ``scoring`` one scorer.
    ``progress(done, total)`` is called as spheres complete. ``folds=None`` is for an
    estimator that scores itself (nilearn's ``nilearn_searchlight_uses_cv = False``): it
    fits and scores each whole sphere, with ``groups``, and the array has one column.
    """
    outputs = score_outputs(
        X,
        y,
        spheres,
        estimator,
        folds,
        engine=engine,
        scoring=scoring,
        progress=progress,
        n_threads=n_threads,
        groups=groups,
    )
    return outputs[output_name(scoring)]


def score_outputs(
    X,
    y,
    spheres,
    estimator,
    folds,
    *,
    engine="auto",
    scoring=None,
    confusion=False,
    progress=None,
    n_threads=1,
    groups=None,
):
    """{output name: scores (n_spheres, n_folds)} of each scorer of ``scoring`` (a scorer
    name, None or a list of them: :func:`snakelight.searchlight.outputs.scorers`), from one
    pass over the spheres: one fit per sphere and fold serves every scorer. With
    ``confusion``, also ``confusion``: each sphere's confusion matrix summed over the folds
    (n_spheres, C * C; :func:`snakelight.searchlight.measures.confusion`). Other arguments
    as :func:`score_spheres`.
    """
    engine = resolve_engine(engine, estimator)
    names = output_names(scoring) + (["confusion"] if confusion else [])
    if len(spheres) == 0:
        n_classes = np.unique(y).size
        widths = {"confusion": n_classes * n_classes}
        return {name: np.empty((0, widths.get(name, 1 if folds is None else len(folds)))) for name in names}
    if engine == "exact":
        model = make_estimator(estimator) if isinstance(estimator, str) else estimator
        return score_outputs_exact(
            X, y, spheres, model, folds, scorers(scoring), progress=progress, groups=groups, confusion=confusion
        )
    for scorer in scorers(scoring):
        problem = fast_unsupported(estimator, scorer, len(np.unique(y)))
        if problem is not None:
            raise ValueError(problem[1])
    if names != ["accuracy"]:
        if estimator in FAST_BINARY_ESTIMATORS:
            return reduce(_predict_svc_fast(X, y, spheres, estimator, folds, progress, n_threads), names)
        return reduce(fast.predict_spheres_fast(X, y, spheres, estimator, folds, progress, n_threads), names)
    if estimator in FAST_BINARY_ESTIMATORS:
        return {"accuracy": _score_svc_fast(X, y, spheres, estimator, folds, progress, n_threads)}
    return {
        "accuracy": fast.score_spheres_fast(X, y, spheres, estimator, folds, progress=progress, n_threads=n_threads)
    }


# The fast svc solves LinearSVC's objective to its optimum; liblinear stops at a
# tolerance, which on raw BOLD values leaves it far from that optimum once spheres are
# large: on a 2 mm grid 87 % of 4 mm spheres, and a minority of 6 and 8 mm ones, equal
# nilearn's (docs/explanation/engines.md). Past this many voxels the fast engine scores
# spheres with the exact engine's liblinear, so there its svc maps equal nilearn's.
FAST_SVC_MAX_VOXELS = 32


def _score_svc_fast(X, y, spheres, estimator, folds, progress, n_threads):
    """The fast engine's svc accuracies (n_spheres, n_folds): the batched Newton method on
    spheres of up to FAST_SVC_MAX_VOXELS voxels, the exact engine's liblinear on larger ones."""
    return _by_size(
        spheres,
        FAST_SVC_MAX_VOXELS,
        progress,
        lambda part, part_progress: fast.score_spheres_fast(X, y, part, estimator, folds, part_progress, n_threads),
        lambda part, part_progress: score_spheres_exact(
            X, y, part, make_estimator(estimator), folds, progress=part_progress
        ),
        lambda parts, order: np.concatenate(parts)[order],
    )


def _predict_svc_fast(X, y, spheres, estimator, folds, progress, n_threads):
    """The fast engine's svc predictions (:class:`~snakelight.searchlight.measures.Predictions`),
    split by sphere size as :func:`_score_svc_fast`."""
    exact = make_estimator(estimator)
    return _by_size(
        spheres,
        FAST_SVC_MAX_VOXELS,
        progress,
        lambda part, part_progress: fast.predict_spheres_fast(X, y, part, estimator, folds, part_progress, n_threads),
        lambda part, part_progress: predict_spheres_exact(X, y, part, exact, folds, progress=part_progress),
        lambda parts, order: parts[0]._replace(predicted=np.concatenate([part.predicted for part in parts])[order]),
    )


def _by_size(spheres, max_voxels, progress, small_part, large_part, join, units_per_sphere=1):
    """``small_part(spheres, progress)`` of the spheres of up to ``max_voxels`` voxels and
    ``large_part`` of the larger ones, ``join(parts, order)``ed: ``order`` puts the
    concatenated spheres back in their order. ``progress`` counts ``units_per_sphere`` per sphere."""
    large = np.array([len(sphere) > max_voxels for sphere in spheres])
    small = np.flatnonzero(~large)
    total = len(spheres) * units_per_sphere
    done = small.size * units_per_sphere

    def large_progress(count, _):
        progress(done + count, total)

    parts = []
    if small.size:
        small_progress = None if progress is None else lambda count, _: progress(count, total)
        parts.append(small_part([spheres[i] for i in small], small_progress))
    if large.any():
        parts.append(
            large_part([spheres[i] for i in np.flatnonzero(large)], None if progress is None else large_progress)
        )
    return join(parts, np.argsort(np.concatenate([small, np.flatnonzero(large)]), kind="stable"))


def score_spheres_permuted(
    X, permuted, spheres, estimator, folds, *, engine="auto", scoring=None, progress=None, n_threads=1
):
    """Cross-validated scores of each sphere under each permutation: (P, n_spheres, n_folds),
    entry [k] the null map of column k of ``permuted`` (samples, P) labels.

    ``folds`` are those of the real labels: a permutation changes the labels, not the folds,
    and every sphere of a null map sees the same permuted labels. Entry [k] equals
    ``score_spheres(X, permuted[:, k], spheres, estimator, folds, ...)``: the exact engine
    and the fast svc compute it so, permutation by permutation (nilearn's SearchLight on
    the permuted labels, bit for bit, for the exact engine); the fast gnb and lda batch the
    permutations, one pass over a sphere's data for many, with the same accuracies (the
    lda on spheres of up to ``fast.PERMUTED_MAX_VOXELS`` voxels; larger ones one by one).
    ``progress(done, total)`` counts (permutation, sphere) pairs.
    """
    permuted = np.asarray(permuted)
    n_permutations = permuted.shape[1]
    engine = resolve_engine(engine, estimator)
    if n_permutations == 0 or len(spheres) == 0:
        return np.empty((n_permutations, len(spheres), len(folds)))
    if engine == "fast" and estimator in fast.PERMUTED_SCORERS and scoring in (None, "accuracy"):
        _, codes = np.unique(permuted, return_inverse=True)
        codes = codes.reshape(permuted.shape).T
        return _by_size(
            spheres,
            fast.PERMUTED_MAX_VOXELS[estimator],
            progress,
            lambda part, part_progress: fast.score_permutations_fast(
                X, codes, part, estimator, folds, progress=part_progress, n_threads=n_threads
            ),
            lambda part, part_progress: _one_by_one(
                X, permuted, part, estimator, folds, engine, scoring, part_progress, n_threads
            ),
            lambda parts, order: np.concatenate(parts, axis=1)[:, order],
            units_per_sphere=n_permutations,
        )
    return _one_by_one(X, permuted, spheres, estimator, folds, engine, scoring, progress, n_threads)


def _one_by_one(X, permuted, spheres, estimator, folds, engine, scoring, progress, n_threads):
    """score_spheres_permuted, permutation by permutation."""
    n_permutations = permuted.shape[1]
    scores = np.empty((n_permutations, len(spheres), len(folds)))
    for k in range(n_permutations):

        def permutation_progress(done, total, k=k):
            progress(k * total + done, n_permutations * total)

        scores[k] = score_spheres(
            X,
            permuted[:, k],
            spheres,
            estimator,
            folds,
            engine=engine,
            scoring=scoring,
            progress=None if progress is None else permutation_progress,
            n_threads=n_threads,
        )
    return scores


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
