"""The report's permutation-inference figures: the map thresholded at FWE alpha under each
correction, and the null distributions of the maxima with the observed values marked."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from snakelight.inference.step import significant, significant_clusters  # noqa: E402
from snakelight.report.cuts import check_cut_coords, peak_cut  # noqa: E402
from snakelight.report.slices import (  # noqa: E402
    HEIGHT,
    Layer,
    background_layer,
    colour_range,
    draw_cuts,
    fitted_size,
    mean_volume,
    new_figure,
    no_significant_voxel,
    save,
)
from snakelight.report.summary import write_table_html  # noqa: E402

# Inches above the rows of cuts for the figure's title.
SUPTITLE_HEIGHT = 0.4
# null_maxima.tsv's columns, the observed statistic each is compared with, and its axis label.
NULL_PANELS = [
    ("max_score", "maximum score"),
    ("max_cluster_mass", "largest cluster mass"),
    ("max_tfce", "maximum TFCE"),
]


def fwe_figure(score_img, masks, background, *, cut_coords, title, alpha):
    """The scores of the voxels of each bool mask of ``masks`` (correction name -> 3-D
    bool: the voxels it finds significant at FWE ``alpha``), one row per correction, in
    one colour scale (from the lowest to the highest score shown in any row), over the
    ``background`` :class:`~snakelight.report.slices.Layer`; a row with no voxel says so."""
    scores = np.asarray(score_img.dataobj)
    low, high = colour_range(np.concatenate([scores[mask] for mask in masks.values()]))
    figure = new_figure(len(masks), len(cut_coords), background, colorbar=True)
    figure.set_figheight(figure.get_figheight() + SUPTITLE_HEIGHT)
    row_height = HEIGHT / figure.get_figheight()
    for row, (name, mask) in enumerate(masks.items()):
        layer = Layer(np.where(mask, scores, np.nan), score_img.affine, "hot", low, high)
        box = (0.0, 1 - SUPTITLE_HEIGHT / figure.get_figheight() - (row + 1) * row_height, 1.0, row_height)
        n = int(mask.sum())
        note = f"{name} FWE p <= {alpha}: {n} voxels" if n else f"{name}: {no_significant_voxel(alpha)}"
        draw_cuts(figure, box, [background, layer], cut_coords, title=note)
    figure.suptitle(title, color="white", size=fitted_size(title, figure.get_figwidth(), largest=12))
    return figure


def plot_fwe_maps(score_img, masks, background, path, *, cut_coords, title, alpha):
    """:func:`fwe_figure`, saved as PNG to ``path``."""
    save(fwe_figure(score_img, masks, background, cut_coords=cut_coords, title=title, alpha=alpha), path)


def plot_null_maxima(null_maxima, observed, path, *, alpha, title):
    """A histogram per correction of the null maxima (``null_maxima.tsv``'s table), with the
    observed value (column name -> float) and the FWE-alpha critical value marked."""
    figure, panels = plt.subplots(1, len(NULL_PANELS), figsize=(4 * len(NULL_PANELS), 3.5))
    for axes, (column, label) in zip(panels, NULL_PANELS):
        values = null_maxima[column].to_numpy()
        axes.hist(values, bins=min(40, max(5, values.size // 5)), color="0.45")
        critical = critical_value(values, alpha)
        axes.axvline(critical, color="tab:blue", linestyle=":", label=f"FWE {alpha}: above {critical:.3g}")
        axes.axvline(observed[column], color="tab:red", linestyle="--", label=f"observed {observed[column]:.3g}")
        axes.set(xlabel=f"{label} per null map", ylabel="permutations")
        axes.legend(fontsize=7)
    figure.suptitle(f"{title} ({len(null_maxima)} permutations)")
    figure.tight_layout()
    save(figure, path)


def critical_value(null_maxima, alpha):
    """The value an observed statistic must exceed for an FWE p of at most ``alpha`` against
    ``null_maxima`` (P,): p = (1 + #{null >= observed}) / (1 + P) <= alpha allows at most
    m = floor(alpha (P + 1)) - 1 null maxima at or above it, so it is the (m + 1)-th largest."""
    allowed = int(np.floor(alpha * (len(null_maxima) + 1) + 1e-9)) - 1
    return np.sort(null_maxima)[::-1][allowed]


def write_cluster_html(clusters_tsv, path, *, alpha, null_maps, cluster_threshold, permuted, title):
    """``clusters_fwe.tsv`` as the report's page, significant clusters marked; ``null_maps``
    says how many and which (:func:`snakelight.inference.permutations.describe_null_maps`)."""
    table = pd.read_csv(clusters_tsv, sep="\t")
    table.insert(1, f"mass FWE p <= {alpha}", np.where(table["p_fwe_mass"] <= alpha, "yes", ""))
    caption = (
        f"<p>Clusters of voxels with uncorrected p at most {cluster_threshold} (the cluster-forming "
        f"threshold), largest first, against the largest cluster of each of the {null_maps} "
        f"({permuted}): FWE p of the cluster's size (voxels) and mass (sum of score - "
        f"chance). Peak coordinates in mm, peak score.</p>"
    )
    write_table_html(path, table, title=title, caption=caption, empty="No voxel reaches the cluster-forming threshold.")


def write_inference_figures(inputs, fwe_png, null_png, *, alpha, cut_coords, title):
    """The two figures, from the statistics step's files: ``inputs`` maps ``samples``,
    ``score_map``, ``process_mask``, ``logp_fwe``, ``tfce``, ``tfce_logp_fwe``,
    ``clusters_img``, ``clusters_tsv`` and ``null_maxima`` to paths. ``cut_coords`` None
    cuts through the map's peak, as the searchlight figure does."""
    samples, score_img = nib.load(inputs["samples"]), nib.load(inputs["score_map"])
    process_mask_img = nib.load(inputs["process_mask"])
    check_cut_coords(cut_coords, samples.shape, samples.affine, inputs["samples"])
    masks = {
        "voxel": significant(inputs["logp_fwe"], alpha),
        "cluster-mass": significant_clusters(inputs["clusters_img"], inputs["clusters_tsv"], alpha),
        "TFCE": significant(inputs["tfce_logp_fwe"], alpha),
    }
    background = background_layer(mean_volume(samples))
    cut_coords = cut_coords or peak_cut(score_img, process_mask_img)
    plot_fwe_maps(score_img, masks, background, fwe_png, cut_coords=cut_coords, title=title, alpha=alpha)
    inside = np.asarray(process_mask_img.dataobj) != 0
    table = pd.read_csv(inputs["clusters_tsv"], sep="\t")
    observed = {
        "max_score": float(np.asarray(score_img.dataobj)[inside].max()),
        "max_cluster_mass": float(table["mass"].max()) if len(table) else 0.0,
        "max_tfce": float(np.asarray(nib.load(inputs["tfce"]).dataobj).max()),
    }
    plot_null_maxima(pd.read_csv(inputs["null_maxima"], sep="\t"), observed, null_png, alpha=alpha, title=title)
