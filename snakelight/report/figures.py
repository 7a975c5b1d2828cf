"""The seed's two figures, over the mean functional image."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from nilearn.image import mean_img, new_img_like  # noqa: E402
from nilearn.plotting import plot_img, plot_stat_map  # noqa: E402

from snakelight.io import atomic_path  # noqa: E402


def plot_searchlight(score_img, background, path, *, title, cut_coords, vmin, threshold):
    """Sphere accuracies, as the seed shows them (scores are not zero-centred, so
    plot_img rather than plot_stat_map)."""
    display = plot_img(
        new_img_like(background, np.asarray(score_img.dataobj)),
        bg_img=background,
        title=title,
        display_mode="z",
        cut_coords=cut_coords,
        vmin=vmin,
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
    background = mean_img(nib.load(samples_img), copy_header=True)
    title = "Searchlight" if chance is None else f"Searchlight, chance {chance:.2f}"
    plot_searchlight(
        nib.load(score_map),
        background,
        searchlight_png,
        title=title,
        cut_coords=cut_coords,
        vmin=vmin,
        threshold=threshold,
    )
    plot_fscores(
        nib.load(fscores), nib.load(process_mask), background, fscores_png, title="F-scores", cut_coords=cut_coords
    )
