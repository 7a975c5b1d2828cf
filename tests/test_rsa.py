"""snakelight.rsa against rsatoolbox 0.3.2 (one Dataset per sphere, as its searchlight builds
them), brute-force loops, scipy/numpy fits, and a planted geometry."""

import itertools

import numpy as np
import pytest
from rsatoolbox.data import Dataset
from rsatoolbox.data.noise import prec_from_residuals
from rsatoolbox.rdm import RDMs, calc_rdm
from rsatoolbox.rdm import compare as rsa_compare
from scipy.optimize import nnls

from snakelight import rsa
from snakelight.rsa import distances, measure, models, patterns


def dataset(seed, n_cond=5, n_runs=4, per_cell=(2, 3), n_voxels=40, offset=0.0):
    """Samples with a condition effect, unequal numbers per condition and run."""
    rng = np.random.default_rng(seed)
    effects = rng.normal(size=(n_cond, n_voxels))
    labels, runs, rows = [], [], []
    for run in range(n_runs):
        for c in range(n_cond):
            for _ in range(rng.integers(*per_cell, endpoint=True)):
                labels.append(f"c{c}")
                runs.append(run)
                rows.append(effects[c] + rng.normal(size=n_voxels) + offset)
    order = rng.permutation(len(rows))
    return np.array(rows)[order], np.array(labels)[order], np.array(runs)[order]


def random_spheres(seed, n_voxels, n_spheres=12, size=(6, 15)):
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(n_voxels, rng.integers(*size), replace=False)) for _ in range(n_spheres)]


DATASETS = [dict(seed=0), dict(seed=1, n_cond=8, n_runs=3, per_cell=(1, 1)), dict(seed=2, offset=50.0)]


def _reference(X, labels, runs, sphere, method, noise=None, dof=None):
    ds = Dataset(X[:, sphere], obs_descriptors={"cond": labels, "run": runs})
    if method != "crossnobis":
        return calc_rdm(ds, method=method, descriptor="cond").dissimilarities[0]
    precision = None
    if noise is not None:
        residuals = patterns.condition_patterns(X[:, sphere], labels, runs).residuals
        precision = prec_from_residuals(residuals, dof=dof, method=noise)
    return calc_rdm(ds, method="crossnobis", descriptor="cond", cv_descriptor="run", noise=precision).dissimilarities[0]


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize("method", ["correlation", "euclidean"])
def test_pattern_rdms_equal_rsatoolbox(data, method):
    X, labels, runs = dataset(**data)
    spheres = random_spheres(data["seed"], X.shape[1])
    ours = distances.rdms(patterns.condition_patterns(X, labels, runs), spheres, method)
    theirs = np.array([_reference(X, labels, runs, s, method) for s in spheres])
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("data", DATASETS)
@pytest.mark.parametrize(
    "noise, method", [("none", None), ("univariate", "diag"), ("shrinkage_diag", None), ("shrinkage_eye", None)]
)
def test_crossnobis_equals_rsatoolbox(data, noise, method):
    X, labels, runs = dataset(**data)
    spheres = random_spheres(data["seed"], X.shape[1])
    found = patterns.condition_patterns(X, labels, runs)
    if noise != "none" and found.dof == 0:
        with pytest.raises(ValueError, match="needs residuals"):
            distances.crossnobis_rdms(found, spheres, noise)
        return
    ours = distances.crossnobis_rdms(found, spheres, noise)
    theirs = np.array(
        [
            _reference(X, labels, runs, s, "crossnobis", None if noise == "none" else method or noise, found.dof)
            for s in spheres
        ]
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)


def test_crossnobis_equals_a_brute_force_loop():
    """Crossnobis from its definition: for every fold, (train_i - train_j) P (test_i - test_j)'."""
    X, labels, runs = dataset(3, n_cond=4, n_runs=5)
    sphere = np.arange(3, 17)
    found = patterns.condition_patterns(X, labels, runs)
    conds = np.unique(labels)
    precision = np.diag(1 / ((found.residuals[:, sphere] ** 2).sum(axis=0) / found.dof))
    expected = []
    for i, j in itertools.combinations(range(len(conds)), 2):
        total = 0.0
        for run in np.unique(runs):
            train, test = runs != run, runs == run

            def mean(cond, rows):
                return X[rows & (labels == conds[cond])][:, sphere].mean(axis=0)

            total += (mean(i, train) - mean(j, train)) @ precision @ (mean(i, test) - mean(j, test))
        expected.append(total / len(np.unique(runs)) / len(sphere))
    ours = distances.crossnobis_rdms(found, [sphere], "univariate")[0]
    np.testing.assert_allclose(ours, expected, rtol=1e-10)


