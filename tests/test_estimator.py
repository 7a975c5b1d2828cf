"""snakelight.SearchLight is nilearn's SearchLight: the same scores_ (np.array_equal with
nilearn's own run on the same arguments), attributes, transform and errors, and a
scikit-learn estimator (clone)."""

import copy
import re
import warnings

import nibabel as nib
import numpy as np
import pytest
from nilearn import decoding
from nilearn.decoding._utils import SUPPORTED_ESTIMATORS
from nilearn.image import iter_img
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut, StratifiedKFold
from sklearn.svm import LinearSVC

import snakelight

RADIUS = 5.6


def stable_id(value):
    """A parameter's repr without memory addresses: pytest-xdist's workers must name the
    tests alike."""
    return re.sub(r" at 0x[0-9a-f]+", "", repr(value))


def every_nth_voxel(mask_img, n):
    """A process mask: every n-th brain voxel (C order), from the whole volume."""
    mask = np.asarray(mask_img.dataobj) != 0
    keep = np.zeros_like(mask)
    keep[mask] = np.arange(mask.sum()) % n == 0
    return nib.Nifti1Image(keep.astype(np.uint8), mask_img.affine)


@pytest.fixture(scope="module")
def data(face_house):
    """face_house with two process masks: ~22 seeds, and 4 for the slow estimators."""
    return {
        **face_house,
        "process": every_nth_voxel(face_house["mask"], 25),
        "few": every_nth_voxel(face_house["mask"], 150),
        "target": (face_house["labels"] == "face") + np.arange(len(face_house["labels"])) / 100,
    }


@pytest.fixture(autouse=True)
def nilearn_defaults():
    """nilearn 0.14.1's SearchLight writes estimator_args into its estimators' defaults
    (nilearn.decoding._utils.SUPPORTED_ESTIMATORS), for the rest of the process: put
    back after each test, so that nilearn's runs here start from its own defaults."""
    saved = copy.deepcopy(SUPPORTED_ESTIMATORS)
    yield
    for kind, configs in saved.items():
        for name, config in configs.items():
            SUPPORTED_ESTIMATORS[kind][name]["extra_params"] = config["extra_params"]


def fit_both(data, imgs=None, y=None, groups=None, process="process", **params):
    """nilearn's and snakelight's SearchLight fitted on the same arguments."""
    params = {"mask_img": data["mask"], "process_mask_img": data[process], "radius": RADIUS, **params}
    imgs = data["imgs"] if imgs is None else imgs
    y = data["labels"] if y is None else y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # nilearn's "Use a custom estimator ..."
        return [cls(**params).fit(imgs, y, groups=groups) for cls in (decoding.SearchLight, snakelight.SearchLight)]


def balanced_accuracy(estimator, X, y):
    return balanced_accuracy_score(y, estimator.predict(X))


@pytest.mark.parametrize(
    "params",
    [
        {"cv": KFold(4)},  # the seed's: compiled liblinear
        {"estimator": "svc_l2", "cv": 3},
        {"estimator": "svc_l1", "process": "few"},  # liblinear itself
        {"estimator": "ridge_classifier", "cv": StratifiedKFold(4)},  # cross_val_score
        {"estimator": "dummy_classifier"},
        {"estimator": "logistic", "process": "few", "cv": 3},
        {"cv": None},
        {"estimator": LinearSVC(C=0.1, random_state=0)},  # objects: compiled ...
        {"estimator": LinearSVC(C=0.1)},  # ... or not (a random_state to draw)
        {"estimator": RidgeClassifier(alpha=10.0)},
        {"estimator": "svc", "estimator_args": {"C": 0.01}},
        {"scoring": balanced_accuracy},  # a custom scorer callable
        {"scoring": "roc_auc"},
        {"n_jobs": 2, "process": "few"},  # loky's workers take seconds to start
    ],
    ids=stable_id,
)
def test_classifiers_score_as_nilearn(data, params):
    theirs, ours = fit_both(data, **params)
    assert np.array_equal(ours.scores_, theirs.scores_)
    assert ours.scores_[ours.process_mask_].std() > 0  # the data separate some spheres


@pytest.mark.parametrize(
    "params",
    [{"estimator": "ridge"}, {"estimator": "svr", "process": "few"}, {"estimator": "dummy_regressor"}],
    ids=stable_id,
)
def test_regressors_score_as_nilearn(data, params):
    theirs, ours = fit_both(data, y=data["target"], **params)
    assert np.array_equal(ours.scores_, theirs.scores_)


