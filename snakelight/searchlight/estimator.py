"""``snakelight.SearchLight``: nilearn's ``SearchLight`` on snakelight's engines, for
Python users. Change one import and get nilearn's ``scores_`` bit for bit, faster, plus
the per-fold maps (``fold_scores_``).

It is nilearn's class (a subclass: same constructor, checks, attributes, errors and
scikit-learn behaviour) whose ``fit`` and ``transform`` build the spheres with
:mod:`~snakelight.searchlight.spheres`, the folds with :mod:`~snakelight.searchlight.cv`
and score them with :func:`~snakelight.searchlight.scoring.score_outputs`: the functions
the workflow's chunk job calls.
"""

import warnings
from copy import deepcopy

import numpy as np
from joblib import Parallel, cpu_count, delayed
from nilearn.decoding import SearchLight as NilearnSearchLight
from nilearn.image import check_niimg_3d, check_niimg_4d, get_data, resample_img
from nilearn.masking import apply_mask_fmri, load_mask_img
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, check_cv, cross_val_score
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from snakelight._compat import SUPPORTED_ESTIMATORS, check_params, check_searchlight_estimator
from snakelight.searchlight.chunks import score_maps
from snakelight.searchlight.cv import make_folds
from snakelight.searchlight.engines import resolve_engine
from snakelight.searchlight.engines.exact import scorer_object
from snakelight.searchlight.outputs import output_names, scorers
from snakelight.searchlight.scoring import OTHER_ESTIMATORS, make_estimator, score_outputs
from snakelight.searchlight.spheres import process_seeds, sphere_members

ENGINES = ("auto", "exact", "fast")


