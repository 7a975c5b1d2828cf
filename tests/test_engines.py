"""Each engine against its reference, sphere by sphere: the exact engine against
scikit-learn's cross_val_score (what nilearn runs), the fast estimators against their
scikit-learn counterparts, the fast svc against nilearn within the agreed tolerance."""

import importlib.util

import numpy as np
import pytest
from nilearn.masking import apply_mask_fmri
from sklearn.model_selection import KFold, LeaveOneGroupOut, cross_val_score
from sklearn.svm import LinearSVC

from snakelight.searchlight.cv import make_folds
from snakelight.searchlight.engines import _dual, _newton, _tron
from snakelight.searchlight.engines.exact import LiblinearFolds, score_spheres_exact
from snakelight.searchlight.engines.fast import FoldDesign, SquaredHingeSVCScorer
from snakelight.searchlight.scoring import make_estimator, score_spheres
from snakelight.searchlight.spheres import process_seeds, sphere_members

from .conftest import REPO

# liblinear's L1 solver runs out of iterations on raw BOLD values, in nilearn too.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def spheres_and_data(data):
    """Every sphere of the brain, the masked data, labels and runs."""
    mask = np.asarray(data["mask"].dataobj)
    spheres = sphere_members(mask, data["mask"].affine, process_seeds(mask), 5.6)
    return apply_mask_fmri(data["imgs"], data["mask"]), data["labels"], data["runs"], spheres


@pytest.fixture(scope="module")
def problem(face_house):
    return spheres_and_data(face_house)


def reference(X, y, spheres, estimator, folds, scoring=None):
    return np.array(
        [cross_val_score(make_estimator(estimator), X[:, s], y, cv=folds, scoring=scoring) for s in spheres]
    )


@pytest.mark.parametrize(
    ("estimator", "cv", "n_spheres"),
    [
        ("svc", KFold(4), None),
        ("svc", LeaveOneGroupOut(), None),
        ("svc_l1", KFold(4), 40),  # L1 liblinear runs to max_iter on raw BOLD: slow
    ],
)
def test_exact_liblinear_equals_cross_val_score(problem, estimator, cv, n_spheres):
    X, y, runs, spheres = problem
    spheres = spheres[:n_spheres]
    folds = make_folds(cv, X, y, runs)
    assert LiblinearFolds.supports(make_estimator(estimator), [None])
    scores = score_spheres(X, y, spheres, estimator, folds, engine="exact")
    assert np.array_equal(scores, reference(X, y, spheres, estimator, folds))
    assert np.unique(scores.mean(axis=1)).size > 5


@pytest.mark.parametrize(
    "settings",
    [
        {},  # nilearn's 'svc'
        {"class_weight": "balanced"},
        {"fit_intercept": False},
        {"intercept_scaling": 3.0, "C": 0.05, "tol": 1e-3},
    ],
)
@pytest.mark.parametrize("cv", [KFold(4), LeaveOneGroupOut()])
@pytest.mark.parametrize("grid", ["seed", "2 mm"])
def test_compiled_solver_equals_liblinear(seed_sized, settings, cv, grid):
    """The compiled solvers' coefficients are liblinear's, bit for bit, fold by fold: TRON
    on the seed's spheres, and at 2 mm 8 mm spheres (~250 voxels) wider than the folds'
    ~160-200 training samples, where LinearSVC's dual="auto" runs the dual solver; from
    float32 data (the workflow's) and, on the seed's spheres, float64."""
    X, y, runs, spheres = spheres_and_data(seed_sized)
    if grid == "2 mm":
        mask = np.asarray(seed_sized["mask"].dataobj)
        spheres = sphere_members(mask, np.diag([2.0, 2.0, 2.0, 1.0]), process_seeds(mask)[::8], 8.0)
        spheres = sorted(spheres, key=len)[::-16]  # 99-221 voxels: the dual runs to max_iter here, slowly
    folds = make_folds(cv, X, y, runs)
    estimator = make_estimator("svc").set_params(**settings)
    fits = LiblinearFolds(estimator, y, folds)
    n_coef = 1 if estimator.fit_intercept else 0
    n_dual = 0
    # The masked samples' float32, which the solvers keep (fits.data), and float64.
    assert X.dtype == np.float32 and fits.data(X).dtype == np.float32
    for X_solver in [fits.data(X), np.ascontiguousarray(X, dtype=np.float64)][: 2 if grid == "seed" else 1]:
        for sphere in spheres[::3] if grid == "seed" else spheres:
            dual = fits._compiled(sphere.size)
            assert dual is not None
            n_dual += dual.sum()
            coef = np.empty((len(folds), sphere.size + 1))
            _tron.sphere_scores(
                X_solver,
                sphere,
                fits.layout,
                fits.settings,
                dual,
                coef,
                np.empty(len(folds), dtype=bool),
                np.empty(fits.truth.size),
            )
            for f, fold in enumerate(fits.folds):
                raw_coef = fits._liblinear_coef(X[:, sphere].astype(np.float64), fold)  # float64, as LinearSVC.fit
                assert np.array_equal(coef[f, : sphere.size + n_coef], raw_coef[0])
    assert (n_dual > 0) == (grid == "2 mm")


