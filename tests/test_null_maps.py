"""Null maps (score_spheres_permuted): the exact engine against nilearn's SearchLight on the
permuted labels, the batched fast estimators against the fast engine on the permuted labels,
and the same null maps however the permutations are split into blocks."""

import importlib.util
import re

import nibabel as nib
import numpy as np
import pytest
from nilearn.decoding import SearchLight
from nilearn.masking import apply_mask_fmri
from sklearn.model_selection import KFold, LeaveOneGroupOut

from snakelight.inference.permutations import exchangeability, permutation_block
from snakelight.searchlight.cv import make_folds
from snakelight.searchlight.engines import fast
from snakelight.searchlight.scoring import score_spheres, score_spheres_permuted
from snakelight.searchlight.spheres import process_seeds, sphere_members

from .conftest import REPO, TINY

RADIUS = 5.6
SEED = 7


def shuffled(labels, runs, ks):
    """Permutations ``ks`` of single samples within runs: the engines do not care what moved."""
    return permutation_block(exchangeability(labels, runs, np.arange(labels.size), "samples"), SEED, ks)


def every_nth_voxel(mask_img, n):
    """A process mask of every n-th brain voxel."""
    mask = np.asarray(mask_img.dataobj) != 0
    keep = np.zeros(mask.sum(), dtype=bool)
    keep[::n] = True
    process = np.zeros(mask.shape, dtype=np.uint8)
    process[mask] = keep
    return nib.Nifti1Image(process, mask_img.affine)


@pytest.fixture(scope="module")
def problem(seed_sized):
    """The seed-sized data (216 samples, 12 runs): masked samples, labels, runs, every sphere."""
    mask_img = seed_sized["mask"]
    mask = np.asarray(mask_img.dataobj)
    spheres = sphere_members(mask, mask_img.affine, process_seeds(mask), RADIUS)
    X = apply_mask_fmri(seed_sized["imgs"], mask_img)
    return X, seed_sized["labels"], seed_sized["runs"], spheres


@pytest.mark.parametrize("cv", [KFold(4), KFold(5), LeaveOneGroupOut()], ids=["kfold4", "kfold5", "logo"])
def test_exact_null_maps_equal_nilearn_on_permuted_labels(seed_sized, cv):
    labels, runs = seed_sized["labels"], seed_sized["runs"]
    process_img = every_nth_voxel(seed_sized["mask"], 12)
    seeds = process_seeds(np.asarray(process_img.dataobj))
    spheres = sphere_members(
        np.asarray(seed_sized["mask"].dataobj), seed_sized["mask"].affine, seeds, RADIUS, seed_affine=process_img.affine
    )
    X = apply_mask_fmri(seed_sized["imgs"], seed_sized["mask"])
    ks = [1, 2, 5]
    permuted = shuffled(labels, runs, ks)
    null = score_spheres_permuted(X, permuted, spheres, "svc", make_folds(cv, X, labels, runs), engine="exact")
    assert null.shape == (len(ks), len(spheres), cv.get_n_splits(X, labels, runs))
    for column in range(len(ks)):
        searchlight = SearchLight(seed_sized["mask"], process_mask_img=process_img, radius=RADIUS, cv=cv)
        reference = searchlight.fit(seed_sized["imgs"], permuted[:, column], groups=runs).scores_
        assert np.array_equal(null[column].mean(axis=1), reference[tuple(seeds.T)])
    # The permutations matter: the null maps differ from each other.
    assert not np.array_equal(null[0], null[1])


def test_exact_null_map_builds_each_permutations_folds(problem):
    """Where KFold's folds cut across runs (5 folds of 12 runs), a permutation changes the
    class counts of the training folds: each null map is the real-label scorer run on its
    own labels (KFold(4) folds hold 3 whole runs each, so there they do not change)."""
    X, labels, runs, spheres = problem
    folds = make_folds(KFold(5), X, labels, runs)
    permuted = shuffled(labels, runs, [3, 4])
    counts = [[np.sum(column[train] == "face") for train, _ in folds] for column in permuted.T]
    assert counts[0] != counts[1]
    null = score_spheres_permuted(X, permuted, spheres[:30], "svc", folds, engine="exact")
    for column in range(2):
        assert np.array_equal(null[column], score_spheres(X, permuted[:, column], spheres[:30], "svc", folds))


@pytest.mark.parametrize("cv", [KFold(4), LeaveOneGroupOut()], ids=["kfold", "logo"])
@pytest.mark.parametrize("estimator", ["gnb", "lda", "svc"])
def test_fast_null_maps_equal_fast_engine_on_permuted_labels(problem, estimator, cv):
    X, labels, runs, spheres = problem
    spheres = spheres[::3]
    folds = make_folds(cv, X, labels, runs)
    permuted = shuffled(labels, runs, range(1, 7))
    null = score_spheres_permuted(X, permuted, spheres, estimator, folds, engine="fast", n_threads=2)
    for column in range(permuted.shape[1]):
        reference = score_spheres(X, permuted[:, column], spheres, estimator, folds, engine="fast")
        assert np.array_equal(null[column], reference)
    assert np.unique(null.mean(axis=2)).size > 5


@pytest.mark.parametrize("cv", [KFold(4), KFold(5), LeaveOneGroupOut()], ids=["kfold4", "kfold5", "logo"])
def test_fast_lda_null_maps_equal_fast_engine_on_every_sphere(problem, cv):
    """The batched lda computes each permutation's statistics differently (products of
    class indicators with per-sample features, permutations as the innermost axis) from
    ShrinkageLDAScorer (per-group scatter matrices, a sphere at a time): every sphere of the brain, edges (smaller
    spheres) included, over 20 permutations split into passes, gives the same accuracies."""
    X, labels, runs, spheres = problem
    folds = make_folds(cv, X, labels, runs)
    permuted = shuffled(labels, runs, range(1, 21))
    null = score_spheres_permuted(X, permuted, spheres, "lda", folds, engine="fast")
    for column in range(permuted.shape[1]):
        assert np.array_equal(null[column], score_spheres(X, permuted[:, column], spheres, "lda", folds, engine="fast"))
    assert len({len(sphere) for sphere in spheres}) > 3