def test_patterns_check_every_condition_in_every_run():
    X, labels, runs = dataset(0)
    keep = ~((labels == "c1") & (runs == 2))
    with pytest.raises(ValueError, match="'c1' has no sample in run 2"):
        patterns.condition_patterns(X[keep], labels[keep], runs[keep])


def test_condition_means_and_residuals():
    X, labels, runs = dataset(4)
    found = patterns.condition_patterns(X, labels, runs)
    for r, run in enumerate(found.runs):
        for c, cond in enumerate(found.conditions):
            rows = (runs == run) & (labels == cond)
            np.testing.assert_allclose(found.means[r, c], X[rows].mean(axis=0))
            np.testing.assert_allclose(found.residuals[rows], X[rows] - X[rows].mean(axis=0))
    np.testing.assert_allclose(found.condition_means()[1], X[labels == "c1"].mean(axis=0))


def _rdm_objects(vectors):
    return RDMs(np.atleast_2d(vectors))


@pytest.mark.parametrize("method", models.COMPARISONS)
def test_comparisons_equal_rsatoolbox(method):
    X, labels, runs = dataset(5, n_cond=6)
    spheres = random_spheres(5, X.shape[1], n_spheres=10)
    data = distances.rdms(patterns.condition_patterns(X, labels, runs), spheres, "correlation")
    conditions = np.unique(labels)
    model_vectors = np.stack(
        [
            models.model_from_groups({"a": conditions[:3], "b": conditions[3:]}, conditions),
            np.random.default_rng(0).random(len(data[0])),
        ]
    )
    ours = models.compare(data, model_vectors, method)
    theirs = rsa_compare(_rdm_objects(data), _rdm_objects(model_vectors), method)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_regressions_equal_numpy_and_scipy():
    rng = np.random.default_rng(6)
    model_vectors = rng.random((3, 28))
    data = rng.random((20, 3)) @ model_vectors * rng.choice([-1, 1], size=(20, 1)) + rng.normal(size=(20, 28))
    ols = models.regress(data, model_vectors, "ols")
    design = np.column_stack([np.ones(28), model_vectors.T])
    np.testing.assert_allclose(ols, [np.linalg.lstsq(design, y, rcond=None)[0][1:] for y in data], atol=1e-10)
    non_negative = models.regress(data, model_vectors, "nnls")
    np.testing.assert_allclose(non_negative, [nnls(model_vectors.T, y)[0] for y in data], atol=1e-9)
    assert (non_negative == 0).any() and (non_negative > 0).any()


def test_model_rdms_from_tsv_and_groups(tmp_path):
    conditions = np.array(["cat", "face", "house"])
    path = tmp_path / "model.tsv"
    path.write_text("\thouse\tcat\tface\nhouse\t0\t3\t2\ncat\t3\t0\t1\nface\t2\t1\t0\n")
    np.testing.assert_array_equal(models.model_from_tsv(path, conditions), [1, 3, 2])
    groups = {"animate": ["face", "cat"], "inanimate": ["house"]}
    np.testing.assert_array_equal(models.model_from_groups(groups, conditions), [0, 1, 1])
    with pytest.raises(ValueError, match=r"missing \['house'\]"):
        models.model_from_groups({"animate": ["face", "cat"]}, conditions)
    with pytest.raises(ValueError, match=r"lacks conditions \['shoe'\]"):
        models.model_from_tsv(path, np.array(["cat", "shoe"]))


def test_permutations_exhaustive_when_few():
    perms = models.condition_permutations(4, 100)
    assert len(perms) == 24 and len({tuple(p) for p in perms}) == 24
    np.testing.assert_array_equal(perms[0], np.arange(4))
    drawn = models.condition_permutations(8, 50, seed=3)
    assert drawn.shape == (50, 8)
    np.testing.assert_array_equal(models.condition_permutations(8, 20, seed=3), drawn[:20])
    np.testing.assert_array_equal(models.condition_permutations(8, 50, seed=3, block=(10, 30)), drawn[10:30])
    np.testing.assert_array_equal(models.condition_permutations(4, 100, block=(5, 12)), perms[5:12])


