"""The seed's two figures, over the mean functional image (drawn by
:mod:`snakelight.report.slices` as nilearn's ``plot_img`` and ``plot_stat_map`` draw them)."""

import nibabel as nib
import numpy as np

from snakelight.report.cuts import check_cut_coords, peak_cut
from snakelight.report.slices import Layer, background_layer, mean_volume, plot_axial, shown


def map_note(scores, *, vmin, chance):
    """What the figure must say about a map that shows little: ``scores`` are the
    spheres' (process-mask voxels'); None when there is a range of scores to see."""
    if scores.size == 0:
        return "no sphere"
    low, high = float(scores.min()), float(scores.max())
    if low == high:
        return f"every sphere scores {low:.2f}"
    if high < vmin:
        return f"no sphere scores {vmin:.2f} or more (highest {high:.2f})"
    if chance is not None and high <= chance:
        return f"no sphere scores above chance (highest {high:.2f})"
    return None


def map_title(scores, *, vmin, chance, name=None):
    """The searchlight figure's title: ``name`` (default "Searchlight", with the chance
    level where there is one) and, for a map that shows little, :func:`map_note`."""
    if name is None:
        name = "Searchlight" if chance is None else f"Searchlight, chance {chance:.2f}"
    note = map_note(scores, vmin=vmin, chance=chance)
    return f"{name}: {note}" if note else name


def plot_searchlight(score_img, background, path, *, title, cut_coords, vmin, threshold):
    """Sphere accuracies, as the seed shows them (nilearn's ``plot_img``: scores are not
    zero-centred). ``vmax`` is at least ``vmin``: a map scoring below the colour scale is
    drawn (empty), not refused."""
    data = np.asarray(score_img.dataobj)
    vmax = max(vmin, float(data.max()))
    scores = Layer(shown(data, threshold=threshold, vmin=vmin, vmax=vmax), score_img.affine, "hot", vmin, vmax)
    plot_axial(path, [background, scores], cut_coords, title=title)


def plot_fscores(fscore_img, process_mask, background, path, *, title, cut_coords):
    """-log10 p of the F-test, shown only inside the process mask, without a colour bar (as
    the seed, with nilearn's ``plot_stat_map`` defaults: its threshold 1e-6, and the scale
    from the lowest to the highest value shown for a map that is never negative)."""
    data = shown(fscore_img.get_fdata(), threshold=1e-6, hidden=np.asarray(process_mask.dataobj) == 0)
    low, high = (np.nanmin(data), np.nanmax(data)) if np.isfinite(data).any() else (0.0, 1.0)
    plot_axial(
        path, [background, Layer(data, fscore_img.affine, "RdBu_r", low, high)], cut_coords, title=title, colorbar=False
    )


def write_figures(
    samples_img,
    score_map,
    fscores,
    process_mask,
    searchlight_png,
    fscores_png,
    *,
    cut_coords,
    vmin,
    threshold,
    chance,
    title=None,
):
    """The two figures. ``cut_coords`` None cuts through the map's peak; ``vmin`` None
    starts the colour scale at chance (else at the lowest sphere score); ``title`` names
    the map (:func:`map_title`). A configured cut outside the image is an InputError
    naming it; an empty, constant or chance-level map is drawn, its title saying so."""
    samples, score_img, process_mask_img = nib.load(samples_img), nib.load(score_map), nib.load(process_mask)
    check_cut_coords(cut_coords, samples.shape, samples.affine, samples_img)
    background = background_layer(mean_volume(samples))
    scores = np.asarray(score_img.dataobj)[np.asarray(process_mask_img.dataobj) != 0]
    if vmin is None:
        vmin = chance if chance is not None else float(scores.min(initial=0))
    cut_coords = cut_coords or peak_cut(score_img, process_mask_img)
    title = map_title(scores, vmin=vmin, chance=chance, name=title)
    plot_searchlight(
        score_img,
        background,
        searchlight_png,
        title=title,
        cut_coords=cut_coords,
        vmin=vmin,
        threshold=threshold,
    )
    plot_fscores(nib.load(fscores), process_mask_img, background, fscores_png, title="F-scores", cut_coords=cut_coords)
