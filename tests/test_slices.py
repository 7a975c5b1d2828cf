"""The figures' axial cuts (snakelight.report.slices) against nilearn's plot_img and
plot_stat_map, which drew them before: the same voxels shown, in the same place."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from nilearn.plotting import plot_img, plot_stat_map  # noqa: E402

from snakelight.report.slices import Layer, axial_cut, background_layer, draw_cuts, new_figure, shown  # noqa: E402

# Haxby's orientation (x flipped, as fetch_haxby's images) and a RAS one, off-centre.
AFFINES = {
    "haxby": np.array([[-3.5, 0, 0, 33.25], [0, 3.75, 0, -41.25], [0, 0, 3.75, -20.625], [0, 0, 0, 1]]),
    "ras": np.array([[3.0, 0, 0, -30.0], [0, 2.5, 0, -20.0], [0, 0, 4.0, -10.0], [0, 0, 0, 1]]),
}


def nilearn_cut(display):
    """The arrays and extent of the top image of each layer nilearn drew on a one-cut display."""
    (cut,) = display.axes.values()
    images = [image for image in cut.ax.images if image.get_array().ndim == 2]  # not its black frame
    return [np.ma.filled(image.get_array().astype(float), np.nan) for image in images], images[-1].get_extent()


@pytest.fixture
def volume():
    """A smooth map in [0, 1] and a positive background with a zero border, on a 20x18x12 grid."""
    rng = np.random.default_rng(3)
    scores = rng.random((20, 18, 12))
    background = 500 + 100 * rng.random((20, 18, 12))
    background[:2] = background[:, -2:] = 0
    return scores, background


@pytest.mark.parametrize("orientation", AFFINES)
@pytest.mark.parametrize(
    ("threshold", "vmin", "vmax"),
    [(0.2, 0.42, 0.9), (0.5, 0.1, 0.9), (None, 0.0, 1.0), (0.7, 0.0, 0.6)],
)
def test_the_searchlight_cut_shows_nilearns_voxels_where_nilearn_puts_them(volume, orientation, threshold, vmin, vmax):
    scores, background = volume
    affine = AFFINES[orientation]
    score_img, background_img = nib.Nifti1Image(scores, affine), nib.Nifti1Image(background, affine)
    z = float(affine[2, 2] * 7 + affine[2, 3])
    display = plot_img(
        score_img,
        bg_img=background_img,
        display_mode="z",
        cut_coords=[z],
        cmap="hot",
        vmin=vmin,
        vmax=vmax,
        threshold=threshold,
        black_bg=True,
    )
    (nilearn_background, nilearn_scores), nilearn_extent = nilearn_cut(display)
    plt.close("all")

    drawn, extent = axial_cut(Layer(shown(scores, threshold=threshold, vmin=vmin, vmax=vmax), affine, "hot", 0, 1), z)
    np.testing.assert_array_equal(drawn.astype(np.float32), nilearn_scores)  # nilearn draws float32
    drawn_background, _ = axial_cut(background_layer(background_img), z)
    np.testing.assert_allclose(drawn_background, nilearn_background, rtol=1e-6)
    # nilearn's extent runs from the first voxel's centre to the last's; ours from edge to edge.
    half_voxel = np.abs(np.diag(affine)[[0, 0, 1, 1]]) / 2 * [-1, 1, -1, 1]
    np.testing.assert_allclose(extent, np.array(nilearn_extent) + half_voxel)


def test_the_fscores_cut_hides_what_nilearns_stat_map_hides(volume):
    fscores, background = volume
    fscores = fscores * 10
    fscores[3, 4, 7] = 0.0  # at nilearn's threshold, 1e-6
    process_mask = np.ones(fscores.shape, dtype=bool)
    process_mask[:, :9] = False
    affine = AFFINES["haxby"]
    z = float(affine[2, 2] * 7 + affine[2, 3])
    display = plot_stat_map(
        nib.Nifti1Image(np.ma.array(fscores, mask=~process_mask), affine),
        nib.Nifti1Image(background, affine),
        display_mode="z",
        cut_coords=[z],
        colorbar=False,
    )
    (_, nilearn_fscores), _ = nilearn_cut(display)
    plt.close("all")
    drawn, _ = axial_cut(Layer(shown(fscores, threshold=1e-6, hidden=~process_mask), affine, "RdBu_r", 0, 10), z)
    np.testing.assert_array_equal(drawn.astype(np.float32), nilearn_fscores)


def test_rows_of_cuts_keep_their_colour_bar_room_and_draw_no_scale_for_an_empty_map(volume):
    scores, background = volume
    affine = AFFINES["ras"]
    empty = Layer(np.full(scores.shape, np.nan), affine, "hot", 0, 1)
    full = Layer(scores, affine, "hot", 0, 1)
    figure = new_figure(2, 3, full, colorbar=True)  # 60 x 45 mm
    rows = [
        draw_cuts(figure, (0, 0.5 - 0.5 * i, 1, 0.5), [full if i == 0 else empty], [-6.0, 2.0, 10.0]) for i in (0, 1)
    ]
    assert [axes.get_position().x1 for axes in rows[0]] == [axes.get_position().x1 for axes in rows[1]]
    assert len(figure.axes) == 3 + 1 + 3  # one colour bar: the empty row's is left out
    assert [axes.texts[0].get_text() for axes in rows[0]] == ["z=-6", "z=2", "z=10"]
    plt.close(figure)


@pytest.mark.parametrize("module", ["snakelight.report.figures", "snakelight.report.group"])
def test_the_figures_load_neither_nilearn_nor_scikit_learn(module):
    loaded = subprocess.run(
        [sys.executable, "-c", f"import sys, {module}; print(sorted({{m.split('.')[0] for m in sys.modules}}))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "'nilearn'" not in loaded and "'sklearn'" not in loaded and "'matplotlib'" in loaded


def _texts(figure):
    """Every text of the figure: its cuts' and its title's."""
    return [text.get_text() for text in [*figure.texts, *(t for axes in figure.axes for t in axes.texts)]]


def _drawn(axes):
    """The finite values of each image of a cut's axes, in drawing order."""
    return [np.ma.filled(image.get_array().astype(float), np.nan) for image in axes.images]