def test_null_fits_equal_fits_of_relabelled_models():
    X, labels, runs = dataset(7, n_cond=4)
    data = distances.rdms(patterns.condition_patterns(X, labels, runs), random_spheres(7, X.shape[1]))
    model = models.model_from_groups({"a": ["c0", "c1"], "b": ["c2", "c3"]}, np.unique(labels))
    perms = models.condition_permutations(4, 24)
    null = models.null_fits(data, model, "spearman", perms)
    for perm, fits in zip(perms, null):
        square = distances.square(model)[np.ix_(perm, perm)]
        relabelled = square[distances.pairs(4)]
        np.testing.assert_allclose(fits, models.compare(data, relabelled, "spearman")[:, 0], atol=1e-12)
    np.testing.assert_allclose(null[0], models.compare(data, model, "spearman")[:, 0], atol=1e-12)


def test_planted_geometry_recovered_in_its_region_only():
    from snakelight.rsa import synthetic

    planted = synthetic.planted_geometry(seed=1)
    spheres = synthetic.box_spheres(planted.mask, 2.0)
    # Each sphere's region: its centre's, 0 when it touches neither, -1 near a region.
    touches = np.array([planted.truth[s].max() > 0 for s in spheres])
    regions = np.where(touches & (planted.truth == 0), -1, planted.truth)
    for settings in (measure.RSASettings(), measure.RSASettings(method="crossnobis", noise="shrinkage_diag")):
        fits = measure.rsa_measure(planted.X, planted.labels, planted.runs, spheres, planted.models, settings)
        for region, model, other in ((1, "animacy", "shape"), (2, "shape", "animacy")):
            assert fits[model][regions == region].mean() > 0.6
            assert fits[model][regions == region].mean() > fits[other][regions == region].mean() + 0.3
            assert abs(fits[model][regions == 0].mean()) < 0.1


def test_measure_outputs_and_null():
    X, labels, runs = dataset(8, n_cond=4)
    spheres = random_spheres(8, X.shape[1])
    groups = {"halves": {"a": ["c0", "c1"], "b": ["c2", "c3"]}, "first": {"a": ["c0"], "b": ["c1", "c2", "c3"]}}
    settings = measure.RSASettings(method="euclidean", fit="corr", keep_rdms=True)
    outputs = measure.rsa_measure(X, labels, runs, spheres, groups, settings)
    assert set(outputs) == {"halves", "first", "rdms"}
    assert outputs["rdms"].shape == (len(spheres), 6)
    expected = rsa_compare(
        _rdm_objects(models.model_from_groups(groups["first"], np.unique(labels))),
        _rdm_objects(outputs["rdms"]),
        "corr",
    )[0]
    np.testing.assert_allclose(outputs["first"], expected, atol=1e-12)
    null = measure.rsa_null(X, labels, runs, spheres, groups, "first", 1000, settings=settings)
    assert null.fits.shape == (24, len(spheres))
    np.testing.assert_allclose(null.fits[0], outputs["first"], atol=1e-12)
    with pytest.raises(ValueError, match="model 'third' is not one of"):
        measure.rsa_null(X, labels, runs, spheres, groups, "third", 10)


def test_python_entry_equals_rsatoolbox_searchlight():
    from rsatoolbox.inference import eval_fixed
    from rsatoolbox.model import ModelFixed
    from rsatoolbox.util import searchlight as rsa_searchlight

    rng = np.random.default_rng(9)
    mask = np.zeros((7, 6, 5), dtype=bool)
    mask[1:6, 1:5, 1:4] = True
    mask[3, 2, 2] = False
    for radius, threshold, truncate in ((2, 0.5, False), (2.5, 0.3, True)):
        theirs_centers, theirs_neighbors = rsa_searchlight.get_volume_searchlight(mask, radius, threshold, truncate)
        centers, neighbors = rsa.get_volume_searchlight(mask, radius, threshold, truncate)
        np.testing.assert_array_equal(centers, theirs_centers)
        for ours, theirs in zip(neighbors, theirs_neighbors, strict=True):
            np.testing.assert_array_equal(ours, np.sort(theirs))
    centers, neighbors = rsa.get_volume_searchlight(mask, radius=2, threshold=0.5)
    theirs_centers, theirs_neighbors = rsa_searchlight.get_volume_searchlight(mask, radius=2, threshold=0.5)
    events = np.repeat(np.arange(5), 4)
    data_2d = rng.normal(size=(len(events), mask.size)) + events[:, None] * rng.normal(size=mask.size) * 0.3
    sl = rsa.get_searchlight_RDMs(data_2d, centers, neighbors, events, method="correlation")
    theirs_sl = rsa_searchlight.get_searchlight_RDMs(data_2d, theirs_centers, theirs_neighbors, events, verbose=False)
    np.testing.assert_allclose(sl.dissimilarities, theirs_sl.dissimilarities, rtol=1e-10, atol=1e-12)
    model = ModelFixed(
        "linear", distances.square(np.abs(np.subtract.outer(np.arange(5), np.arange(5)))[distances.pairs(5)])
    )
    ours_eval = rsa.evaluate_models_searchlight(sl, model, method="spearman")
    theirs_eval = rsa_searchlight.evaluate_models_searchlight(theirs_sl, model, eval_fixed, method="spearman")
    np.testing.assert_allclose(ours_eval[:, 0], [np.float64(e.evaluations.squeeze()) for e in theirs_eval], atol=1e-12)


