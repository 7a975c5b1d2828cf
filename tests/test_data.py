"""Fetching, the synthetic dataset, condition selection and the process mask."""

import hashlib

import nibabel as nib
import numpy as np
import pytest
from nilearn.image import index_img, new_img_like
from nilearn.masking import apply_mask_fmri
from scipy.ndimage import gaussian_filter

from snakelight.data import haxby_design, synthetic
from snakelight.data.conditions import select_conditions
from snakelight.data.haxby import fetch_subject
from snakelight.data.masks import process_mask, write_process_mask
from snakelight.io import read_json, read_labels, read_masked_samples, read_samples_table

from .conftest import TINY


def test_fetch_haxby_finds_local_files_and_downloads_nothing(haxby_dir, offline, tmp_path):
    manifest = fetch_subject(2, tmp_path / "dataset.json", source="haxby", data_dir=haxby_dir.parent)
    assert manifest == read_json(tmp_path / "dataset.json")
    assert manifest["bold"] == str(haxby_dir / "subj2" / "bold.nii.gz")
    assert manifest["labels"] == str(haxby_dir / "subj2" / "labels.txt")
    assert manifest["mask"] == str(haxby_dir / "mask.nii.gz")
    assert (manifest["subject"], manifest["t_r"]) == (2, 2.5)


def test_fetch_honours_nilearn_data_directory(haxby_dir, offline, tmp_path, monkeypatch):
    monkeypatch.setenv("NILEARN_DATA", str(haxby_dir.parent))
    manifest = fetch_subject(2, tmp_path / "dataset.json", source="haxby", data_dir=None)
    assert manifest["bold"] == str(haxby_dir / "subj2" / "bold.nii.gz")


def test_fetch_of_missing_subject_tries_to_download(haxby_dir, offline, tmp_path):
    with pytest.raises(AssertionError, match="download was attempted"):
        fetch_subject(3, tmp_path / "dataset.json", source="haxby", data_dir=haxby_dir.parent)
    assert not (tmp_path / "dataset.json").exists()


def test_synthetic_has_haxbys_geometry_and_design():
    mask = synthetic.brain_mask((40, 64, 64), (3.5, 3.75, 3.75))
    assert mask.shape == (40, 64, 64)
    assert np.allclose(np.abs(np.diag(mask.affine)[:3]), (3.5, 3.75, 3.75))
    assert 35_000 < np.asarray(mask.dataobj).sum() < 48_000
    design = synthetic.block_design(12, np.random.default_rng(0))
    assert len(design) == 12 * 121
    counts = design.groupby("chunks")["labels"].value_counts().unstack()
    assert (counts[list(haxby_design.CATEGORIES)] == 9).all().all()
    assert set(design["labels"]) == set(haxby_design.CONDITIONS)


def test_synthetic_is_seeded_to_the_byte(tmp_path):
    def generate(folder, seed):
        synthetic.write_mask(folder, TINY["shape"], TINY["voxel_size"])
        synthetic.write_subject(folder, 2, n_runs=2, effect_size=1.0, seed=seed)
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*.*"))}

    first, again, other = generate(tmp_path / "a", 0), generate(tmp_path / "b", 0), generate(tmp_path / "c", 1)
    assert first == again
    assert first["bold.nii.gz"] != other["bold.nii.gz"]


def _corner_block(shape):
    mask = np.zeros(shape, dtype=bool)
    mask[:4, 30:41, -5:] = True
    return mask


@pytest.mark.parametrize(
    "mask",
    [
        np.asarray(synthetic.brain_mask((40, 64, 64), (3.5, 3.75, 3.75)).dataobj) > 0,
        _corner_block((40, 64, 64)),
    ],
    ids=["brain", "corner block"],
)
def test_noise_drawn_volume_by_volume_is_the_4d_noise_to_the_bit(mask):
    # simulate_bold's noise as it was computed before, for a whole run at once. Five
    # volumes of the brain mask, seed 0: there the std of (volumes, voxels) in C order
    # differs in the last bit from the std in Fortran order, the layout of smooth[:, mask].
    sigma, rho = 1.5 / 2.355, 0.4
    innovations = np.random.default_rng(0).standard_normal((5, *mask.shape)).astype(np.float32)
    smooth = gaussian_filter(innovations, (0, sigma, sigma, sigma))[:, mask]
    rng, smooth_volume = np.random.default_rng(0), synthetic._volume_smoother(mask)
    volumes = np.stack([smooth_volume(rng.standard_normal(mask.shape)) for _ in range(5)])
    assert np.array_equal(volumes, smooth)

    smooth /= smooth.std()
    noise = np.empty_like(smooth)
    noise[0] = smooth[0]
    for t in range(1, len(noise)):
        noise[t] = rho * noise[t - 1] + np.sqrt(1 - rho**2) * smooth[t]
    assert np.array_equal(synthetic._ar1_noise(volumes), noise)


def test_planted_regions_carry_the_signal(haxby_dir):
    truth = np.asarray(nib.load(haxby_dir / "subj2" / "truth.nii.gz").dataobj)
    assert (truth == 1).sum() > 5 and (truth == 2).sum() > 5
    labels = read_labels(haxby_dir / "subj2" / "labels.txt")["label"].to_numpy()
    bold = np.asarray(nib.load(haxby_dir / "subj2" / "bold.nii.gz").dataobj, dtype=float)
    face_minus_house = bold[..., labels == "face"].mean(-1) - bold[..., labels == "house"].mean(-1)
    assert face_minus_house[truth == 1].mean() > 0 > face_minus_house[truth == 2].mean()