def test_estimator_args_do_not_outlive_the_fit(data):
    """Unlike nilearn's: a later SearchLight gets nilearn's default estimator."""
    params = {"mask_img": data["mask"], "process_mask_img": data["few"], "radius": RADIUS}
    defaults = copy.deepcopy(SUPPORTED_ESTIMATORS)
    snakelight.SearchLight(estimator_args={"C": 0.01}, **params).fit(data["imgs"], data["labels"])
    assert SUPPORTED_ESTIMATORS == defaults
    _, ours = fit_both(data, process="few")  # nilearn's run here comes first, with its defaults
    plain = snakelight.SearchLight(**params).fit(data["imgs"], data["labels"])
    assert np.array_equal(plain.scores_, ours.scores_)


def test_lasso_scores_as_nilearn(data):
    theirs, ours = fit_both(data, y=data["target"], estimator="lasso", process="few", scoring="r2")
    assert np.array_equal(ours.scores_, theirs.scores_)


@pytest.mark.parametrize("cv", [LeaveOneGroupOut(), GroupKFold(3), 4])
def test_groups_are_passed_as_nilearn_passes_them(data, cv):
    theirs, ours = fit_both(data, groups=data["runs"], cv=cv)
    assert np.array_equal(ours.scores_, theirs.scores_)


def test_inputs_a_list_of_3d_images_or_a_path(data, tmp_path):
    path = tmp_path / "samples.nii.gz"
    data["imgs"].to_filename(path)
    paths = []
    for i, img in enumerate(iter_img(data["imgs"])):
        paths.append(tmp_path / f"{i}.nii.gz")
        img.to_filename(paths[-1])
    reference, _ = fit_both(data, cv=KFold(4))
    for imgs in (list(iter_img(data["imgs"])), str(path), [str(p) for p in paths]):
        theirs, ours = fit_both(data, imgs=imgs, cv=KFold(4))
        assert np.array_equal(theirs.scores_, reference.scores_)
        assert np.array_equal(ours.scores_, theirs.scores_)


def test_attributes_are_nilearns(data):
    theirs, ours = fit_both(data, cv=KFold(4))
    assert isinstance(ours, decoding.SearchLight)
    assert np.array_equal(ours.masked_scores_, theirs.masked_scores_)
    assert np.array_equal(ours.process_mask_, theirs.process_mask_)
    assert ours.n_elements_ == theirs.n_elements_ == ours.process_mask_.sum()
    assert np.array_equal(ours.mask_img_.get_fdata(), theirs.mask_img_.get_fdata())
    assert np.array_equal(ours.scores_img_.get_fdata(), theirs.scores_img_.get_fdata())
    assert np.array_equal(ours.scores_img_.affine, theirs.scores_img_.affine)


def test_fold_scores_are_the_folds_whose_mean_is_scores(data):
    _, ours = fit_both(data, cv=KFold(4))
    assert ours.fold_scores_.shape == (*ours.process_mask_.shape, 4)
    assert np.array_equal(ours.fold_scores_.mean(axis=-1), ours.scores_)
    # One fold's map is that fold's accuracy: checked by hand on one sphere.
    seed = tuple(np.argwhere(ours.process_mask_)[3])
    single = snakelight.SearchLight(data["mask"], radius=RADIUS, cv=[next(KFold(4).split(data["labels"]))])
    single.process_mask_img = nib.Nifti1Image(
        np.isin(np.arange(ours.process_mask_.size), np.ravel_multi_index(seed, ours.process_mask_.shape))
        .reshape(ours.process_mask_.shape)
        .astype(np.uint8),
        data["mask"].affine,
    )
    single.fit(data["imgs"], data["labels"])
    assert single.fold_scores_[seed][0] == ours.fold_scores_[seed][0]


def test_transform_and_fit_transform_are_nilearns(data):
    theirs, ours = fit_both(data, cv=KFold(4))
    assert np.array_equal(ours.transform(data["imgs"]), theirs.transform(data["imgs"]))
    params = {"mask_img": data["mask"], "process_mask_img": data["process"], "radius": RADIUS}
    expected = decoding.SearchLight(**params).fit_transform(data["imgs"], data["labels"])
    assert np.array_equal(snakelight.SearchLight(**params).fit_transform(data["imgs"], data["labels"]), expected)


def test_masks_on_another_grid_are_resampled_as_nilearn_does(data):
    mask = np.asarray(data["mask"].dataobj)
    smaller = nib.Nifti1Image(mask[1:-1, 1:-1, 1:-1], data["mask"].affine @ _shift(1))
    theirs, ours = fit_both(data, mask_img=smaller, process_mask_img=every_nth_voxel(smaller, 25))
    assert ours.scores_.shape == smaller.shape
    assert np.array_equal(ours.scores_, theirs.scores_)


def _shift(voxels):
    shift = np.eye(4)
    shift[:3, 3] = voxels
    return shift