def test_randomization_test_is_calibrated_without_geometry():
    """On noise alone, with all 5! relabellings of a tie-free model, p <= 0.05 in at most
    5% of data sets (Clopper-Pearson 95% interval containing 0.05 or below it)."""
    from scipy.stats import binomtest

    model = np.random.default_rng(0).random(10)
    n_datasets, positives = 300, 0
    for seed in range(n_datasets):
        X, labels, runs = dataset(100 + seed, n_cond=5, n_runs=3, per_cell=(2, 2), n_voxels=12)
        X = np.random.default_rng(seed).normal(size=X.shape)  # no condition effect
        spheres = [np.arange(12)]
        null = measure.rsa_null(X, labels, runs, spheres, {"m": model}, "m", 120)
        assert null.fits.shape == (120, 1)
        positives += np.mean(null.fits[:, 0] >= null.fits[0, 0]) <= 0.05
    interval = binomtest(int(positives), n_datasets).proportion_ci()
    assert interval.low <= 0.05
    assert positives > 0


def test_group_sign_flip_on_model_fits_is_calibrated_without_geometry():
    """Six subjects' Spearman fit maps of noise alone (no planted geometry), the group
    sign-flip test with all 2^6 patterns (chance 0): its voxel-FWE p <= 0.05 somewhere in at
    most 5% of studies (Clopper-Pearson 95% interval containing 0.05 or below it)."""
    from scipy.stats import binomtest

    from snakelight.inference.signflip import sign_flip_inference
    from snakelight.rsa.synthetic import box_spheres, planted_geometry

    n_studies, n_subjects, positives = 150, 6, 0
    for study in range(n_studies):
        fits = []
        for subject in range(n_subjects):
            data = planted_geometry(1000 * study + subject, shape=(6, 5, 4), n_runs=3, per_cell=1, amplitude=0.0)
            spheres = box_spheres(data.mask, 1.5)
            fits.append(measure.rsa_measure(data.X, data.labels, data.runs, spheres, data.models)["animacy"])
        result = sign_flip_inference(np.array(fits), data.mask, n_perm=64, threshold=None, tfce=False)
        assert result.exhaustive
        positives += result.maps["logp_max_t"].max() >= -np.log10(0.05)
    interval = binomtest(int(positives), n_studies).proportion_ci()
    assert interval.low <= 0.05
    assert positives > 0  # the test can reject: not a test that never fires


@pytest.fixture(scope="module")
def bids_condition_betas(tmp_path_factory):
    """Condition betas per run of the generated BIDS study with the planted geometry, and
    its GLMs' residuals (snakelight.data.glm)."""
    from snakelight.data import bids, glm, synthetic_bids

    root = tmp_path_factory.mktemp("bids_rsa")
    dataset = synthetic_bids.write_dataset(
        root / "ds", geometry="rsa", n_runs=3, trials_per_condition=2, shape=(8,) * 3
    )
    runs = bids.discover({"bids_dir": dataset.bids_dir}, root / "pybids")
    # Scrubbed volumes: the residuals and their dof count the kept volumes only.
    confounds = {"strategy": ["motion", "scrub"], "scrub": 0}
    series = glm.beta_series(runs, {"estimate": "condition", "confounds": confounds}, residuals=True)
    mask = np.asarray(series.mask_img.dataobj) > 0
    return series.samples_img.get_fdata()[mask].T, series.table, series.residuals


