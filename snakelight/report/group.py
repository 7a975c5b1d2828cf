"""The group stage's figure: the group-mean score of the voxels a method finds significant
at FWE alpha, over the group mask. The group stage decides which voxels are significant;
this module only draws them."""

import nibabel as nib
import numpy as np

from snakelight.report.cuts import peak_cut
from snakelight.report.slices import Layer, axial_figure, colour_range, no_significant_voxel, save

# The group mask, drawn dark grey under the scores: the results hold no anatomy common to
# the subjects, but the mask shows where the group was searched.
MASK_GREY = (0.0, 3.0)


def group_figure(mean_img, significant, mask_img, *, title, cut_coords, alpha):
    """The figure: the 3-D ``mean_img`` (the subjects' mean score) where the 3-D bool
    ``significant`` is True, in one colour scale from the lowest to the highest score
    shown, over ``mask_img`` (the group mask, grey); axial cuts at ``cut_coords`` (None:
    through the highest significant score, or the highest mean score when none is
    significant). The title says when no voxel is significant at FWE ``alpha``."""
    mask = np.asarray(mask_img.dataobj) != 0
    scores = np.asarray(mean_img.dataobj, dtype=float)
    significant = np.asarray(significant, dtype=bool) & mask
    low, high = colour_range(scores[significant])
    background = Layer(np.where(mask, 1.0, np.nan), mask_img.affine, "gray", *MASK_GREY)
    shown = Layer(np.where(significant, scores, np.nan), mean_img.affine, "hot", low, high)
    where = nib.Nifti1Image((significant if significant.any() else mask).astype(np.uint8), mask_img.affine)
    n = int(significant.sum())
    note = f"mean score of {n} voxel{'s' if n != 1 else ''} FWE p <= {alpha}" if n else no_significant_voxel(alpha)
    return axial_figure([background, shown], cut_coords or peak_cut(mean_img, where), title=f"{title}: {note}")


def plot_group_map(mean_img, significant, mask_img, path, *, title, cut_coords, alpha):
    """:func:`group_figure`, saved as PNG to ``path``."""
    save(group_figure(mean_img, significant, mask_img, title=title, cut_coords=cut_coords, alpha=alpha), path)
