"""The ``exact`` engine: nilearn's accuracies bit for bit, without nilearn's per-sphere
machinery.

nilearn scores a sphere with ``cross_val_score``: per fold it clones the estimator,
validates the data, encodes the labels, fits and predicts. For LinearSVC (nilearn's
'svc', 'svc_l2' and 'svc_l1') the fit is one call to liblinear, which stops at a
tolerance: its answer depends on its exact inputs and on every rounding on the way.
:class:`LiblinearFolds` fits the same float64 values in the same feature order
(ascending mask index), with the settings ``LinearSVC.fit`` resolves, and predicts as
``LinearSVC.predict`` does:

- LinearSVC's usual case (L2 penalty, squared hinge, two classes per fold) runs
  liblinear's solvers compiled operation for operation, one call per sphere for all its
  folds: :mod:`snakelight.searchlight.engines._tron` for the primal, and
  :mod:`snakelight.searchlight.engines._dual` where ``dual="auto"`` picks the dual (a
  sphere wider than its training folds: 8 mm spheres on a 2 mm grid);
- any other LinearSVC calls liblinear itself, scikit-learn's private ``train_wrap``.

``tests/test_engines.py`` fails the day a scikit-learn release changes either result.
Any other estimator (classifier or regressor, named by nilearn or given as an object) or
scorer (a name or a callable) goes through ``cross_val_score`` on the same folds, which is
exactly what nilearn runs; an estimator that opts out of cross-validation
(``nilearn_searchlight_uses_cv = False``) is fitted and scored on each whole sphere, as
nilearn does.
"""

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer, make_scorer
from sklearn.model_selection import cross_val_score
from sklearn.svm import LinearSVC
from sklearn.utils.class_weight import compute_class_weight

from snakelight._compat import liblinear, liblinear_solver_type, resolve_dual
from snakelight.searchlight.engines import _tron
from snakelight.searchlight.measures import Predictions, fold_starts, reduce
from snakelight.searchlight.outputs import PREDICTION_SCORERS, output_name


class _Fold(NamedTuple):
    train: np.ndarray
    test: np.ndarray
    train_codes: np.ndarray  # float64 class indices among the fold's training classes
    test_codes: np.ndarray  # the same for the test samples, -1 for a class not trained on
    classes: np.ndarray  # the fold's training classes, as indices into all classes
    class_weight: np.ndarray
    sample_weight: np.ndarray