def test_twister_is_scikit_learns():
    """The dual solver's sample order: scikit-learn's bounded_rand_int after set_seed."""
    from sklearn.svm import _newrand

    state = np.empty(625, dtype=np.int64)
    for seed in (0, 1, 209652396, 2**31 - 2):
        _newrand.set_seed_wrap(seed)
        _dual.seed_twister(state, seed)
        bounds = np.maximum(np.random.default_rng(seed).integers(1, 2**31 - 1, size=2000) >> np.arange(2000) % 31, 1)
        ours = [_dual.bounded_rand_int(state, int(bound)) for bound in bounds]
        assert ours == [_newrand.bounded_rand_int_wrap(int(bound)) for bound in bounds]


def test_exact_engine_scores_decisions_at_zero_as_numpy(monkeypatch):
    """A test sample whose decision is within rounding of zero is scored by numpy's
    product, as LinearSVC.decision_function computes it: here it is exactly zero."""
    rng = np.random.default_rng(0)
    y = np.repeat(["face", "house"], 20)
    X = rng.normal(size=(40, 6)) + (y == "house")[:, None]
    X[[3, 25]] = 0  # no intercept: a decision of exactly 0, predicted 'face'
    folds = list(KFold(4).split(X))
    estimator = LinearSVC(fit_intercept=False, random_state=0)
    ties = []
    numpy_score = LiblinearFolds._score
    monkeypatch.setattr(LiblinearFolds, "_score", lambda *args: ties.append(args) or numpy_score(*args))
    scores = score_spheres_exact(X, y, [np.arange(6)], estimator, folds)
    assert len(ties) == 2
    assert np.array_equal(scores[0], cross_val_score(estimator, X, y, cv=folds))


def test_exact_engine_keeps_float32_data_where_exact():
    """The solvers take float32 samples as they are only where liblinear's bias feature
    is a float32 too; every other case converts to float64."""
    X = np.random.default_rng(0).normal(size=(40, 6)).astype(np.float32)
    y = np.repeat(["face", "house"], 20)
    folds = list(KFold(4).split(X))

    def dtype(X, **settings):
        return LiblinearFolds(LinearSVC(random_state=0, **settings), y, folds).data(X).dtype

    assert dtype(X) == dtype(X, fit_intercept=False) == dtype(X, intercept_scaling=3.0) == np.float32
    assert dtype(X, intercept_scaling=0.1) == dtype(X.astype(np.float64)) == np.float64


def test_exact_engine_runs_other_scorers_through_scikit_learn(problem):
    X, y, runs, spheres = problem
    folds = make_folds(KFold(4), X, y, runs)
    assert not LiblinearFolds.supports(make_estimator("svc"), ["roc_auc"])
    scores = score_spheres(X, y, spheres[:20], "svc", folds, engine="exact", scoring="roc_auc")
    assert np.array_equal(scores, reference(X, y, spheres[:20], "svc", folds, "roc_auc"))


@pytest.mark.parametrize("cv", [KFold(4), LeaveOneGroupOut()])
@pytest.mark.parametrize("estimator", ["gnb", "lda"])
def test_fast_closed_forms_equal_scikit_learn(problem, estimator, cv):
    X, y, runs, spheres = problem
    folds = make_folds(cv, X, y, runs)
    scores = score_spheres(X, y, spheres, estimator, folds, engine="fast", n_threads=2)
    # The fast engine computes in float64; scikit-learn keeps float32 data in float32.
    assert np.array_equal(scores, reference(X.astype(np.float64), y, spheres, estimator, folds))
    assert np.unique(scores.mean(axis=1)).size > 5


