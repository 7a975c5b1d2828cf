"""The seed's two figures, over the mean functional image."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from nilearn.image import mean_img, new_img_like  # noqa: E402
from nilearn.plotting import plot_img, plot_stat_map  # noqa: E402

from snakelight.io import atomic_path  # noqa: E402
from snakelight.report.cuts import check_cut_coords  # noqa: E402


def peak_cut(score_img, process_mask):
    """The z (mm) of the axial cut through the map's highest sphere (the process mask's
    first voxel when every sphere scores alike), as a one-item list of cut_coords."""
    inside = np.asarray(process_mask.dataobj) != 0
    scores = np.where(inside, np.asarray(score_img.dataobj), -np.inf)
    voxel = np.unravel_index(np.argmax(scores), scores.shape)
    return [float(score_img.affine[2, :3] @ voxel + score_img.affine[2, 3])]


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


def plot_searchlight(score_img, background, path, *, title, cut_coords, vmin, threshold):
    """Sphere accuracies, as the seed shows them (scores are not zero-centred, so
    plot_img rather than plot_stat_map). ``vmax`` is at least ``vmin``: a map scoring
    below the colour scale is drawn (empty), not refused."""
    data = np.asarray(score_img.dataobj)
    display = plot_img(
        new_img_like(background, data),
        bg_img=background,
        title=title,
        display_mode="z",
        cut_coords=cut_coords,
        vmin=vmin,
        vmax=max(vmin, float(data.max())),
        cmap="hot",
        threshold=threshold,
        black_bg=True,
    )
    _save(display, path)


def plot_fscores(fscore_img, process_mask, background, path, *, title, cut_coords):
    """-log10 p of the F-test, shown only inside the process mask (as the seed)."""
    masked = np.ma.array(np.asarray(fscore_img.dataobj), mask=np.asarray(process_mask.dataobj) == 0)
    display = plot_stat_map(
        new_img_like(background, masked),
        background,
        title=title,
        display_mode="z",
        cut_coords=cut_coords,
        colorbar=False,
    )
    _save(display, path)


def _save(display, path):
    with atomic_path(path) as tmp:
        display.savefig(tmp, dpi=120)
    display.close()
    plt.close("all")


def write_figures(
    samples_img, score_map, fscores, process_mask, searchlight_png, fscores_png, *, cut_coords, vmin, threshold, chance
):
    """The two figures. ``cut_coords`` None cuts through the map's peak; ``vmin`` None
    starts the colour scale at chance (else at the lowest sphere score). A configured cut
    outside the image is an InputError naming it; an empty, constant or chance-level
    map is drawn, its title saying so."""
    samples, score_img, process_mask_img = nib.load(samples_img), nib.load(score_map), nib.load(process_mask)
    check_cut_coords(cut_coords, samples.shape, samples.affine, samples_img)
    background = mean_img(samples, copy_header=True)
    scores = np.asarray(score_img.dataobj)[np.asarray(process_mask_img.dataobj) != 0]
    if vmin is None:
        vmin = chance if chance is not None else float(scores.min(initial=0))
    cut_coords = cut_coords or peak_cut(score_img, process_mask_img)
    title = "Searchlight" if chance is None else f"Searchlight, chance {chance:.2f}"
    note = map_note(scores, vmin=vmin, chance=chance)
    if note:
        title = f"{title}: {note}"
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
