"""The group stage's figure: a method's -log10 FWE p map."""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from nilearn.plotting import plot_stat_map  # noqa: E402

from snakelight.io import atomic_path  # noqa: E402


def plot_group_map(logp_img, path, *, title, cut_coords, alpha):
    """-log10 p (FWE) on axial cuts, drawn where it reaches -log10 alpha (no background:
    the group has no common anatomy in the results)."""
    top = float(np.max(np.asarray(logp_img.dataobj), initial=0.0))
    with warnings.catch_warnings():
        # A map with nothing significant draws as empty cuts; nilearn's warning says only that.
        warnings.filterwarnings("ignore", message="empty mask")
        display = plot_stat_map(
            logp_img,
            bg_img=None,
            title=f"{title} (-log10 p FWE, alpha {alpha})",
            display_mode="z",
            cut_coords=cut_coords,
            threshold=-np.log10(alpha),
            vmax=max(top, -np.log10(alpha) + 1e-3),
            cmap="hot",
            black_bg=True,
        )
    with atomic_path(path) as tmp:
        display.savefig(tmp, dpi=120)
    display.close()
    plt.close("all")