@pytest.mark.parametrize("estimator", ["gnb", "lda"])
def test_fast_closed_forms_handle_three_classes(face_house, problem, estimator):
    X, _, runs, spheres = problem
    y = np.where(np.arange(len(runs)) % 3 == 0, "chair", face_house["labels"])
    folds = make_folds(KFold(4), X, y, runs)
    scores = score_spheres(X, y, spheres[:60], estimator, folds, engine="fast")
    assert np.array_equal(scores, reference(X.astype(np.float64), y, spheres[:60], estimator, folds))


def test_fast_svc_agrees_with_nilearn(seed_sized):
    """The acceptance bar, on the seed's 216 samples. (With few samples per feature
    liblinear stops far from the optimum and the two part more.)"""
    X, y, runs, spheres = spheres_and_data(seed_sized)
    folds = make_folds(KFold(4), X, y, runs)
    fast = score_spheres(X, y, spheres, "svc", folds, engine="fast").mean(axis=1)
    exact = reference(X, y, spheres, "svc", folds).mean(axis=1)
    assert np.mean(fast == exact) >= 0.95
    assert np.max(np.abs(fast - exact)) <= 0.02


@pytest.fixture(scope="module")
def two_mm(seed_sized):
    """The seed's 216 samples on a 2 mm grid (fMRIPrep's resolution): spheres of 6 and
    8 mm hold up to 123 and 257 voxels."""
    X, y, runs, _ = spheres_and_data(seed_sized)
    return X, y, runs, np.asarray(seed_sized["mask"].dataobj), np.diag([2.0, 2.0, 2.0, 1.0])


@pytest.mark.parametrize("radius", [4.0, 6.0, 8.0])
def test_engines_on_large_spheres(two_mm, radius):
    """At 2 mm the exact engine equals cross_val_score and the fast lda scikit-learn's.
    (The fast svc reaches the optimum that liblinear approaches: on these raw BOLD-like
    values, offset ~1,000, liblinear stops far from it; test_fast_svc_agrees_at_2mm.)"""
    X, y, runs, mask, affine = two_mm
    spheres = sphere_members(mask, affine, process_seeds(mask)[::20], radius)
    sizes = np.array([sphere.size for sphere in spheres])
    assert sizes.max() > {4.0: 32, 6.0: 100, 8.0: 200}[radius]
    folds = make_folds(KFold(4), X, y, runs)
    expected = reference(X, y, spheres, "svc", folds)
    assert np.array_equal(score_spheres(X, y, spheres, "svc", folds, engine="exact"), expected)
    lda = score_spheres(X, y, spheres, "lda", folds, engine="fast")
    assert np.array_equal(lda, reference(X.astype(np.float64), y, spheres, "lda", folds))


def test_fast_svc_agrees_at_2mm():
    """The acceptance bar at 2 mm, on benchmarks/scale.py's data (its small grid, 6 mm
    spheres of ~123 voxels): the fast svc's scores equal nilearn's (the exact engine's) on
    97 % of spheres at least (99 % of these; 96.9 % of benchmarks/scale.py's 96), by one
    test sample where they do not: liblinear stops at its tolerance, short of the optimum."""
    spec = importlib.util.spec_from_file_location("scale", REPO / "benchmarks" / "scale.py")
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    rng = np.random.default_rng(0)
    shape, affine = scale.grid(quick=True)
    mask = scale.brain_mask(shape, affine)
    y, _ = scale.labels(rng)
    X = scale.samples(mask, y, rng)
    seeds = np.argwhere(mask)
    spheres = sphere_members(mask, affine, seeds[scale.sample_centres(len(seeds), 200, rng)], 6.0)
    folds = list(KFold(4).split(X))
    fast = score_spheres(X, y, spheres, "svc", folds, engine="fast")
    exact = score_spheres(X, y, spheres, "svc", folds, engine="exact")
    assert np.median([sphere.size for sphere in spheres]) > 100
    assert np.mean(np.all(fast == exact, axis=1)) >= 0.97
    assert np.max(np.abs(fast - exact)) <= 1 / 54 + 1e-12  # one of a fold's 54 test samples