class _SelfScoring(BaseEstimator):
    """nilearn's protocol for an estimator that validates itself (no cross-validation)."""

    nilearn_searchlight_uses_cv = False

    def fit(self, X, y, groups=None):
        self.score_ = X.shape[1] + (0.5 if groups is not None else 0.0)
        return self

    def score(self, X, y=None, groups=None):
        return self.score_


def test_an_estimator_that_scores_itself_is_fitted_as_nilearn_fits_it(data):
    theirs, ours = fit_both(data, estimator=_SelfScoring(), groups=data["runs"])
    assert np.array_equal(ours.scores_, theirs.scores_)
    assert ours.fold_scores_.shape[-1] == 1


def test_the_fast_engine_when_asked(data):
    theirs, _ = fit_both(data, cv=KFold(4))
    ours = snakelight.SearchLight(data["mask"], data["process"], radius=RADIUS, cv=KFold(4), engine="fast")
    ours.fit(data["imgs"], data["labels"])
    seeds = ours.process_mask_
    # The fast engine's SVC solves to a tolerance of its own: close to liblinear's, not equal.
    assert np.mean(ours.scores_[seeds] == theirs.scores_[seeds]) > 0.5
    assert np.max(np.abs(ours.scores_ - theirs.scores_)) <= 0.1
    exact = snakelight.SearchLight(data["mask"], data["process"], radius=RADIUS, estimator="gnb", engine="exact")
    fast = clone(exact).set_params(engine="auto")
    fast.fit(data["imgs"], data["labels"])
    exact.fit(data["imgs"].__class__(data["imgs"].get_fdata(), data["imgs"].affine), data["labels"])
    assert np.array_equal(fast.scores_, exact.scores_)  # float64 data: GaussianNB's own scores


def test_clone_round_trip():
    searchlight = snakelight.SearchLight(radius=4.0, estimator="svc_l1", cv=KFold(3), n_jobs=2, engine="fast")
    copy = clone(searchlight)
    assert type(copy) is snakelight.SearchLight
    params = copy.get_params()
    assert params["engine"] == "fast" and params["radius"] == 4.0 and params["estimator"] == "svc_l1"
    assert set(params) == set(decoding.SearchLight().get_params()) | {"engine"}
    assert copy.set_params(engine="exact").engine == "exact"
    with pytest.raises(TypeError):
        snakelight.SearchLight(None, None, 2.0, "svc", 1, None, None, 0, 0, None, "fast")  # engine is keyword-only


class _NotAnEstimator:
    def fit(self, X, y):
        return self


@pytest.mark.parametrize(
    "params, fit, error, message",
    [
        ({"mask_img": 1}, {}, TypeError, "input should be a NiftiLike object"),
        ({"mask_img": None, "process_mask_img": None}, {}, TypeError, "should be a 3D/4D Niimg-like object"),
        ({"estimator": _NotAnEstimator()}, {}, TypeError, "must derive from sklearn.base.BaseEstimator"),
        ({"cv": LeaveOneGroupOut()}, {}, ValueError, "The 'groups' parameter should not be None"),
        ({}, {"y": np.arange(10)}, ValueError, "inconsistent numbers of samples"),
        ({}, {"y": None}, TypeError, "at least 1 dimension"),
        ({"n_jobs": "2"}, {}, TypeError, "'n_jobs' must be of type"),
        ({"scoring": "no such scorer"}, {}, ValueError, "'scoring' parameter of cross_val_score"),
        ({"process_mask_img": "far"}, {}, ValueError, "spheres"),
    ],
    ids=stable_id,
)
def test_misuse_raises_as_nilearn(data, params, fit, error, message):
    if params.get("process_mask_img") == "far":  # a seed 500 mm from the brain: an empty sphere
        params = {"process_mask_img": nib.Nifti1Image(data["few"].get_fdata(), data["mask"].affine @ _shift(150))}
    for cls in (decoding.SearchLight, snakelight.SearchLight):
        searchlight = cls(**{"mask_img": data["mask"], "process_mask_img": data["few"], "radius": RADIUS, **params})
        with pytest.raises(error, match=message):
            searchlight.fit(data["imgs"], fit.get("y", data["labels"]) if fit else data["labels"])


def test_misuse_nilearn_reports_obscurely_is_said_plainly(data):
    params = {"mask_img": data["mask"], "process_mask_img": data["few"], "radius": RADIUS}
    for estimator, error, theirs, ours in (
        (
            LinearSVC,
            TypeError,
            "missing 1 required positional argument",
            r"must be an \*instance\*, got class LinearSVC",
        ),
        ("svm", KeyError, "''", "no estimator 'svm': use one of nilearn's names"),
    ):
        with pytest.raises(error, match=theirs):
            decoding.SearchLight(estimator=estimator, **params).fit(data["imgs"], data["labels"])
        with pytest.raises(error, match=ours):
            snakelight.SearchLight(estimator=estimator, **params).fit(data["imgs"], data["labels"])
    with pytest.raises(ValueError, match="engine must be one of auto, exact, fast"):
        snakelight.SearchLight(engine="faster", **params).fit(data["imgs"], data["labels"])
    with pytest.raises(ValueError, match="engine 'fast' takes an estimator name"):
        snakelight.SearchLight(engine="fast", estimator_args={"C": 2}, **params).fit(data["imgs"], data["labels"])
    with pytest.raises(NotFittedError):
        snakelight.SearchLight(**params).transform(data["imgs"])