class LiblinearFolds:
    """Fold-by-fold LinearSVC fits as liblinear makes them, for spheres of one data matrix.

    ``y`` holds the labels, ``folds`` the (train, test) index pairs.
    """

    def __init__(self, estimator, y, folds):
        if not self.supports(estimator, [None]):
            raise ValueError(f"{estimator!r} is not a LinearSVC liblinear can fit directly")
        self.estimator = estimator
        self.classes, codes = np.unique(y, return_inverse=True)
        self.truth = np.concatenate([codes[test] for _, test in folds])
        self.fold_start = fold_starts(folds)
        self.test_fold = np.repeat(np.arange(len(folds)), np.diff(self.fold_start))
        self.folds = []
        for train, test in folds:
            classes = np.unique(codes[train])
            if classes.size < 2:
                raise ValueError(f"a training fold holds only the class {self.classes[classes[0]]!r}")
            # LinearSVC label-encodes each training fold's own classes; a test label
            # outside them (-1) is never predicted.
            position = np.full(self.classes.size, -1)
            position[classes] = np.arange(classes.size)
            self.folds.append(
                _Fold(
                    train=train,
                    test=test,
                    train_codes=position[codes[train]].astype(np.float64),
                    test_codes=position[codes[test]],
                    classes=classes,
                    class_weight=compute_class_weight(estimator.class_weight, classes=classes, y=codes[train]),
                    sample_weight=np.ones(train.size),
                )
            )
        # LinearSVC seeds liblinear with check_random_state(random_state).randint(...);
        # an integer random_state (nilearn always sets 0) makes that a constant.
        self.seed = np.random.RandomState(estimator.random_state).randint(np.iinfo("i").max)
        self.bias = estimator.intercept_scaling if estimator.fit_intercept else -1.0
        self.intercept_scaling = np.float64(estimator.intercept_scaling)
        self.solvers = {}  # liblinear's solver per training shape
        self.compiled_widths = {}  # sphere width -> _compiled's answer
        self.layout = self._tron_layout()
        if self.layout is not None:  # two training classes per fold
            self.fold_classes = np.stack([fold.classes for fold in self.folds])
        self.settings = _tron.Settings(
            float(self.bias),
            float(self.intercept_scaling),
            int(estimator.max_iter),
            float(estimator.tol),
            int(self.seed),
        )

    @staticmethod
    def supports(estimator, scorers):
        """Whether LiblinearFolds fits ``estimator`` for the scorers ``scorers`` (a list)."""
        return (
            type(estimator) is LinearSVC
            and all(output_name(scorer) in PREDICTION_SCORERS for scorer in scorers)
            and estimator.multi_class == "ovr"
            and isinstance(estimator.random_state, int)
        )

    def _tron_layout(self):
        """The folds as :func:`snakelight.searchlight.engines._tron.sphere_scores` takes them, or None where it
        cannot fit them (another penalty or loss, a fold with more than two classes,
        liblinear's verbose output asked for)."""
        estimator = self.estimator
        if (
            estimator.penalty != "l2"
            or estimator.loss != "squared_hinge"
            or estimator.verbose
            or any(fold.class_weight.size != 2 for fold in self.folds)
        ):
            return None
        train_rows, sign, cost, tolerance = [], [], [], []
        for fold in self.folds:
            # liblinear's train() groups the samples by class, each in its order; the
            # first class is the negative one.
            order = np.argsort(fold.train_codes, kind="stable")
            positive = fold.train_codes[order] == 1
            train_rows.append(fold.train[order])
            sign.append(np.where(positive, 1.0, -1.0))
            class_cost = estimator.C * fold.class_weight  # liblinear's weighted_C
            cost.append(fold.sample_weight[order] * np.where(positive, class_cost[1], class_cost[0]))
            n_positive = int(positive.sum())
            # train_one's primal_solver_tol, in its order of operations.
            tolerance.append(estimator.tol * max(min(n_positive, positive.size - n_positive), 1) / positive.size)

        def start(parts):
            return np.concatenate([[0], np.cumsum([part.size for part in parts])])

        tests = [fold.test for fold in self.folds]
        return _tron.Folds(
            train_rows=np.concatenate(train_rows),
            train_start=start(train_rows),
            sign=np.concatenate(sign),
            cost=np.concatenate(cost),
            tolerance=np.array(tolerance),
            test_rows=np.concatenate(tests),
            test_start=start(tests),
            test_codes=np.concatenate([fold.test_codes for fold in self.folds]),
        )

    def _solver(self, shape):
        """liblinear's solver for training data of this shape: dual="auto" depends on
        the shape only, so it is resolved once per shape."""
        solver = self.solvers.get(shape)
        if solver is None:
            estimator = self.estimator
            dual = resolve_dual(
                estimator.dual, estimator.loss, estimator.penalty, estimator.multi_class, np.empty(shape)
            )
            solver = self.solvers[shape] = liblinear_solver_type(
                estimator.multi_class, estimator.penalty, estimator.loss, dual
            )
        return solver

    def _compiled(self, width):
        """For a sphere of ``width`` voxels, which folds liblinear fits with its dual
        solver (folds,) bool, when the compiled solvers (TRON for the primal,
        :mod:`snakelight.searchlight.engines._dual` for the dual) fit every fold; else None."""
        if width not in self.compiled_widths:
            primal, dual = (liblinear_solver_type("ovr", "l2", "squared_hinge", d) for d in (False, True))
            solvers = [self._solver((fold.train.size, width)) for fold in self.folds]
            compiled = self.layout is not None and all(solver in (primal, dual) for solver in solvers)
            self.compiled_widths[width] = np.array([solver == dual for solver in solvers]) if compiled else None
        return self.compiled_widths[width]

    def data(self, X):
        """``X`` (samples, voxels) as :meth:`scores` takes it, C-ordered: float32 where its
        values are float32 (the masked samples' dtype) and so is liblinear's bias feature,
        since each converts to float64 exactly and the compiled primal solver runs faster
        on them; else float64."""
        exact = X.dtype == np.float32 and (self.bias <= 0 or float(np.float32(self.bias)) == self.bias)
        return np.ascontiguousarray(X, dtype=np.float32 if exact else np.float64)

    def scores(self, X, sphere):
        """Accuracy per fold for the columns ``sphere`` (int array) of ``X`` (samples,
        voxels; :meth:`data`'s)."""
        estimator = self.estimator
        dual = self._compiled(sphere.size)
        if dual is not None:
            coef = np.empty((len(self.folds), sphere.size + 1))
            tied = np.empty(len(self.folds), dtype=bool)
            decisions = np.empty(self.truth.size)
            scores = _tron.sphere_scores(X, sphere, self.layout, self.settings, dual, coef, tied, decisions)
            n_coef = sphere.size + 1 if estimator.fit_intercept else sphere.size
            for f in np.flatnonzero(tied):  # a decision within rounding of zero: as numpy computes it
                scores[f] = self._score(_float64(X, sphere), self.folds[f], coef[f : f + 1, :n_coef])
            return scores
        X_sphere = _float64(X, sphere)
        return np.array([self._score(X_sphere, fold, self._liblinear_coef(X_sphere, fold)) for fold in self.folds])

    def predictions(self, X, sphere):
        """The predicted class (indices into all classes) of every test sample, fold after
        fold, (n_tests,), for the columns ``sphere`` of ``X`` (as :meth:`scores`)."""
        estimator = self.estimator
        dual = self._compiled(sphere.size)
        if dual is None:
            X_sphere = _float64(X, sphere)
            return np.concatenate(
                [
                    fold.classes[self._predicted(X_sphere, fold, self._liblinear_coef(X_sphere, fold))]
                    for fold in self.folds
                ]
            )
        coef = np.empty((len(self.folds), sphere.size + 1))
        tied = np.empty(len(self.folds), dtype=bool)
        decisions = np.empty(self.truth.size)
        _tron.sphere_scores(X, sphere, self.layout, self.settings, dual, coef, tied, decisions)
        positive = (decisions > 0).astype(np.intp)
        n_coef = sphere.size + 1 if estimator.fit_intercept else sphere.size
        for f in np.flatnonzero(tied):  # a decision within rounding of zero: as numpy computes it
            start, stop = self.fold_start[f], self.fold_start[f + 1]
            positive[start:stop] = self._predicted(_float64(X, sphere), self.folds[f], coef[f : f + 1, :n_coef])
        return self.fold_classes[self.test_fold, positive]

    def _liblinear_coef(self, X_sphere, fold):
        """liblinear's raw coefficients for the fold's training samples of ``X_sphere``."""
        estimator = self.estimator
        X_train = X_sphere[fold.train]
        raw_coef, _ = liblinear.train_wrap(
            X_train,
            fold.train_codes,
            False,
            self._solver(X_train.shape),
            estimator.tol,
            self.bias,
            estimator.C,
            fold.class_weight,
            estimator.max_iter,
            self.seed,
            0.1,
            fold.sample_weight,
        )
        return raw_coef

    def _predicted(self, X_sphere, fold, raw_coef):
        """The fold's test predictions (indices among its training classes) of liblinear's
        coefficients ``raw_coef``, through LinearSVC.decision_function with coef_ and
        intercept_ as LinearSVC.fit sets them."""
        if self.estimator.fit_intercept:
            decision = X_sphere[fold.test] @ raw_coef[:, :-1].T + self.intercept_scaling * raw_coef[:, -1]
        else:
            decision = X_sphere[fold.test] @ raw_coef.T
        return (decision[:, 0] > 0).astype(np.intp) if decision.shape[1] == 1 else decision.argmax(axis=1)

    def _score(self, X_sphere, fold, raw_coef):
        """Accuracy on the fold's test samples of liblinear's coefficients ``raw_coef``."""
        predicted = self._predicted(X_sphere, fold, raw_coef)
        return np.count_nonzero(predicted == fold.test_codes) / fold.test.size