def test_fast_lda_null_maps_of_large_spheres_equal_scikit_learns(problem, seed_sized):
    """On a 2 mm grid (spheres of 6 mm: up to 123 voxels) the lda scores spheres of more
    than fast.PERMUTED_MAX_VOXELS voxels one permutation at a time, the rest batched: the
    null maps equal scikit-learn's LinearDiscriminantAnalysis (the exact engine) on the
    permuted labels, sphere by sphere, whichever way each sphere went."""
    X, labels, runs, _ = problem
    mask = np.asarray(seed_sized["mask"].dataobj)
    spheres = sphere_members(mask, np.diag([2.0, 2.0, 2.0, 1.0]), process_seeds(mask)[::25], 6.0)
    sizes = np.array([len(sphere) for sphere in spheres])
    assert (sizes > fast.PERMUTED_MAX_VOXELS["lda"]).sum() > 5 and (sizes <= fast.PERMUTED_MAX_VOXELS["lda"]).sum() > 5
    folds = make_folds(KFold(4), X, labels, runs)
    permuted = shuffled(labels, runs, [1, 2])
    null = score_spheres_permuted(X, permuted, spheres, "lda", folds, engine="fast")
    for column in range(permuted.shape[1]):
        reference = score_spheres(X.astype(np.float64), permuted[:, column], spheres, "lda", folds, engine="exact")
        assert np.array_equal(null[column], reference)


@pytest.mark.parametrize("estimator", ["gnb", "lda"])
def test_fast_null_maps_handle_three_classes(problem, estimator):
    X, labels, runs, spheres = problem
    labels = np.where(np.arange(labels.size) % 3 == 0, "chair", labels)
    folds = make_folds(KFold(4), X, labels, runs)
    permuted = shuffled(labels, runs, [1, 2, 3])
    null = score_spheres_permuted(X, permuted, spheres[:60], estimator, folds, engine="fast")
    for column in range(3):
        assert np.array_equal(null[column], score_spheres(X, permuted[:, column], spheres[:60], estimator, folds))


@pytest.mark.parametrize("estimator", ["gnb", "lda"])
def test_null_maps_do_not_depend_on_blocks_or_batches(problem, monkeypatch, estimator):
    """Permutations 1..10 at once, as 1..4 + 5..10, in passes of 3, and spheres one
    batch at a time: byte-identical null maps."""
    X, labels, runs, spheres = problem
    folds = make_folds(KFold(4), X, labels, runs)
    spheres = spheres[::2]

    def null(ks):
        return score_spheres_permuted(X, shuffled(labels, runs, ks), spheres, estimator, folds)

    together = null(range(1, 11))
    split = np.concatenate([null(range(1, 5)), null(range(5, 11))])
    assert together.tobytes() == split.tobytes()
    scorer = fast.PERMUTED_SCORERS[estimator]
    monkeypatch.setattr(scorer, "permutations_per_pass", 3, raising=False)
    monkeypatch.setattr(fast, "BATCH_BYTES", 1)  # one sphere per batch
    assert null(range(1, 11)).tobytes() == together.tobytes()
    # A chunk of the spheres gives its share of the map.
    chunk = score_spheres_permuted(X, shuffled(labels, runs, range(1, 11)), spheres[5:40], estimator, folds)
    assert chunk.tobytes() == together[:, 5:40].tobytes()


def test_null_maps_of_no_sphere_or_no_permutation(problem):
    X, labels, runs, spheres = problem
    folds = make_folds(KFold(4), X, labels, runs)
    permuted = shuffled(labels, runs, [1, 2])
    assert score_spheres_permuted(X, permuted, [], "gnb", folds).shape == (2, 0, 4)
    assert score_spheres_permuted(X, permuted[:, :0], spheres, "svc", folds).shape == (0, len(spheres), 4)


def test_fast_null_maps_refuse_a_training_fold_without_a_class(problem):
    X, labels, runs, spheres = problem
    folds = make_folds(KFold(4), X, labels, runs)
    permuted = labels.copy()[:, None]
    permuted[folds[0][0]] = "face"  # fold 0 trains on faces only
    with pytest.raises(ValueError, match="training fold 0 holds no sample of class"):
        score_spheres_permuted(X, permuted, spheres[:5], "lda", folds)


def test_permutation_benchmark_runs_and_its_null_maps_agree(tmp_path, monkeypatch, capsys):
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(variable, "1")
    spec = importlib.util.spec_from_file_location("permutations_benchmark", REPO / "benchmarks" / "permutations.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    monkeypatch.setattr(benchmark.searchlight_benchmark, "WORK", tmp_path)
    monkeypatch.setattr(benchmark.searchlight_benchmark, "SHAPE", TINY["shape"])
    benchmark.main(["--quick", "--spheres", "60", "--permutations", "4"])
    out = capsys.readouterr().out
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("fast ")}
    assert set(rows) == {"gnb", "lda", "svc"}
    assert all(row.endswith("identical to one by one: True") for row in rows.values())
    assert re.search(r"exact svc: [\d.]+ s per null map, [\d.]+ s per real map \(null / real [\d.]+\)", out)
    assert re.search(r"nilearn svc: [\d.]+ ms per sphere", out)
