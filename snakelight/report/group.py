"""The group stage's figure: a method's -log10 FWE p map."""

import numpy as np

from snakelight.report.cuts import peak_cut
from snakelight.report.slices import Layer, plot_axial, shown


def plot_group_map(logp_img, path, *, title, cut_coords, alpha):
    """-log10 p (FWE) on axial cuts (None: through the map's peak), drawn where it exceeds
    -log10 alpha, from 0 (as nilearn's ``plot_stat_map`` scales a map that is never negative);
    no background: the group has no common anatomy in the results."""
    data = np.asarray(logp_img.dataobj)
    threshold = -np.log10(alpha)
    vmax = max(float(np.max(data, initial=0.0)), threshold + 1e-3)
    layer = Layer(shown(data, threshold=threshold, vmin=0.0, vmax=vmax), logp_img.affine, "hot", 0.0, vmax)
    plot_axial(
        path,
        [layer],
        cut_coords or peak_cut(logp_img),
        title=f"{title} (-log10 p FWE, alpha {alpha})",
    )