class SearchLight(NilearnSearchLight):
    """nilearn's ``SearchLight`` (same parameters, attributes and errors; see
    :class:`nilearn.decoding.SearchLight`), scored by snakelight's engines.

    ``n_jobs`` splits the spheres into contiguous blocks scored in parallel processes
    (joblib); the scores do not depend on it. The folds are split once for all spheres
    (nilearn splits them again per sphere: the same folds unless ``cv`` shuffles without
    a fixed ``random_state``).

    ``scoring`` may also be a list of scorer names (e.g. ``["accuracy",
    "balanced_accuracy"]``): every scorer is computed from one fit per sphere and fold,
    ``scores_`` is the first's map, and ``outputs_`` holds each.

    Parameters
    ----------
    engine : {"auto", "exact", "fast"}, default="auto"
        Keyword-only, the one parameter nilearn's class lacks. ``exact`` gives nilearn's
        scores bit for bit: LinearSVC (nilearn's ``svc``, ``svc_l2``, ``svc_l1``, or a
        ``LinearSVC`` object) with accuracy is compiled; any other estimator or scorer
        runs scikit-learn's ``cross_val_score`` per sphere on the same folds, as nilearn
        does. ``fast`` batches many spheres at once (estimators ``svc``, ``svc_l2``,
        ``gnb``, ``lda`` by name, accuracy and balanced accuracy; the docs' "The engines"
        says how close it is). ``auto``: ``fast`` for ``gnb`` and ``lda``, else ``exact``.

    Attributes
    ----------
    fold_scores_ : numpy.ndarray, shape (process mask's shape..., n_folds)
        The score of each fold (the folds of ``cv`` split once, in its order); zero
        outside the process mask. ``scores_`` is their mean. nilearn's other attributes
        (``scores_``, ``process_mask_``, ``masked_scores_``, ...) are as nilearn's.
    outputs_ : dict
        Each scorer's map (as ``scores_``) by its name (``scoring=None``: ``"accuracy"``
        for a classifier, ``"score"`` otherwise), in the order of ``scoring``.
    fold_outputs_ : dict
        Each scorer's per-fold maps (as ``fold_scores_``), by name.
    """

    def __init__(
        self,
        mask_img=None,
        process_mask_img=None,
        radius=2.0,
        estimator="svc",
        n_jobs=1,
        scoring=None,
        cv=None,
        verbose=0,
        random_state=0,
        estimator_args=None,
        *,
        engine="auto",
    ):
        super().__init__(
            mask_img=mask_img,
            process_mask_img=process_mask_img,
            radius=radius,
            estimator=estimator,
            n_jobs=n_jobs,
            scoring=scoring,
            cv=cv,
            verbose=verbose,
            random_state=random_state,
            estimator_args=estimator_args,
        )
        self.engine = engine

    def fit(self, imgs, y, groups=None):
        """Score the sphere of every process-mask voxel, as nilearn's ``fit``.

        ``imgs``: a 4D image, a list of 3D images, or their paths; ``y`` (n_samples,)
        the targets; ``groups`` (n_samples,) the group of each sample, passed to the
        cross-validation splitter as nilearn passes it (to every splitter but KFold).
        """
        check_params(self.__dict__)
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        imgs = check_niimg_4d(imgs)
        check_array(y, ensure_2d=False, dtype=None)
        y = np.asarray(y)
        groups = None if groups is None else np.asarray(groups)

        self.mask_img_ = deepcopy(self.mask_img)
        if self.mask_img_ is not None:
            self.mask_img_ = check_niimg_3d(self.mask_img_)
        if self.process_mask_img is not None:
            check_niimg_3d(self.process_mask_img)
        process_mask, process_mask_affine = load_mask_img(self.process_mask_img or self.mask_img_)
        self.process_mask_ = process_mask
        self.n_elements_ = process_mask.ravel().sum()

        X, mask = _masked_samples(imgs, self.mask_img_)
        spheres = sphere_members(
            mask, imgs.affine, process_seeds(process_mask), self.radius, seed_affine=process_mask_affine
        )
        estimator = self._make_estimator()
        check_searchlight_estimator(estimator, scoring=scorers(self.scoring)[0], y=y)
        if getattr(estimator, "nilearn_searchlight_uses_cv", True):
            folds = make_folds(check_cv(self.cv, y, classifier=is_classifier(estimator)), X, y, groups)
            failed = self._first_sphere_as_nilearn(X, y, spheres, estimator, folds, groups)
        else:
            folds, failed = None, None  # the estimator scores itself, as nilearn lets it
        if is_classifier(estimator) and y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()  # a column vector: scikit-learn's classifiers read it so (and warn)
        if failed is not None and failed.any():
            # Folds whose fit fails whatever the sphere: NaN in every sphere, as in nilearn's.
            kept = [fold for fold, fails in zip(folds, failed) if not fails]
            outputs = {}
            for name, scores in self._score(X, y, spheres, estimator, kept, groups).items():
                outputs[name] = np.full((len(spheres), len(folds)), np.nan)
                outputs[name][:, ~failed] = scores
        else:
            outputs = self._score(X, y, spheres, estimator, folds, groups)
        names = output_names(self.scoring)
        if self.scoring is None and not is_classifier(estimator):
            names[0] = "score"
        maps = {name: score_maps(process_mask, scores) for name, scores in zip(names, outputs.values())}
        self.outputs_ = {name: score_map for name, (score_map, _) in maps.items()}
        self.fold_outputs_ = {name: fold_maps for name, (_, fold_maps) in maps.items()}
        self.scores_, self.fold_scores_ = maps[names[0]]
        self.masked_scores_ = self.scores_[process_mask]
        return self

    def transform(self, imgs):
        """nilearn's ``transform``: per sphere, the absolute mean decision function of
        the estimator fitted to a dummy half-0/half-1 target; the process mask's shape.

        nilearn 0.14 places these spheres at the process-mask voxel indices read as
        millimetres (its ``transform`` passes indices where its ``fit`` passes world
        coordinates); kept, so that the result is nilearn's.
        """
        check_is_fitted(self)
        imgs = check_niimg_4d(imgs)
        X, mask = _masked_samples(imgs, self.mask_img_)
        spheres = sphere_members(
            mask, imgs.affine, process_seeds(self.process_mask_), self.radius, seed_affine=np.eye(4)
        )
        estimator = self._make_estimator()
        decisions = np.concatenate(
            self._parallel(delayed(_mean_decisions)(X, estimator, block) for block in self._blocks(spheres))
        )
        result = np.zeros(self.process_mask_.shape)
        result[np.nonzero(self.process_mask_)] = decisions
        return np.abs(result)

    def _make_estimator(self):
        """The estimator nilearn's SearchLight would fit (its checks and warnings), with
        clearer errors where nilearn's come from deeper down: for a class given instead
        of an instance, and for an unknown name."""
        if isinstance(self.estimator, type):
            raise TypeError(f"SearchLight estimator must be an *instance*, got class {self.estimator.__name__}.")
        if isinstance(self.estimator, str) and not self._estimator_type and self.estimator not in OTHER_ESTIMATORS:
            raise KeyError(
                f"SearchLight has no estimator {self.estimator!r}: use one of nilearn's names "
                f"({', '.join(sorted(SUPPORTED_ESTIMATORS['classifier'] | SUPPORTED_ESTIMATORS['regressor']))}), "
                f"{', '.join(OTHER_ESTIMATORS)}, or a scikit-learn estimator object"
            )
        return make_estimator(
            self.estimator,
            owning_class_type=self._estimator_type,
            estimator_args=self.estimator_args,
            verbose=self.verbose,
        )

    def _first_sphere_as_nilearn(self, X, y, spheres, estimator, folds, groups):
        """Score the first sphere as nilearn scores every sphere (scikit-learn's
        ``cross_val_score`` on the same folds), so that a misuse raises nilearn's error
        (a continuous ``y`` for a classifier: "All the 4 fits failed"; a single class,
        a 2D ``y``, ...) and an input nilearn accepts is accepted.

        Returns, per fold, whether its fit fails for every sphere (NaN in nilearn's
        scores, with scikit-learn's FitFailedWarning): a training fold of a single class
        that the estimator cannot fit; None when there is no sphere.
        """
        if len(spheres) == 0:
            return None
        kwargs = {} if isinstance(self.cv, KFold) else {"groups": groups}  # as nilearn passes groups
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # as nilearn
            scoring = scorer_object(scorers(self.scoring)[0])
            first = cross_val_score(estimator, X[:, spheres[0]], y, cv=folds, scoring=scoring, **kwargs)
        labels = np.asarray(y).ravel() if np.ndim(y) == 2 and np.shape(y)[1] == 1 else y
        single = np.array([np.unique(labels[train]).size < 2 for train, _ in folds])
        return np.isnan(first) & single if is_classifier(estimator) else None

    def _score(self, X, y, spheres, estimator, folds, groups):
        """{output name: scores (n_spheres, n_folds)} by the engine, in blocks of spheres
        across ``n_jobs``."""
        engine = resolve_engine(self.engine, self.estimator)
        if engine == "fast":
            if not isinstance(self.estimator, str) or self.estimator_args:
                raise ValueError(
                    "engine 'fast' takes an estimator name with its default settings, not "
                    f"estimator={self.estimator!r}, estimator_args={self.estimator_args!r}: use engine='exact'"
                )
            estimator = self.estimator
        blocks = self._parallel(
            delayed(score_outputs)(X, y, block, estimator, folds, engine=engine, scoring=self.scoring, groups=groups)
            for block in self._blocks(spheres)
        )
        return {name: np.concatenate([block[name] for block in blocks]) for name in blocks[0]}

    def _blocks(self, spheres):
        """The spheres in ``n_jobs`` contiguous blocks, as nilearn splits its seeds."""
        n_jobs = cpu_count() if self.n_jobs == -1 else self.n_jobs
        return [[spheres[i] for i in block] for block in np.array_split(np.arange(len(spheres)), n_jobs)]

    def _parallel(self, tasks):
        return Parallel(n_jobs=self.n_jobs, verbose=self.verbose)(tasks)


