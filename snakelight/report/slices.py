"""Axial cuts of a map over a background, drawn with matplotlib alone, laid out as nilearn's
``plot_img`` / ``plot_stat_map`` draw ``display_mode="z"``: the volume turned to RAS (left on
the left, anterior up), nearest-neighbour voxels, a black background, ``L``/``R`` and
``z=<mm>`` on the cut, the title in a box at the top left, the colour bar at the right.
The thresholding is nilearn's (:func:`shown`); ``tests/test_report.py`` compares the drawn
voxels and their extent in mm with nilearn's. Importing nilearn's plotting took 1.8 s of
the figures step's 2.3 (it loads scikit-learn and scipy.stats), the drawing 0.3 s.
"""

from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402

from snakelight.io import atomic_path  # noqa: E402

# Inches: the height of a row of cuts, and the width the colour bar and its labels take.
HEIGHT = 3.2
COLORBAR_WIDTH = 0.75
# Inches per point of font size: the width of an average title character (DejaVu Sans).
TITLE_CHAR_WIDTH = 0.0077
DPI = 120


class Layer(NamedTuple):
    """A volume to draw: ``data`` (x, y, z) under the 4x4 ``affine``, NaN where nothing is
    drawn, in ``cmap`` from ``vmin`` to ``vmax``."""

    data: np.ndarray
    affine: np.ndarray
    cmap: str
    vmin: float
    vmax: float


def shown(data, *, threshold=None, vmin=None, vmax=None, hidden=None):
    """``data`` as float, NaN where a cut leaves it out, as nilearn's displays threshold:
    values with ``|value| <= threshold``; with a threshold, also values below ``vmin`` when
    ``vmin >= -threshold`` and above ``vmax`` when ``vmax <= threshold``; and where the
    bool array ``hidden`` is True."""
    data = np.array(data, dtype=float)
    out = np.zeros(data.shape, dtype=bool) if hidden is None else np.array(hidden, dtype=bool)
    if threshold is not None:
        out |= np.abs(data) <= threshold
        if vmin is not None and vmin >= -threshold:
            out |= data < vmin
        if vmax is not None and vmax <= threshold:
            out |= data > vmax
    data[out] = np.nan
    return data


def background_layer(img):
    """A grey background from the 3-D ``img``: its zero voxels left out, the scale from its
    lowest to its highest other value."""
    data = np.asarray(img.dataobj, dtype=float)
    inside = data[data != 0]
    low, high = (float(inside.min()), float(inside.max())) if inside.size else (0.0, 1.0)
    return Layer(np.where(data != 0, data, np.nan), img.affine, "gray", low, high)


def axial_cut(layer, z):
    """The axial cut of ``layer`` nearest ``z`` (mm), as drawn: (rows = y from anterior to
    posterior, columns = x from left to right) and its extent (left, right, bottom, top) in mm."""
    data, affine = _canonical(layer)
    k = int(np.clip(np.rint((np.linalg.inv(affine) @ [0.0, 0.0, z, 1.0])[2]), 0, data.shape[2] - 1))
    return np.rot90(data[:, :, k]), _extent(data.shape, affine)


def new_figure(n_rows, n_cuts, layer, *, colorbar):
    """A black figure sized for ``n_rows`` rows of ``n_cuts`` cuts of ``layer``'s volume, with
    room for a colour bar."""
    data, affine = _canonical(layer)
    left, right, bottom, top = _extent(data.shape, affine)
    width = HEIGHT * n_cuts * abs(right - left) / abs(top - bottom) + (COLORBAR_WIDTH if colorbar else 0)
    return plt.figure(figsize=(width, HEIGHT * n_rows), facecolor="black")


def _canonical(layer):
    """``layer``'s data and affine turned to RAS (a view of the data, axes flipped or swapped)."""
    canonical = nib.as_closest_canonical(nib.Nifti1Image(layer.data, layer.affine))
    return np.asarray(canonical.dataobj), canonical.affine


def _extent(shape, affine):
    """(left, right, bottom, top) mm of an axial cut of a RAS grid: voxel centres lie at
    affine @ index, so the edges half a voxel beyond them."""
    x = affine[0, 3] + affine[0, 0] * np.array([-0.5, shape[0] - 0.5])
    y = affine[1, 3] + affine[1, 1] * np.array([-0.5, shape[1] - 0.5])
    return x[0], x[1], y[0], y[1]


