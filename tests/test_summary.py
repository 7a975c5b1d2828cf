"""The report's score histogram and cluster table."""

import subprocess
import sys
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.reporting import get_clusters_table
from scipy import ndimage

from snakelight.report.summary import CLUSTER_COLUMNS, clusters_table, sphere_scores, write_summary
from snakelight.searchlight.chance import chance_level

AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])
# Voxels of 3.5 x 3.75 x 3.75 mm, x flipped, and an offset; the oblique one turned 10 degrees.
ANISOTROPIC = np.array([[-3.5, 0, 0, 70.0], [0, 3.75, 0, -102.5], [0, 0, 3.75, -41.0], [0, 0, 0, 1]])
TURN = np.radians(10)
OBLIQUE = ANISOTROPIC @ np.array(
    [[1, 0, 0, 0], [0, np.cos(TURN), -np.sin(TURN), 0], [0, np.sin(TURN), np.cos(TURN), 0], [0, 0, 0, 1]]
)


@pytest.mark.parametrize(
    ("scoring", "n_classes", "chance"),
    [
        (None, 2, 0.5),
        ("accuracy", 3, 1 / 3),
        ("balanced_accuracy", 4, 0.25),
        ("roc_auc", 2, 0.5),
        ("f1", 2, None),
    ],
)
def test_chance_level(scoring, n_classes, chance):
    assert chance_level(scoring, n_classes) == chance


@pytest.fixture
def planted():
    """Two blobs above 0.7 inside the process mask (8 and 27 voxels), one outside it."""
    scores = np.full((20, 20, 20), 0.5)
    scores[2:4, 2:4, 2:4] = 0.8
    scores[10:13, 10:13, 10:13] = 0.75
    scores[11, 11, 11] = 0.9
    scores[16:19, 2:5, 2:5] = 0.95  # outside the process mask
    process_mask = np.ones((20, 20, 20), dtype=np.uint8)
    process_mask[15:] = 0
    return nib.Nifti1Image(scores, AFFINE), nib.Nifti1Image(process_mask, AFFINE)


def test_clusters_are_the_blobs_inside_the_process_mask(planted):
    table = clusters_table(*planted, threshold=0.7, min_voxels=5)
    main = table[~table["cluster"].astype(str).str.contains("[a-z]")]
    assert list(main["size_mm3"]) == [27 * 27, 8 * 27]  # voxels of 3 mm: 27 mm3 each
    assert list(main["peak_score"]) == [0.9, 0.8]
    assert list(main.iloc[0][["x_mm", "y_mm", "z_mm"]]) == [33.0, 33.0, 33.0]  # voxel (11, 11, 11)


def test_small_clusters_are_left_out(planted):
    table = clusters_table(*planted, threshold=0.7, min_voxels=9)
    assert list(table["peak_score"]) == [0.9]


def test_summary_files(planted, tmp_path):
    paths = [tmp_path / name for name in ("score_map.nii.gz", "process_mask.nii.gz")]
    for img, path in zip(planted, paths):
        img.to_filename(path)
    outputs = [tmp_path / name for name in ("histogram.png", "clusters.tsv", "clusters.html")]
    write_summary(*paths, *outputs, chance=0.5, cluster_above_chance=0.2, cluster_min_voxels=5, title="test")
    assert outputs[0].read_bytes().startswith(b"\x89PNG")
    assert len(pd.read_csv(outputs[1], sep="\t")) == 2
    assert "above 0.70 (chance 0.50 + 0.2)" in outputs[2].read_text()
    assert sphere_scores(*planted).size == 15 * 20 * 20


def nilearn_clusters_table(score_img, process_mask_img, *, threshold, min_voxels):
    """The reference: nilearn's table of the map within the process mask, in our columns."""
    inside = np.asarray(process_mask_img.dataobj) != 0
    scores = np.where(inside, np.asarray(score_img.dataobj), 0)
    with warnings.catch_warnings():  # no cluster, a threshold above the map, a peak moved into its cluster
        warnings.simplefilter("ignore", UserWarning)
        table = get_clusters_table(
            nib.Nifti1Image(scores, score_img.affine), stat_threshold=threshold, cluster_threshold=min_voxels
        )
    return table.rename(columns=CLUSTER_COLUMNS)[list(CLUSTER_COLUMNS.values())]


def assert_as_nilearn(score_img, process_mask_img, *, threshold, min_voxels):
    ours = clusters_table(score_img, process_mask_img, threshold=threshold, min_voxels=min_voxels)
    pd.testing.assert_frame_equal(
        ours, nilearn_clusters_table(score_img, process_mask_img, threshold=threshold, min_voxels=min_voxels)
    )
    return ours


def smooth_map(seed, affine, dtype):
    """Seeded smooth noise around 0.5 (24, 28, 26), and an ellipsoid process mask cutting its clusters."""
    noise = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal((24, 28, 26)), 1.5)
    scores = (0.5 + 0.15 * noise / noise.std()).astype(dtype)
    i, j, k = np.indices(scores.shape)
    inside = ((i - 12) / 11) ** 2 + ((j - 14) / 12) ** 2 + ((k - 13) / 10) ** 2 < 1
    return nib.Nifti1Image(scores, affine), nib.Nifti1Image(inside.astype(np.uint8), affine)