def _masked_samples(imgs, mask_img):
    """The samples (n_samples, mask voxels in C order) and the brain mask on the grid of
    the 4D ``imgs``, as nilearn's searchlight reads them: ``mask_img`` resampled to that
    grid (nearest neighbour), or every voxel when it is None."""
    if mask_img is None:
        data = get_data(imgs)
        if np.isnan(np.sum(data)):
            warnings.warn(
                "The imgs you have fed into fit_transform() contains NaN values which will be converted to zeroes.",
                stacklevel=3,
            )
            data = np.where(np.isfinite(data), data, 0)
        return data.reshape([-1, imgs.shape[3]]).T, np.ones(imgs.shape[:3], dtype=bool)
    mask_img = resample_img(mask_img, target_affine=imgs.affine, target_shape=imgs.shape[:3], interpolation="nearest")
    return apply_mask_fmri(imgs, mask_img), load_mask_img(mask_img)[0]


def _mean_decisions(X, estimator, spheres):
    """Per sphere (columns of ``X``, (samples, voxels)), the mean decision function of
    ``estimator`` fitted to nilearn's dummy target: (n_spheres,)."""
    n_samples = X.shape[0]
    dummy = np.array([0] * (n_samples // 2) + [1] * (n_samples // 2))[:n_samples]
    means = np.empty(len(spheres))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # as nilearn
        for i, sphere in enumerate(spheres):
            estimator.fit(X[:, sphere], dummy)
            means[i] = np.mean(estimator.decision_function(X[:, sphere]))
    return means
