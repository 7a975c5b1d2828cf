"""F-scores and figures, against the seed's own code."""

import nibabel as nib
import numpy as np
from nilearn.image import get_data
from nilearn.maskers import NiftiMasker
from sklearn.feature_selection import f_classif

from snakelight.data.masks import process_mask
from snakelight.report.figures import write_figures
from snakelight.report.fscores import fscore_map


def test_fscores_equal_the_seeds_computation(face_house):
    # The seed, verbatim apart from the cache: standardise per run, F-test, clip.
    masker = NiftiMasker(mask_img=face_house["mask"], runs=face_house["runs"], standardize="zscore_sample")
    fmri_masked = masker.fit_transform(face_house["imgs"])
    _, p_values = f_classif(fmri_masked, face_house["labels"])
    p_values = -np.log10(p_values)
    p_values[p_values > 10] = 10
    expected = get_data(masker.inverse_transform(p_values))

    result = fscore_map(face_house["imgs"], face_house["labels"], face_house["runs"], face_house["mask"])
    assert np.array_equal(get_data(result), expected)
    assert expected.max() > 2  # the planted regions differ between face and house


def test_figures_are_written_as_png(face_house, tmp_path):
    face_house["imgs"].to_filename(tmp_path / "samples.nii.gz")
    pm = process_mask(face_house["mask"], slices={"z": [5]})
    pm.to_filename(tmp_path / "pm.nii.gz")
    scores = np.where(np.asarray(pm.dataobj) > 0, 0.75, 0.0)
    nib.Nifti1Image(scores, pm.affine).to_filename(tmp_path / "map.nii.gz")
    fscores = fscore_map(face_house["imgs"], face_house["labels"], face_house["runs"], face_house["mask"])
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
