"""The ``exact`` engine: nilearn's accuracies bit for bit, without nilearn's per-sphere
machinery.

nilearn scores a sphere with ``cross_val_score``: per fold it clones the estimator,
validates the data, encodes the labels, fits and predicts. For LinearSVC (nilearn's
'svc', 'svc_l2' and 'svc_l1') the fit itself is one call to liblinear; everything around
it costs about five times more than the solver. :class:`LiblinearFolds` makes that same
call (scikit-learn's private ``train_wrap``, with the settings ``LinearSVC.fit`` resolves)
on the same float64 values in the same feature order (ascending mask index), and predicts
as ``LinearSVC.predict`` does. liblinear stops at a tolerance, so its answer depends on
its exact inputs; identical inputs give identical coefficients, hence identical
accuracies. ``tests/test_engines.py`` fails the day a scikit-learn release changes that.

Any other estimator or scorer goes through ``cross_val_score`` on the same folds, which
is exactly what nilearn runs.
"""

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.svm import LinearSVC, _liblinear
from sklearn.svm._base import _get_liblinear_solver_type
from sklearn.svm._classes import _validate_dual_parameter
from sklearn.utils.class_weight import compute_class_weight


class _Fold(NamedTuple):
    train: np.ndarray
    test: np.ndarray
    train_codes: np.ndarray  # float64 class indices among the fold's training classes
    test_codes: np.ndarray  # the same for the test samples, -1 for a class not trained on
    class_weight: np.ndarray
    sample_weight: np.ndarray


class LiblinearFolds:
    """Fold-by-fold LinearSVC fits through liblinear, for spheres of one data matrix.

    ``y`` holds the labels, ``folds`` the (train, test) index pairs.
    """

    def __init__(self, estimator, y, folds):
        if not self.supports(estimator, None):
            raise ValueError(f"{estimator!r} is not a LinearSVC liblinear can fit directly")
        self.estimator = estimator
        self.classes, codes = np.unique(y, return_inverse=True)
        self.folds = []
        for train, test in folds:
            classes = np.unique(codes[train])
            if classes.size < 2:
                raise ValueError(f"a training fold holds only the class {self.classes[classes[0]]!r}")
            # LinearSVC label-encodes each training fold's own classes; a test label
            # outside them (-1) is never predicted.
            position = np.full(self.classes.size, -1)
            position[classes] = np.arange(classes.size)
            self.folds.append(_Fold(
                train=train,
                test=test,
                train_codes=position[codes[train]].astype(np.float64),
                test_codes=position[codes[test]],
                class_weight=compute_class_weight(estimator.class_weight, classes=classes, y=codes[train]),
                sample_weight=np.ones(train.size),
            ))
        # LinearSVC seeds liblinear with check_random_state(random_state).randint(...);
        # an integer random_state (nilearn always sets 0) makes that a constant.
        self.seed = np.random.RandomState(estimator.random_state).randint(np.iinfo("i").max)
        self.bias = estimator.intercept_scaling if estimator.fit_intercept else -1.0
        self.intercept_scaling = np.float64(estimator.intercept_scaling)
        self.solvers = {}

    @staticmethod
    def supports(estimator, scoring):
        return (type(estimator) is LinearSVC and scoring in (None, "accuracy")
                and estimator.multi_class == "ovr" and isinstance(estimator.random_state, int))

    def scores(self, X_sphere):
        """Accuracy per fold for one sphere's float64 data (samples, sphere voxels)."""
        estimator = self.estimator
        scores = np.empty(len(self.folds))
        for i, fold in enumerate(self.folds):
            X_train = X_sphere[fold.train]
            # dual="auto" depends on the training data's shape only: resolved once per shape.
            solver = self.solvers.get(X_train.shape)
            if solver is None:
                dual = _validate_dual_parameter(estimator.dual, estimator.loss, estimator.penalty,
                                                estimator.multi_class, X_train)
                solver = self.solvers[X_train.shape] = _get_liblinear_solver_type(
                    estimator.multi_class, estimator.penalty, estimator.loss, dual)
            raw_coef, _ = _liblinear.train_wrap(
                X_train, fold.train_codes, False, solver, estimator.tol, self.bias, estimator.C,
                fold.class_weight, estimator.max_iter, self.seed, 0.1, fold.sample_weight,
            )
            # LinearSVC.decision_function, with coef_ and intercept_ as LinearSVC.fit sets them.
            if estimator.fit_intercept:
                decision = X_sphere[fold.test] @ raw_coef[:, :-1].T + self.intercept_scaling * raw_coef[:, -1]
            else:
                decision = X_sphere[fold.test] @ raw_coef.T
            predicted = decision[:, 0] > 0 if decision.shape[1] == 1 else decision.argmax(axis=1)
            scores[i] = np.count_nonzero(predicted == fold.test_codes) / fold.test.size
        return scores


def score_spheres_exact(X, y, spheres, estimator, folds, scoring=None, progress=None):
    """Scores (n_spheres, n_folds) equal to nilearn's, sphere by sphere."""
    scores = np.empty((len(spheres), len(folds)))
    if LiblinearFolds.supports(estimator, scoring):
        # liblinear prints its iterations unless told not to; LinearSVC.fit does the same.
        _liblinear.set_verbosity_wrap(int(estimator.verbose))
        fits = LiblinearFolds(estimator, y, folds)
        score = fits.scores
        X = np.asarray(X, dtype=np.float64)  # once, rather than sphere by sphere
    else:
        def score(X_sphere):
            return cross_val_score(estimator, X_sphere, y, cv=folds, scoring=scoring, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # as nilearn
        for i, sphere in enumerate(spheres):
            scores[i] = score(X[:, sphere])
            if progress is not None:
                progress(i + 1, len(spheres))
    return scores
