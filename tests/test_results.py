"""F-scores and figures, against the seed's own code."""

import subprocess
import sys
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.image import get_data
from nilearn.maskers import NiftiMasker
from sklearn.feature_selection import f_classif

from snakelight.data.conditions import apply_mask_fmri
from snakelight.data.masks import process_mask
from snakelight.io import read_gzip, write_masked_samples, write_samples_table
from snakelight.report.figures import write_figures
from snakelight.report.fscores import fscore_map, write_fscores


def test_fscores_equal_the_seeds_computation(face_house):
    # The seed, verbatim apart from the cache: standardise per run, F-test, clip.
    masker = NiftiMasker(mask_img=face_house["mask"], runs=face_house["runs"], standardize="zscore_sample")
    fmri_masked = masker.fit_transform(face_house["imgs"])
    _, p_values = f_classif(fmri_masked, face_house["labels"])
    p_values = -np.log10(p_values)
    p_values[p_values > 10] = 10
    expected = get_data(masker.inverse_transform(p_values))

    masked = apply_mask_fmri(face_house["imgs"], face_house["mask"])  # masked_samples.npy
    result = fscore_map(masked, face_house["labels"], face_house["runs"], face_house["mask"])
    assert np.array_equal(get_data(result), expected)
    assert expected.max() > 2  # the planted regions differ between face and house


def test_figures_are_written_as_png(face_house, tmp_path):
    face_house["imgs"].to_filename(tmp_path / "samples.nii.gz")
    pm = process_mask(face_house["mask"], slices={"z": [5]})
    pm.to_filename(tmp_path / "pm.nii.gz")
    scores = np.where(np.asarray(pm.dataobj) > 0, 0.75, 0.0)
    nib.Nifti1Image(scores, pm.affine).to_filename(tmp_path / "map.nii.gz")
    masked = apply_mask_fmri(face_house["imgs"], face_house["mask"])
    fscores = fscore_map(masked, face_house["labels"], face_house["runs"], face_house["mask"])
    fscores.to_filename(tmp_path / "f.nii.gz")
    outputs = tmp_path / "searchlight.png", tmp_path / "fscores.png"
    write_figures(
        tmp_path / "samples.nii.gz",
        tmp_path / "map.nii.gz",
        tmp_path / "f.nii.gz",
        tmp_path / "pm.nii.gz",
        *outputs,
        cut_coords=[-1],
        vmin=0.42,
        threshold=0.2,
        chance=0.5,
    )
    for path in outputs:
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 2000
    assert not list(tmp_path.glob(".*tmp*"))


def _edge_case(runs, labels, planted, mask_header=None):
    """int16 noise on a 4x5x6 grid, as the generated BOLD series, but the ``planted``
    voxels' series (samples,); the mask (values 0 and 2) with ``mask_header``'s fields."""
    runs, labels = np.asarray(runs), np.asarray(labels)
    affine = np.diag([-3.5, 3.75, 3.75, 1.0])
    affine[:3, 3] = 10, -20, 5
    in_mask = np.zeros((4, 5, 6), dtype=np.int16)
    in_mask[1:3, 1:4, 1:5] = 2
    mask = nib.Nifti1Image(in_mask, affine)
    for key, value in (mask_header or {}).items():
        mask.header[key] = value
    data = np.random.default_rng(0).normal(1000, 20, (*in_mask.shape, len(runs)))
    for voxel, series in planted.items():
        data[voxel] = series
    imgs = nib.Nifti1Image(data.astype(np.int16), affine)  # stored as Haxby's: int16
    return {"imgs": imgs, "labels": labels, "runs": runs, "mask": nib.Nifti1Image.from_bytes(mask.to_bytes())}


def constant_voxels():
    """Unequal runs (5, 7, 1 samples); a voxel constant throughout (NaN; 0, as the
    one-sample run is left unstandardised), one constant within a run (nilearn's std
    guard); a mask with its own header fields, which nilearn's map does not keep."""
    runs = [1] * 5 + [2] * 7 + [3]
    labels = ["face", "house"] * 6 + ["face"]
    within_one_run = np.where(np.arange(13) < 5, 300, np.arange(13) * 7 + 900)
    header = {"descrip": b"brain mask", "xyzt_units": 10, "intent_code": 2, "qform_code": 1, "sform_code": 0}
    return _edge_case(runs, labels, {(1, 1, 1): 0, (1, 1, 2): within_one_run}, header), np.isnan


def separating_voxel():
    """A voxel whose standardised values are exact and constant within each class: no
    within-class variance, so F is infinite and p 0 (-log10 p clipped to 10)."""
    labels = ["face", "house", "house", "house"] * 3
    return _edge_case([1] * 4 + [2] * 4 + [3] * 4, labels, {(2, 2, 2): [950, 900, 900, 900] * 3}), np.isinf


def _nilearns_fscores(case):
    """The seed's F-scores image and scikit-learn's F values, on ``case``'s samples."""
    masker = NiftiMasker(mask_img=case["mask"], runs=case["runs"], standardize="zscore_sample")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant features, 0/0 and a one-sample run
        f_values, p_values = f_classif(masker.fit_transform(case["imgs"]), case["labels"])
        return masker.inverse_transform(np.minimum(-np.log10(p_values), 10.0)), f_values


@pytest.mark.parametrize(
    "make_case", [None, constant_voxels, separating_voxel], ids=["face_house", "constant", "separating"]
)
def test_the_fscores_file_holds_nilearns_bytes(make_case, face_house, tmp_path):
    """The workflow's inputs (masked_samples.npy as select_conditions writes it, from the
    samples file), written by the job: nilearn's and scikit-learn's image, to the byte."""
    case, reached = (face_house, None) if make_case is None else make_case()
    paths = {name: tmp_path / name for name in ("samples.nii.gz", "mask.nii.gz", "samples.tsv", "masked.npy")}
    case["imgs"].to_filename(paths["samples.nii.gz"])
    case["mask"].to_filename(paths["mask.nii.gz"])
    samples, mask = nib.load(paths["samples.nii.gz"]), nib.load(paths["mask.nii.gz"])
    write_masked_samples(paths["masked.npy"], apply_mask_fmri(samples, mask))
    write_samples_table(paths["samples.tsv"], pd.DataFrame({"label": case["labels"], "run": case["runs"]}))

    write_fscores(paths["masked.npy"], paths["samples.tsv"], paths["mask.nii.gz"], tmp_path / "fscores.nii.gz")

    expected, f_values = _nilearns_fscores({**case, "imgs": samples, "mask": mask})
    assert read_gzip(tmp_path / "fscores.nii.gz") == expected.to_bytes()
    if reached is not None:  # the case has the F values it is built for
        assert reached(f_values).any()


def test_the_fscores_job_loads_no_nilearn_or_sklearn():
    code = "import snakelight.report.fscores, sys; print(sorted({m.split('.')[0] for m in sys.modules} & {'nilearn', 'sklearn'}))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
