"""The report's score histogram and cluster table."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from snakelight.report.summary import clusters_table, sphere_scores, write_summary
from snakelight.searchlight.chance import chance_level

AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])


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
    assert "at least 0.70 (chance 0.50 + 0.2)" in outputs[2].read_text()
    assert sphere_scores(*planted).size == 15 * 20 * 20
