"""The merged map equals nilearn's SearchLight.scores_, for any number of chunks."""

import json
import logging

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.decoding import SearchLight
from nilearn.image.resampling import coord_transform
from nilearn.maskers.nifti_spheres_masker import apply_mask_and_get_affinity
from nilearn.masking import apply_mask_fmri
from sklearn.model_selection import KFold, LeaveOneGroupOut

from snakelight.data.masks import process_mask
from snakelight.io import write_chunk, write_masked_samples, write_samples_table
from snakelight.searchlight.chunks import chunk_positions, merge_chunks
from snakelight.searchlight.job import ChunkInputs, run_chunk
from snakelight.searchlight.spheres import process_seeds, sphere_members


def nilearn_scores(data, process_mask_img, radius, cv):
    searchlight = SearchLight(data["mask"], process_mask_img=process_mask_img, radius=radius, cv=cv)
    return searchlight.fit(data["imgs"], data["labels"], groups=data["runs"]).scores_


def snakelight_scores(data, process_mask_img, radius, cv, n_chunks, tmp_path):
    """Write the inputs as the workflow does, run every chunk, merge."""
    paths = {name: tmp_path / f"{name}.nii.gz" for name in ("samples", "mask", "process_mask")}
    for name, img in (("samples", data["imgs"]), ("mask", data["mask"]), ("process_mask", process_mask_img)):
        img.to_filename(paths[name])
    masked = tmp_path / "masked_samples.npy"
    write_masked_samples(masked, apply_mask_fmri(paths["samples"], paths["mask"]))
    table = tmp_path / "samples.tsv"
    write_samples_table(table, pd.DataFrame({"label": data["labels"], "run": data["runs"]}))
    chunks = [tmp_path / f"chunks/{i}.npz" for i in range(n_chunks)]
    for i, output in enumerate(chunks):
        run_chunk(
            ChunkInputs(paths["samples"], masked, table, paths["mask"], paths["process_mask"]),
            chunk=i,
            n_chunks=n_chunks,
            radius=radius,
            estimator="svc",
            cv=cv,
            scoring=None,
            output=output,
        )
    merge_chunks(chunks, paths["process_mask"], {"accuracy": (tmp_path / "map.nii.gz", tmp_path / "folds.nii.gz")})
    return nib.load(tmp_path / "map.nii.gz").get_fdata(), nib.load(tmp_path / "folds.nii.gz").get_fdata()


@pytest.fixture(scope="module")
def slab(face_house):
    """Two axial slices, posterior half: ~100 seeds with full and edge spheres."""
    mask = face_house["mask"]
    return process_mask(mask, slices={"z": [5, 6]}, box={"y": [None, 8]})


@pytest.fixture(scope="module")
def reference(face_house, slab):
    return nilearn_scores(face_house, slab, 5.6, KFold(4))


@pytest.mark.parametrize("n_chunks", [1, 3, 7])
def test_merged_map_equals_nilearn(face_house, slab, reference, n_chunks, tmp_path):
    scores, folds = snakelight_scores(face_house, slab, 5.6, {"method": "kfold", "n_splits": 4}, n_chunks, tmp_path)
    assert np.asarray(slab.dataobj).sum() > 50
    assert np.array_equal(scores, reference)
    assert folds.shape == (*scores.shape, 4)
    assert np.array_equal(folds.mean(axis=-1), scores)
    # Not a degenerate comparison: the map varies and the planted region decodes.
    assert np.unique(scores[np.asarray(slab.dataobj) > 0]).size > 5


def test_leave_one_run_out_equals_nilearn(face_house, slab, tmp_path):
    scores, folds = snakelight_scores(face_house, slab, 5.6, {"method": "leave_one_run_out"}, 2, tmp_path)
    assert np.array_equal(scores, nilearn_scores(face_house, slab, 5.6, LeaveOneGroupOut()))
    assert folds.shape[-1] == len(np.unique(face_house["runs"]))


def test_one_voxel_thick_volume_equals_nilearn(face_house, tmp_path):
    """A single-slice acquisition: spheres are discs, the grid has one z plane."""
    imgs, mask = face_house["imgs"], face_house["mask"]
    thin = {
        **face_house,
        "imgs": nib.Nifti1Image(np.asarray(imgs.dataobj)[:, :, 5:6], imgs.affine),
        "mask": nib.Nifti1Image(np.asarray(mask.dataobj)[:, :, 5:6], mask.affine),
    }
    assert thin["mask"].shape[2] == 1
    expected = nilearn_scores(thin, thin["mask"], 5.6, KFold(4))
    scores, _ = snakelight_scores(thin, thin["mask"], 5.6, {"method": "kfold", "n_splits": 4}, 3, tmp_path)
    assert np.array_equal(scores, expected)


@pytest.mark.parametrize("radius", [2.0, 5.6, 9.0])
def test_spheres_equal_nilearns_neighbourhoods(face_house, radius):
    mask = face_house["mask"]
    seeds = process_seeds(np.asarray(mask.dataobj))
    world = np.asarray(coord_transform(*seeds.T, mask.affine)).T
    _, adjacency = apply_mask_and_get_affinity(world, face_house["imgs"], radius, True, mask_img=mask)
    spheres = sphere_members(np.asarray(mask.dataobj), mask.affine, seeds, radius)
    assert len(spheres) == adjacency.shape[0]
    for sphere, row in zip(spheres, adjacency.rows):
        assert sphere.tolist() == row
    # A subset of seeds gets the same spheres as in the whole-mask computation.
    subset = sphere_members(np.asarray(mask.dataobj), mask.affine, seeds[10:20], radius)
    assert all(np.array_equal(a, b) for a, b in zip(subset, spheres[10:20]))