@pytest.mark.parametrize(
    "noise, method", [("univariate", "diag"), ("shrinkage_diag", "shrinkage_diag"), ("shrinkage_eye", "shrinkage_eye")]
)
def test_crossnobis_with_glm_residuals_equals_rsatoolbox(bids_condition_betas, noise, method):
    """One beta per condition and run leaves no residuals of its own: the GLMs' residuals
    are the noise, as rsatoolbox's prec_from_residuals takes them."""
    X, table, residuals = bids_condition_betas
    labels, runs = table["label"].to_numpy(), table["run"].to_numpy()
    assert residuals.residuals.shape == (3 * 98, X.shape[1])  # 100 volumes a run, 2 scrubbed
    spheres = random_spheres(3, X.shape[1], n_spheres=6)
    settings = measure.RSASettings(method="crossnobis", noise=noise)
    _, ours = measure.data_rdms(X, labels, runs, spheres, settings, residuals)
    noise_samples = residuals.residuals.astype(np.float64)
    theirs = []
    for sphere in spheres:
        ds = Dataset(X[:, sphere], obs_descriptors={"cond": labels, "run": runs})
        precision = prec_from_residuals(noise_samples[:, sphere], dof=residuals.dof, method=method)
        rdm = calc_rdm(ds, method="crossnobis", descriptor="cond", cv_descriptor="run", noise=precision)
        theirs.append(rdm.dissimilarities[0])
    np.testing.assert_allclose(ours, np.array(theirs), rtol=1e-9, atol=0)
    with pytest.raises(ValueError, match="needs residuals"):
        measure.data_rdms(X, labels, runs, spheres, settings)
    # The notebook entry and the randomization test's python entry take the same residuals.
    entry = rsa.get_searchlight_RDMs(
        X,
        np.arange(len(spheres)),
        spheres,
        labels,
        method="crossnobis",
        runs=runs,
        noise=noise,
        dof=residuals.dof,
        residuals=noise_samples,
    )
    np.testing.assert_allclose(entry.dissimilarities, np.array(theirs), rtol=1e-9, atol=0)
    model = {"halves": {"a": list(np.unique(labels)[:4]), "b": list(np.unique(labels)[4:])}}
    null = measure.rsa_null(X, labels, runs, spheres, model, "halves", 5, settings=settings, residuals=residuals)
    names, vectors = measure.model_vectors(model, np.unique(labels))
    expected = models.null_fits(ours, vectors, settings.fit, null.permutations, names.index("halves"))
    np.testing.assert_allclose(null.fits, expected, atol=1e-12)


def test_setup_compiles_the_kernels_a_chunk_job_calls():
    """``make setup``'s python -m snakelight.rsa.compile leaves every signature that
    a chunk job's RSA (samples float32, as masked_samples.npy; spheres from
    sphere_members) calls in numba's cache: a later process compiles nothing. (The cache
    is the repository's, which setup filled: the compile here only reads it.)"""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "snakelight.rsa.compile"], check=True)
    job = """
import numpy as np
from snakelight.rsa import distances, models
from snakelight.rsa.measure import RSASettings, rsa_measure
from snakelight.searchlight.spheres import process_seeds, sphere_members
mask = np.ones((4, 4, 3), dtype=np.uint8)
spheres = sphere_members(mask, np.eye(4), process_seeds(mask), 1.5)
X = np.random.default_rng(0).standard_normal((24, 48)).astype(np.float32)
labels, runs = np.tile(np.repeat(list("abcd"), 2), 3), np.repeat([1, 2, 3], 8)
model = {"m": {"x": ["a", "b"], "y": ["c", "d"]}}
for method, noise in [("correlation", "none"), ("euclidean", "none"), ("crossnobis", "shrinkage_diag"),
                      ("crossnobis", "shrinkage_eye")]:
    for fit in ("spearman", "tau-a"):
        rsa_measure(X, labels, runs, spheres, model, RSASettings(method=method, noise=noise, fit=fit))
kernels = [distances._pattern_rdms, distances._crossnobis_shrinkage, models._tau_a]
print(sum(sum(k.stats.cache_misses.values()) for k in kernels), sum(sum(k.stats.cache_hits.values()) for k in kernels))
"""
    found = subprocess.run([sys.executable, "-c", job], check=True, capture_output=True, text=True)
    misses, hits = map(int, found.stdout.split())
    assert (misses, hits) == (0, 3)