def test_fast_svc_reaches_the_optimum(problem):
    """At the solution the objective's gradient vanishes (it is differentiable)."""
    X, y, runs, spheres = problem
    _, codes = np.unique(y, return_inverse=True)
    folds = make_folds(KFold(4), X, y, runs)
    design = FoldDesign(codes, folds)
    model = SquaredHingeSVCScorer(X.astype(np.float64)[design.order], design)
    train = design.folds[0][0]
    sign = model.sign[train]
    for sphere in spheres[:50]:
        x = np.ones((train.size, sphere.size + 1))
        x[:, :-1] = model.rows[sphere][:, train].T
        w, converged = _newton.newton(x, sign, x.T @ x, x.T @ sign, 1.0, model.tie, model.max_iter)
        assert converged
        residual = np.maximum(1 - (x @ w) * sign, 0)
        gradient = w - 2 * (residual * sign) @ x
        assert np.max(np.abs(gradient) / (1 + np.abs(w))) < 1e-6


def test_batches_do_not_change_scores(problem, monkeypatch):
    """Padding and batch boundaries are invisible: tiny batches give the same scores."""
    X, y, runs, spheres = problem
    folds = make_folds(KFold(4), X, y, runs)
    whole = {e: score_spheres(X, y, spheres, e, folds, engine="fast") for e in ("gnb", "lda", "svc")}
    monkeypatch.setattr("snakelight.searchlight.engines.fast.BATCH_BYTES", 1)
    for estimator, scores in whole.items():
        assert np.array_equal(score_spheres(X, y, spheres, estimator, folds, engine="fast"), scores)


def test_fast_engine_scores_on_one_blas_thread(problem, monkeypatch):
    """Every loaded BLAS (numpy's, and scipy's that the compiled lda's LAPACK calls) runs one
    thread while the fast engine scores, and has its threads back afterwards."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from snakelight.searchlight.engines import fast

    X, y, runs, spheres = problem
    folds = make_folds(KFold(4), X, y, runs)

    def blas_threads():
        return {info["filepath"]: info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}

    seen = []
    for scorer in (fast.ShrinkageLDAScorer, fast.SquaredHingeSVCScorer):

        def predictions(self, index, original=scorer.predictions):
            seen.append(blas_threads())
            return original(self, index)

        monkeypatch.setattr(scorer, "predictions", predictions)

    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        if max(before.values()) < 2:
            pytest.skip("this machine's BLAS runs one thread anyway")
        for estimator in ("lda", "svc"):
            score_spheres(X, y, spheres[:20], estimator, folds, engine="fast")
        after = blas_threads()
    assert len(seen) >= 2 and all(threads == {path: 1 for path in before} for threads in seen)
    assert after == before


def test_progress_reaches_the_total(problem):
    X, y, runs, spheres = problem
    folds = make_folds(KFold(4), X, y, runs)
    for engine in ("exact", "fast"):
        calls = []
        score_spheres(
            X,
            y,
            spheres[:30],
            "svc",
            folds,
            engine=engine,
            progress=lambda done, total: calls.append((done, total)),  # noqa: B023 (called before the next loop)
        )
        assert calls[-1] == (30, 30)
        assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_fast_engine_refuses_what_it_cannot_do(problem):
    X, y, runs, spheres = problem
    folds = make_folds(KFold(4), X, y, runs)
    with pytest.raises(ValueError, match="engine 'fast' has no estimator 'logistic'"):
        score_spheres(X, y, spheres, "logistic", folds, engine="fast")
    with pytest.raises(ValueError, match="accuracy and balanced_accuracy only"):
        score_spheres(X, y, spheres, "gnb", folds, engine="fast", scoring="roc_auc")


@pytest.mark.parametrize("name", ["svc", "svc_l2", "svc_l1"])
def test_linear_svc_estimators_are_nilearns(name):
    """make_estimator builds nilearn's LinearSVC estimators without nilearn: the same ones."""
    from nilearn.decoding._utils import validate_estimator

    ours, nilearns = make_estimator(name), validate_estimator(name, owning_class_type="classifier")
    assert type(ours) is type(nilearns)
    assert ours.get_params() == nilearns.get_params()


def test_coord_transform_is_nilearns_to_the_bit():
    from nilearn.image import coord_transform as nilearn_coord_transform

    from snakelight.searchlight.spheres import coord_transform

    rng = np.random.default_rng(0)
    affine = np.eye(4)
    affine[:3] = rng.normal(size=(3, 4)) * 3.7
    ijk = rng.integers(0, 64, size=(3, 500))
    world = np.asarray(nilearn_coord_transform(*ijk, affine))
    assert np.array_equal(coord_transform(*ijk, affine), world)
    back = np.linalg.inv(affine)
    assert np.array_equal(coord_transform(*world, back), np.asarray(nilearn_coord_transform(*world, back)))