def _float64(X, sphere):
    """The columns ``sphere`` of ``X`` in float64, as LinearSVC takes them."""
    return np.asarray(X[:, sphere], dtype=np.float64)


def pearson_r(y_true, y_pred):
    """Pearson's correlation of the targets and the predictions of a regression (0 where
    the predictions are constant)."""
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if np.ptp(y_pred) == 0 or np.ptp(y_true) == 0:
        return 0.0
    return float(np.corrcoef(y_true, y_pred)[0, 1])


# snakelight's scorers beside scikit-learn's, by name.
SCORERS = {"pearson_r": make_scorer(pearson_r)}


def scorer_object(scoring):
    """What cross_val_score takes for ``scoring``: snakelight's scorer of that name, else
    ``scoring`` itself (a scikit-learn scorer name, a callable or None)."""
    return SCORERS.get(scoring, scoring) if isinstance(scoring, str) else scoring


def score_spheres_exact(X, y, spheres, estimator, folds, scoring=None, progress=None, groups=None):
    """Scores (n_spheres, n_folds) equal to nilearn's, sphere by sphere; with
    ``folds=None``, the estimator's own score of each whole sphere (n_spheres, 1)."""
    return score_outputs_exact(X, y, spheres, estimator, folds, [scoring], progress, groups)[output_name(scoring)]