def test_chunks_cover_every_seed_once():
    for n_seeds, n_chunks in [(10, 1), (10, 3), (5, 7), (739, 4)]:
        parts = [chunk_positions(n_seeds, n_chunks, i) for i in range(n_chunks)]
        assert np.array_equal(np.concatenate(parts), np.arange(n_seeds))
    with pytest.raises(ValueError, match="chunk 3 is not in 0..2"):
        chunk_positions(10, 3, 3)


def test_merge_rejects_missing_chunk(face_house, slab, tmp_path):
    slab.to_filename(tmp_path / "pm.nii.gz")
    n_seeds = int(np.asarray(slab.dataobj).sum())
    write_chunk(tmp_path / "0.npz", np.arange(n_seeds - 3), {"accuracy": np.zeros((n_seeds - 3, 4))})
    with pytest.raises(ValueError, match=f"chunks cover {n_seeds - 3} of {n_seeds} seeds"):
        merge_chunks(
            [tmp_path / "0.npz"], tmp_path / "pm.nii.gz", {"accuracy": (tmp_path / "m.nii.gz", tmp_path / "f.nii.gz")}
        )
    assert not (tmp_path / "m.nii.gz").exists()


def test_more_chunks_than_voxels_write_empty_chunks_and_merge(face_house, tmp_path, caplog):
    """searchlight.n_chunks is clamped in effect: chunks beyond the voxel count are empty."""
    few = process_mask(face_house["mask"], slices={"x": [5], "y": [4], "z": [5, 6]})
    assert np.asarray(few.dataobj).sum() == 2
    with caplog.at_level(logging.WARNING, logger="snakelight"):
        scores, _ = snakelight_scores(face_house, few, 5.6, {"method": "kfold", "n_splits": 4}, 4, tmp_path)
    assert np.array_equal(scores, nilearn_scores(face_house, few, 5.6, KFold(4)))
    assert caplog.messages == [
        f"chunk {i}/4 has no sphere: searchlight.n_chunks (4) is larger than the number of process-mask voxels "
        "(2); writing an empty chunk"
        for i in (3, 4)
    ]


def test_radius_below_the_voxel_size_warns_of_one_voxel_spheres(face_house, slab, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="snakelight"):
        scores, _ = snakelight_scores(face_house, slab, 1.5, {"method": "kfold", "n_splits": 4}, 1, tmp_path)
    assert caplog.messages == [
        "searchlight.radius 1.5 mm: every sphere of chunk 1/1 holds a single voxel "
        "(voxel size 3.5 x 3.75 x 3.75 mm), so this is a voxel-wise decoding"
    ]
    assert np.array_equal(scores, nilearn_scores(face_house, slab, 1.5, KFold(4)))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="snakelight"):
        snakelight_scores(face_house, slab, 3.6, {"method": "kfold", "n_splits": 4}, 1, tmp_path)
    assert caplog.messages == []


@pytest.mark.parametrize("n_samples", [4, 10, 23, 216])
@pytest.mark.parametrize(
    "cv", [{"method": "kfold", "n_splits": 2}, {"method": "kfold", "n_splits": 4}, {"method": "leave_one_run_out"}]
)
def test_config_folds_are_scikit_learns(cv, n_samples):
    from snakelight.searchlight.cv import config_folds, make_cv, make_folds

    rng = np.random.default_rng(n_samples)
    y = rng.choice(["face", "house"], n_samples)
    runs = np.sort(rng.integers(0, 5, n_samples))[::-1] if n_samples > 4 else np.array([1, 0, 1, 0])
    expected = make_folds(make_cv(**{"n_splits": 4, **cv}), y[:, None], y, runs)
    folds = config_folds({"n_splits": 4, **cv}, y, runs)
    assert len(folds) == len(expected)
    for (train, test), (sk_train, sk_test) in zip(folds, expected):
        assert train.dtype == sk_train.dtype and np.array_equal(train, sk_train) and np.array_equal(test, sk_test)


def test_the_folds_record_says_what_ran_not_the_configs_n_splits():
    """Leave-one-run-out of 8 runs runs 8 folds: the sidecars say 8, not the schema's
    default n_splits of 4 (issue 23)."""
    from snakelight.searchlight.cv import folds_record

    table = pd.DataFrame({"label": ["face", "house"] * 8, "run": np.repeat(np.arange(1, 9), 2)})
    record = folds_record({"method": "leave_one_run_out", "n_splits": 4}, table, 8)
    assert record == {
        "method": "leave_one_run_out",
        "n_splits": 8,
        "test_runs": [[run] for run in range(1, 9)],
        "test_samples": [2] * 8,
    }
    json.dumps(record)  # plain Python values
    kfold = folds_record({"method": "kfold", "n_splits": 4}, table, 4)
    assert kfold["test_runs"] == [[1, 2], [3, 4], [5, 6], [7, 8]] and kfold["test_samples"] == [4] * 4
    with pytest.raises(ValueError, match="the chunks hold 4 folds"):
        folds_record({"method": "leave_one_run_out", "n_splits": 4}, table, 4)