def _misuse(data, case):
    """(fit arguments, constructor parameters) of one misuse of SearchLight.fit."""
    y, n = data["labels"], len(data["labels"])
    imgs, groups, params = data["imgs"], None, {}
    if case == "continuous y, a classifier":
        y = np.random.default_rng(0).normal(size=n)
    elif case == "y of shape (n, 1)":
        y = y.reshape(-1, 1)
    elif case == "y of shape (n, 1), KFold":
        y, params = y.reshape(-1, 1), {"cv": KFold(4)}
    elif case == "y of shape (n, 2)":
        y = np.stack([y, y], axis=1)
    elif case == "y one sample short":
        y = y[:-1]
    elif case == "empty y":
        y = np.array([])
    elif case == "a single class":
        y = np.full(n, "face")
    elif case == "a training fold of a single class":
        y, params = np.array(["a"] * (n // 3) + ["b"] * (n - n // 3)), {"cv": KFold(3)}
    elif case == "integer labels":
        y = (y == "face").astype(int)
    elif case == "boolean labels, a list":
        y = list(y == "face")
    elif case == "NaN in y":
        y = (y == "face").astype(float)
        y[3] = np.nan
    elif case == "groups of the wrong length":
        groups = data["runs"][:-2]
    elif case == "groups of the wrong length, KFold":  # nilearn passes KFold no groups
        groups, params = data["runs"][:-2], {"cv": KFold(3)}
    elif case == "a 3D image":
        imgs = nib.Nifti1Image(imgs.get_fdata()[..., 0], imgs.affine)
    elif case == "a mask on another grid, far from the seeds":
        params = {"mask_img": nib.Nifti1Image(np.ones((5, 5, 5), np.uint8), np.eye(4))}
    elif case == "conditions, a regressor":
        params = {"estimator": "ridge"}
    elif case == "continuous y of shape (n, 1), a regressor":
        y, params = np.random.default_rng(0).normal(size=(n, 1)), {"estimator": "ridge"}
    return {"imgs": imgs, "y": y, "groups": groups}, params


@pytest.mark.parametrize(
    ("case", "ours"),
    [
        ("continuous y, a classifier", None),
        ("y of shape (n, 1)", None),
        ("y of shape (n, 1), KFold", None),
        ("y of shape (n, 2)", None),
        ("y one sample short", None),
        ("empty y", None),
        ("a single class", None),
        ("a training fold of a single class", None),
        ("integer labels", None),
        ("boolean labels, a list", None),
        ("NaN in y", None),
        ("groups of the wrong length", None),
        ("groups of the wrong length, KFold", None),
        ("a 3D image", None),
        # nilearn: "These spheres are empty: [0 1 2 3]"
        ("a mask on another grid, far from the seeds", "4 searchlight spheres contain no brain-mask voxel"),
        ("conditions, a regressor", None),
        ("continuous y of shape (n, 1), a regressor", None),
    ],
)
def test_misuse_raises_nilearns_error_or_gives_nilearns_result(data, case, ours):
    """Each misuse run through nilearn's SearchLight and ours: the same exception type and
    message (``ours``: the clearer message said instead), or the same scores_ and warnings
    where nilearn accepts it."""
    fit, params = _misuse(data, case)
    results = []
    for cls in (decoding.SearchLight, snakelight.SearchLight):
        searchlight = cls(**{"mask_img": data["mask"], "process_mask_img": data["few"], "radius": RADIUS, **params})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = searchlight.fit(**fit).scores_
            except Exception as error:  # noqa: BLE001 -- nilearn's own exception is the reference
                result = error
        results.append((result, {(type(w.message), _gist(w.message)) for w in caught}))
    (theirs, their_warnings), (mine, my_warnings) = results
    if isinstance(theirs, Exception):
        assert type(mine) is type(theirs), mine
        assert _gist(mine).startswith(ours or _gist(theirs)), (_gist(mine), _gist(theirs))
    else:
        assert np.array_equal(mine, theirs, equal_nan=True)
        assert my_warnings == their_warnings


def _gist(message):
    """The first line of an exception's or a warning's message that says something."""
    return next((line for line in str(message).splitlines() if line.strip()), "")