def score_outputs_exact(X, y, spheres, estimator, folds, scorers, progress=None, groups=None, confusion=False):
    """{output name: scores (n_spheres, n_folds)} of each of ``scorers`` (scorer names or
    None: the estimator's own score), each equal to nilearn's SearchLight run with that
    scorer, from one fit per sphere and fold; with ``confusion``, also the output
    ``confusion`` (:func:`snakelight.searchlight.measures.confusion`).

    With ``folds=None`` (one scorer only), the estimator's own score of each whole sphere
    (n_spheres, 1).
    """
    names = [output_name(scorer) for scorer in scorers] + (["confusion"] if confusion else [])
    if folds is None:

        def score(sphere):
            estimator.fit(X[:, sphere], y, groups=groups)
            return [estimator.score(X[:, sphere], y, groups=groups)]
    elif LiblinearFolds.supports(estimator, scorers):
        # liblinear prints its iterations unless told not to; LinearSVC.fit does the same.
        liblinear.set_verbosity_wrap(int(estimator.verbose))
        fits = LiblinearFolds(estimator, y, folds)
        X = fits.data(X)  # once, rather than sphere by sphere
        if names != ["accuracy"]:
            return reduce(_liblinear_predictions(fits, X, spheres, progress), names)

        def score(sphere):
            return [fits.scores(X, np.asarray(sphere, dtype=np.intp))]
    elif len(names) == 1:

        def score(sphere):
            return [cross_val_score(estimator, X[:, sphere], y, cv=folds, scoring=scorer_object(scorers[0]), n_jobs=1)]
    else:
        return _scikit_learn_outputs(X, y, spheres, estimator, folds, scorers, confusion, progress)

    scores = {name: np.empty((len(spheres), 1 if folds is None else len(folds))) for name in names}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # as nilearn
        for i, sphere in enumerate(spheres):
            for name, value in zip(names, score(sphere)):
                scores[name][i] = value
            if progress is not None:
                progress(i + 1, len(spheres))
    return scores


def _scikit_learn_outputs(X, y, spheres, estimator, folds, scorers, confusion, progress):
    """cross_val_score's fit and score per fold, every scorer on the one fit (so each
    equals cross_val_score with that scorer), and with ``confusion`` the fits'
    predictions reduced to confusion matrices."""
    callables = [None if scorer is None else get_scorer(scorer_object(scorer)) for scorer in scorers]
    classes, codes = np.unique(y, return_inverse=True)
    values = np.empty((len(scorers), len(spheres), len(folds)))
    predicted = np.empty((len(spheres), sum(len(test) for _, test in folds)), dtype=np.intp)
    start = fold_starts(folds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # as nilearn
        for i, sphere in enumerate(spheres):
            # The sphere's columns first, then the fold's rows, as cross_val_score indexes
            # them: float32 fits (RidgeCV's) differ in their last bits otherwise.
            X_sphere = X[:, sphere]
            for f, (train, test) in enumerate(folds):
                model = clone(estimator).fit(X_sphere[train], y[train])
                X_test = X_sphere[test]
                for k, scorer in enumerate(callables):
                    values[k, i, f] = model.score(X_test, y[test]) if scorer is None else scorer(model, X_test, y[test])
                if confusion:
                    predicted[i, start[f] : start[f + 1]] = np.searchsorted(classes, model.predict(X_test))
            if progress is not None:
                progress(i + 1, len(spheres))
    outputs = {output_name(scorer): scores for scorer, scores in zip(scorers, values)}
    if confusion:
        truth = np.concatenate([codes[test] for _, test in folds])
        outputs.update(reduce(Predictions(predicted, truth, start, classes.size), ["confusion"]))
    return outputs


def predict_spheres_exact(X, y, spheres, estimator, folds, progress=None):
    """The :class:`~snakelight.searchlight.measures.Predictions` of a LinearSVC ``estimator``
    (LiblinearFolds.supports it) for ``spheres``."""
    fits = LiblinearFolds(estimator, y, folds)
    return _liblinear_predictions(fits, fits.data(X), spheres, progress)


def _liblinear_predictions(fits, X, spheres, progress):
    """The :class:`~snakelight.searchlight.measures.Predictions` of ``fits`` (LiblinearFolds)
    for ``spheres`` of ``X`` (``fits.data``'s)."""
    predicted = np.empty((len(spheres), fits.truth.size), dtype=np.intp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # as nilearn
        for i, sphere in enumerate(spheres):
            predicted[i] = fits.predictions(X, np.asarray(sphere, dtype=np.intp))
            if progress is not None:
                progress(i + 1, len(spheres))
    return Predictions(predicted, fits.truth, fits.fold_start, fits.classes.size)
