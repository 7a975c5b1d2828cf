"""What the report shows beside the maps: how sphere scores are distributed against
chance, and where the high-scoring clusters are.

The cluster table is nilearn's ``get_clusters_table`` (one-sided, 6-connected, sub-peaks
8 mm apart), computed without importing nilearn, whose import is most of the summary job's
time; tests/test_summary.py compares the two tables.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from snakelight.inference.clusters import cluster_peaks  # noqa: E402
from snakelight.io import atomic_path  # noqa: E402
from snakelight.report.slices import save  # noqa: E402

SUB_PEAK_LETTERS = "abc"  # nilearn lists a cluster's peak and at most 3 sub-peaks: 1, 1a, 1b, 1c
# nilearn's table's columns -> ours
CLUSTER_COLUMNS = {
    "Cluster ID": "cluster",
    "X": "x_mm",
    "Y": "y_mm",
    "Z": "z_mm",
    "Peak Stat": "peak_score",
    "Cluster Size (mm3)": "size_mm3",
}


def sphere_scores(score_img, process_mask_img):
    """The score of every sphere: the map's values inside the process mask."""
    return np.asarray(score_img.dataobj)[np.asarray(process_mask_img.dataobj) != 0]


def plot_score_histogram(scores, path, *, chance, title):
    figure, axes = plt.subplots(figsize=(6, 3.5))
    # Accuracies lie in [0, 1]; other scorers' scores may not.
    low, high = min(0.0, float(scores.min(initial=0))), max(1.0, float(scores.max(initial=1)))
    axes.hist(scores, bins=np.linspace(low, high, 41), color="0.35")
    if chance is not None:
        axes.axvline(chance, color="tab:red", linestyle="--", label=f"chance = {chance:.2f}")
        axes.legend()
    axes.set(xlabel="sphere score", ylabel="spheres", title=f"{title} ({scores.size} spheres)")
    figure.tight_layout()
    save(figure, path)


def clusters_table(score_img, process_mask_img, *, threshold, min_voxels):
    """Connected spheres scoring above ``threshold`` (>= 0), in clusters of at least
    ``min_voxels`` voxels, highest peak first: the mm coordinates and scores of each cluster's
    peak and sub-peaks, and its size in mm3 (blank on sub-peak rows). The table is nilearn's
    ``get_clusters_table(map, stat_threshold=threshold, cluster_threshold=min_voxels)`` of the
    map within the process mask, its columns renamed by CLUSTER_COLUMNS."""
    scores = np.asarray(score_img.dataobj)
    inside = np.asarray(process_mask_img.dataobj) != 0
    # nilearn's voxel volume: from the header of an image made from the affine (float32 zooms).
    voxel_mm3 = np.prod(nib.Nifti1Image(scores, score_img.affine).header.get_zooms())
    rows = []
    clusters = cluster_peaks(scores[inside], inside, score_img.affine, threshold=threshold, min_voxels=min_voxels)
    for number, (voxels, ijk, peak_scores) in enumerate(clusters, start=1):
        # mm by nilearn's coord_transform: one product for all the cluster's peaks.
        xyz = np.dot(score_img.affine, np.c_[ijk, np.ones(len(ijk), dtype=int)].T)[:3].T
        names = [number, *(f"{number}{letter}" for letter in SUB_PEAK_LETTERS)]
        sizes = [int(voxels * voxel_mm3), *[""] * len(SUB_PEAK_LETTERS)]
        rows += [[name, *position, score, size] for name, position, score, size in zip(names, xyz, peak_scores, sizes)]
    return pd.DataFrame(rows, columns=list(CLUSTER_COLUMNS.values()))


def write_summary(
    score_map,
    process_mask,
    histogram_png,
    clusters_tsv,
    clusters_html,
    *,
    chance,
    cluster_above_chance,
    cluster_min_voxels,
    title,
    confusion_map=None,
    conditions=None,
):
    """The histogram and the cluster table; ``chance`` is the chance score, or None. With
    ``confusion_map`` (searchlight.confusion's 4D map, its ``conditions`` in order), the
    page adds the confusion matrix of the first cluster's peak sphere."""
    score_img, process_mask_img = nib.load(score_map), nib.load(process_mask)
    plot_score_histogram(sphere_scores(score_img, process_mask_img), histogram_png, chance=chance, title=title)
    threshold = (chance or 0) + cluster_above_chance
    table = clusters_table(score_img, process_mask_img, threshold=threshold, min_voxels=cluster_min_voxels)
    with atomic_path(clusters_tsv) as tmp:
        table.to_csv(tmp, sep="\t", index=False)
    caption = (
        f"<p>Clusters of spheres scoring above {threshold:.2f} (chance "
        f"{'unknown' if chance is None else f'{chance:.2f}'} + {cluster_above_chance}), "
        f"at least {cluster_min_voxels} voxels; coordinates of each peak in mm.</p>"
    )
    extra = ""
    if confusion_map is not None and len(table):
        matrix = peak_confusion(nib.load(confusion_map), table.iloc[0], conditions)
        extra = (
            f"<p>Confusion matrix of cluster 1's peak sphere, summed over the folds (rows: true "
            f"condition, columns: predicted):</p>{matrix.to_html()}"
        )
    write_table_html(clusters_html, table, title=title, caption=caption, empty="No cluster.", extra=extra)
    return table


def peak_confusion(confusion_img, row, conditions):
    """The confusion matrix (a DataFrame, true conditions by predicted ones) of the sphere
    at the peak of the cluster table's ``row``, from searchlight.confusion's 4D image."""
    xyz = [row[CLUSTER_COLUMNS[axis]] for axis in ("X", "Y", "Z")]
    ijk = np.rint(np.linalg.solve(confusion_img.affine, [*xyz, 1.0])[:3]).astype(int)
    counts = np.asarray(confusion_img.dataobj)[tuple(ijk)].astype(int)
    n = len(conditions)
    return pd.DataFrame(counts.reshape(n, n), index=list(conditions), columns=list(conditions))


def write_table_html(path, table, *, title, caption, empty, extra=""):
    """A self-contained HTML page of ``table`` under the ``caption`` (HTML), or ``empty``
    when it has no row, then ``extra`` (HTML)."""
    body = table.to_html(index=False, float_format="{:.3f}".format) if len(table) else f"<p>{empty}</p>"
    with atomic_path(path) as tmp:
        tmp.write_text(
            f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body>{caption}{body}{extra}</body></html>\n"
        )