@pytest.mark.parametrize("significant", ["none", "constant"])
def test_the_group_figure_shows_the_group_mask_and_says_when_nothing_is_significant(significant):
    from snakelight.report.group import group_figure

    affine = AFFINES["ras"]
    mask = np.zeros((8, 14, 6), dtype=bool)  # narrower than long, as a brain: a narrow cut
    mask[1:7, 2:12, 1:5] = True
    mean = np.where(mask, 0.55, 0.0)
    shown = np.zeros(mask.shape, dtype=bool)
    if significant == "constant":  # Stelzer's cluster: one p for every voxel of it
        shown[4:6, 3:5, 2:4] = True
        mean[shown] = 0.8
    figure = group_figure(
        nib.Nifti1Image(mean, affine),
        shown,
        nib.Nifti1Image(mask.astype(np.uint8), affine),
        title="face_vs_house, group, prevalence",
        cut_coords=None,
        alpha=0.05,
    )
    (title,) = [text for text in _texts(figure) if text.startswith("face_vs_house")]
    figure.canvas.draw()  # the title inside the figure: on two lines over one narrow cut
    assert all(text.get_window_extent().x1 <= figure.bbox.x1 for axes in figure.axes for text in axes.texts)
    background, scores = _drawn(figure.axes[0])
    assert np.isfinite(background).any()  # the group mask, not a black square
    if significant == "none":
        assert title.endswith("no voxel significant at FWE α = 0.05") and not np.isfinite(scores).any()
    else:
        assert title.endswith("mean score of 8 voxels FWE p <= 0.05")
        image = figure.axes[0].images[1]
        low, high = image.get_clim()
        assert low < 0.8 < high  # not all at the top of the scale: not a white blob
    plt.close(figure)


def test_the_fwe_figure_rows_share_one_colour_scale_over_the_anatomy(volume):
    from snakelight.report.inference import fwe_figure

    scores, background = volume
    affine = AFFINES["ras"]
    masks = {"voxel": scores > 0.9, "cluster-mass": scores > 0.5, "TFCE": np.zeros(scores.shape, dtype=bool)}
    figure = fwe_figure(
        nib.Nifti1Image(scores, affine),
        masks,
        background_layer(nib.Nifti1Image(background, affine)),
        cut_coords=[2.0],
        title="face_vs_house, sub-02",
        alpha=0.05,
    )
    cuts = [axes for axes in figure.axes if axes.images and len(axes.images) == 2]
    assert len(cuts) == 3
    assert {axes.images[1].get_clim() for axes in cuts} == {(scores[masks["cluster-mass"]].min(), scores.max())}
    assert all(np.isfinite(_drawn(axes)[0]).any() for axes in cuts)  # the mean image under every row
    texts = _texts(figure)
    assert "TFCE: no voxel significant at FWE α = 0.05" in texts
    assert f"voxel FWE p <= 0.05: {int(masks['voxel'].sum())} voxels" in texts
    plt.close(figure)