@pytest.mark.parametrize("min_voxels", [1, 8])
@pytest.mark.parametrize("threshold", [0.6, 0.75])
@pytest.mark.parametrize(
    ("seed", "affine", "dtype"), [(0, ANISOTROPIC, np.float32), (1, ANISOTROPIC, np.float64), (2, OBLIQUE, np.float32)]
)
def test_smooth_maps_as_nilearn(seed, affine, dtype, threshold, min_voxels):
    table = assert_as_nilearn(*smooth_map(seed, affine, dtype), threshold=threshold, min_voxels=min_voxels)
    assert len(table) > 1


@pytest.mark.parametrize(
    ("threshold", "min_voxels", "rows"),
    [
        (0.7, 5, 2),
        (0.7, 9, 1),
        (0.75, 5, 2),  # the 27-voxel blob is at the threshold but for its 0.9 voxel: 1 voxel listed
        (0.5, 28, 2),  # both blobs, joined by the background at the threshold into a cluster of 28+ voxels
        (0.9, 1, 0),  # nothing above 0.9 inside the process mask
        (0.7, 28, 0),  # no cluster as large
    ],
)
def test_planted_as_nilearn(planted, threshold, min_voxels, rows):
    assert len(assert_as_nilearn(*planted, threshold=threshold, min_voxels=min_voxels)) == rows


def test_a_process_mask_cutting_a_cluster_as_nilearn(planted):
    score_img, process_mask_img = planted
    process_mask = np.asarray(process_mask_img.dataobj).copy()
    process_mask[11] = 0  # through the 27-voxel blob and its peak: two clusters of 9 voxels
    table = assert_as_nilearn(score_img, nib.Nifti1Image(process_mask, AFFINE), threshold=0.7, min_voxels=5)
    assert list(table["size_mm3"]) == [8 * 27, 9 * 27, 9 * 27]


def test_sub_peaks_as_nilearn():
    """Peaks 14 mm apart on a flat cluster, and a third 7.5 mm from the first but 16 mm from the
    second: nilearn keeps it (it only compares a peak with the last one kept). The flat cluster's
    rim is a plateau of maxima whose centre is outside it, so its voxel nearest the centre is listed."""
    scores = np.zeros((24, 20, 20))
    scores[4:20, 4:16, 4:16] = 0.75
    scores[8, 8, 8], scores[12, 8, 8], scores[8, 10, 8] = 0.95, 0.9, 0.85
    table = assert_as_nilearn(*_with_full_mask(scores, ANISOTROPIC), threshold=0.7, min_voxels=5)
    assert list(table["cluster"]) == [1, "1a", "1b", "1c"]
    assert list(table["peak_score"]) == [0.95, 0.9, 0.85, 0.75]


def test_ties_as_nilearn():
    """Clusters of equal peaks, a flat ring (its centre is outside it), and a cluster with two
    equal peaks, one of two voxels (its centre rounds half to even, in the map's voxels)."""
    scores = np.zeros((30, 20, 20), dtype=np.float32)
    for start in (2, 8, 14):
        scores[start : start + 3, 2:5, 2:5] = 0.8
    scores[2:5, 10:18, 10:13] = 0.7
    scores[3, 11, 11] = 0.85
    scores[3, 16, 11:13] = 0.85
    scores[20:27, 10:17, 10] = 0.8
    scores[22:25, 12:15, 10] = 0
    table = assert_as_nilearn(*_with_full_mask(scores, ANISOTROPIC), threshold=0.6, min_voxels=5)
    assert list(table["peak_score"]).count(np.float32(0.8)) == 4
    assert [-42.5, 4.0] in table[["y_mm", "z_mm"]].values.tolist()  # voxel (3, 16, 12), not (3, 16, 11)


@pytest.mark.parametrize(
    ("shape", "rows"),
    [
        ((4, 5, 6), 0),  # every voxel above the threshold: nilearn lists no cluster
        ((2, 2, 1), 1),  # 3 voxels above and one at the threshold: nilearn does not filter this cluster by size
    ],
)
def test_a_cluster_filling_the_volume_as_nilearn(shape, rows):
    scores = np.full(shape, 0.8)
    scores[0, 0, 0] = 0.7 if rows else 0.9
    assert len(assert_as_nilearn(*_with_full_mask(scores, AFFINE), threshold=0.7, min_voxels=5)) == rows


def _with_full_mask(scores, affine):
    return nib.Nifti1Image(scores, affine), nib.Nifti1Image(np.ones(scores.shape, dtype=np.uint8), affine)


def test_a_negative_threshold_is_refused(planted):
    with pytest.raises(ValueError, match="negative"):
        clusters_table(*planted, threshold=-0.1, min_voxels=5)


def test_the_summary_loads_no_nilearn_or_sklearn():
    code = "import snakelight.report.summary, sys; print(any(m.split('.')[0] in ('nilearn','sklearn') for m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"