def draw_cuts(figure, box, layers, cut_coords, *, title=None, colorbar=True):
    """One axial cut per z of ``cut_coords`` (mm) side by side in ``box`` (left, bottom,
    width, height, as figure fractions), each :class:`Layer` of ``layers`` over the one
    before; the last one's colour bar at the right when ``colorbar`` (its room kept when
    nothing of it is drawn). Returns the cuts' axes."""
    left, bottom, width, height = box
    bar_width = COLORBAR_WIDTH / figure.get_figwidth() if colorbar else 0.0
    cuts_width = width - bar_width
    cut_width = cuts_width / len(cut_coords)
    all_axes = []
    for i, z in enumerate(cut_coords):
        axes = figure.add_axes((left + i * cut_width, bottom, cut_width, height), facecolor="black")
        axes.set_axis_off()
        for layer in layers:
            image, extent = axial_cut(layer, z)
            drawn = axes.imshow(
                image, cmap=layer.cmap, vmin=layer.vmin, vmax=layer.vmax, extent=extent, interpolation="nearest"
            )
        axes.text(0, 0, f"z={z:.0f}", transform=axes.transAxes, color="w", size=12, ha="left", va="bottom")
        if i == 0:
            for x, side in ((0.1, "L"), (0.9, "R")):
                axes.text(x, 0.9, side, transform=axes.transAxes, color="w", size=12, ha="center", va="top")
        all_axes.append(axes)
    if title:
        title = wrapped(title, cuts_width * figure.get_figwidth())
        size = fitted_size(title, cuts_width * figure.get_figwidth())
        all_axes[0].text(
            0.01,
            0.99,
            title,
            transform=all_axes[0].transAxes,
            color="k",
            size=size,
            ha="left",
            va="top",
            bbox={"facecolor": "w", "edgecolor": "w", "pad": 2},
            zorder=10,
        )
    if colorbar and np.isfinite(layers[-1].data).any():  # no scale for a map with nothing drawn
        bar_axes = figure.add_axes(
            (left + cuts_width + 0.1 * bar_width, bottom + 0.05 * height, 0.2 * bar_width, 0.8 * height)
        )
        bar = figure.colorbar(drawn, cax=bar_axes)
        bar.ax.tick_params(colors="w", labelsize=10)
        bar.outline.set_edgecolor("w")
    return all_axes


def fitted_size(text, width, largest=15.0):
    """A font size (points) of at most ``largest``, smaller where ``text``'s longest line
    would run past ``width`` inches; 7 at the least."""
    longest = max(len(line) for line in text.split("\n"))
    return max(7.0, min(largest, width / (TITLE_CHAR_WIDTH * longest)))


def wrapped(text, width, smallest=10.0):
    """``text`` on two lines, broken after its last ``": "``, where on one line it would be
    smaller than ``smallest`` points to fit ``width`` inches (a long title over one narrow
    cut); else as it is."""
    if fitted_size(text, width, largest=smallest) >= smallest or ": " not in text:
        return text
    head, tail = text.rsplit(": ", 1)
    return f"{head}:\n{tail}"


def axial_figure(layers, cut_coords, *, title, colorbar=True):
    """:func:`draw_cuts` alone in a new figure."""
    figure = new_figure(1, len(cut_coords), layers[-1], colorbar=colorbar)
    draw_cuts(figure, (0.0, 0.0, 1.0, 1.0), layers, cut_coords, title=title, colorbar=colorbar)
    return figure


def plot_axial(path, layers, cut_coords, *, title, colorbar=True):
    """:func:`axial_figure`, saved as PNG to ``path``."""
    save(axial_figure(layers, cut_coords, title=title, colorbar=colorbar), path)


def colour_range(values):
    """(low, high) of a colour scale showing ``values``: their lowest and highest, apart
    when all are alike (a scale of no width draws every value in its lowest colour);
    (0, 1) for none."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-6 * max(1.0, abs(high)):
        return low - 0.5 * max(1e-3, 0.01 * abs(low)), high + 0.5 * max(1e-3, 0.01 * abs(high))
    return low, high


def no_significant_voxel(alpha):
    """What a figure of significant voxels says when there is none."""
    return f"no voxel significant at FWE \N{GREEK SMALL LETTER ALPHA} = {alpha}"


def mean_volume(img):
    """The mean over time of the 4-D ``img``, a 3-D image on its grid (the figures' background)."""
    return nib.Nifti1Image(np.asarray(img.dataobj).mean(axis=3), img.affine)


def save(figure, path):
    """Write ``figure`` as PNG to ``path`` (whole or not at all) and close it."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=DPI, facecolor=figure.get_facecolor())
    plt.close(figure)