def test_select_conditions_equals_nilearn_index_img(haxby_dir, tmp_path):
    manifest = fetch_subject(2, tmp_path / "dataset.json", source="haxby", data_dir=haxby_dir.parent)
    table = select_conditions(
        tmp_path / "dataset.json",
        ["house", "face"],
        {"method": "kfold", "n_splits": 4},
        tmp_path / "s.nii.gz",
        tmp_path / "s.tsv",
        tmp_path / "s.npy",
    )
    labels = read_labels(manifest["labels"])
    keep = labels["label"].isin(["face", "house"])
    expected = index_img(manifest["bold"], keep.to_numpy())
    written = nib.load(tmp_path / "s.nii.gz")
    assert np.array_equal(np.asarray(written.dataobj), np.asarray(expected.dataobj))
    assert np.array_equal(written.affine, expected.affine)
    assert written.header.binaryblock == expected.header.binaryblock
    masked = read_masked_samples(tmp_path / "s.npy")
    assert masked.dtype == np.float32
    assert np.array_equal(masked, apply_mask_fmri(expected, manifest["mask"]))
    assert read_samples_table(tmp_path / "s.tsv").equals(table.reset_index(drop=True))
    assert list(table["label"]) == list(labels["label"][keep])
    assert list(table["run"]) == list(labels["run"][keep])
    assert list(table["volume"]) == list(np.flatnonzero(keep))


def test_process_mask_reproduces_the_seeds_recipe():
    mask_img = synthetic.brain_mask((40, 64, 64), (3.5, 3.75, 3.75))
    # The seed's numpy recipe, verbatim in spirit: slice z = 29, then y < 30.
    expected = np.asarray(mask_img.dataobj).astype(int)
    expected[..., 30:] = 0
    expected[..., :29] = 0
    expected[:, 30:] = 0
    result = process_mask(mask_img, slices={"z": [29]}, box={"y": [None, 30]})
    assert np.array_equal(np.asarray(result.dataobj), expected)
    assert 300 < expected.sum() < 1000


def test_process_mask_selections_intersect(tmp_path):
    mask_img = synthetic.brain_mask((20, 24, 22), (3.5, 3.75, 3.75))
    mask = np.asarray(mask_img.dataobj) > 0
    whole = np.asarray(process_mask(mask_img).dataobj) > 0
    assert np.array_equal(whole, mask)
    two_slices = np.asarray(process_mask(mask_img, slices={"z": [10, 12]}).dataobj) > 0
    assert np.array_equal(np.flatnonzero(two_slices.any(axis=(0, 1))), [10, 12])
    box = np.asarray(process_mask(mask_img, box={"x": [5, 8], "z": [None, 11]}).dataobj) > 0
    assert np.array_equal(
        box,
        mask
        & (np.arange(20)[:, None, None] >= 5)
        & (np.arange(20)[:, None, None] < 8)
        & (np.arange(22)[None, None, :] < 11),
    )
    roi = np.zeros(mask.shape, dtype=np.uint8)
    roi[:10] = 1
    new_img_like(mask_img, roi).to_filename(tmp_path / "roi.nii.gz")
    mask_img.to_filename(tmp_path / "mask.nii.gz")
    written = write_process_mask(
        {"mask": str(tmp_path / "mask.nii.gz")}, tmp_path / "pm.nii.gz", slices={}, box={}, roi=tmp_path / "roi.nii.gz"
    )
    assert np.array_equal(np.asarray(written.dataobj) > 0, mask & (roi > 0))
    nib.Nifti1Image(np.ones((3, 3, 3), np.uint8), mask_img.affine).to_filename(tmp_path / "small.nii.gz")
    with pytest.raises(ValueError, match=r"small.nii.gz is not on the brain mask's grid \(shape \(3, 3, 3\)"):
        process_mask(mask_img, roi_img=nib.load(tmp_path / "small.nii.gz"))


def test_synthetic_hrf_is_nilearns_glover_hrf_to_the_bit():
    from nilearn.glm.first_level import glover_hrf

    for t_r in (2.5, 2.0, 1.0, 0.7):
        assert np.array_equal(synthetic.glover_hrf(t_r), glover_hrf(t_r, oversampling=1))


@pytest.mark.parametrize("kind", ["int16", "scaled", "float with nan"])
def test_condition_selection_is_nilearns_to_the_byte(kind):
    from snakelight.data import conditions

    rng = np.random.default_rng(0)
    data = rng.integers(-50, 900, size=(5, 6, 4, 12)).astype(np.int16)
    affine = np.diag([-3.5, 3.75, 3.75, 1.0])
    if kind == "float with nan":
        data = data.astype(np.float32)
        data[2, 3, 1, 4] = np.nan
    img = nib.Nifti1Image(data, affine)
    if kind == "scaled":
        img.header.set_slope_inter(2.0, 1.0)
    img = nib.Nifti1Image.from_bytes(img.to_bytes())
    mask = nib.Nifti1Image((rng.random(data.shape[:3]) > 0.3).astype(np.uint8), affine)
    keep = np.arange(12) % 3 != 1
    assert conditions.index_img(img, keep).to_bytes() == index_img(img, keep).to_bytes()
    masked = conditions.apply_mask_fmri(img, mask)
    expected = apply_mask_fmri(img, mask)
    assert masked.dtype == expected.dtype and masked.flags.f_contiguous == expected.flags.f_contiguous
    assert np.array_equal(masked, expected)
