"""The statistics step: a subject's searchlight map against its null maps
(:mod:`snakelight.inference.subject`), written as maps and tables.

Outputs (all maps zeros outside the process mask):

- ``searchlight_logp.nii.gz``: -log10 of each voxel's uncorrected p;
- ``searchlight_logp_fwe.nii.gz``: -log10 of its voxel-level FWE p (null distribution of the
  maximum score over the process mask);
- ``searchlight_tfce.nii.gz``: the TFCE of (score - chance);
- ``searchlight_tfce_logp_fwe.nii.gz``: -log10 of its TFCE FWE p (maximum TFCE per null map);
- ``clusters_fwe.nii.gz`` and ``clusters_fwe.tsv``: the clusters at the cluster-forming
  threshold, numbered as the table's rows (largest first), with size, mass, peak (voxel and
  mm), peak score and the FWE p of size and of mass (largest cluster per null map);
- ``null_maxima.tsv``: per permutation, the null map's maximum score, largest cluster size
  and mass, and maximum TFCE: the null distributions of the three corrections.
"""

import logging

import nibabel as nib
import numpy as np
import pandas as pd

from snakelight.inference import feasibility, subject
from snakelight.inference.null_maps import read_null_maps
from snakelight.io import atomic_path, write_nifti

TABLE_COLUMNS = ["cluster", "size", "mass", "x_mm", "y_mm", "z_mm", "peak_score", "p_fwe_size", "p_fwe_mass"]
TABLE_COLUMNS += ["peak_i", "peak_j", "peak_k"]


def write_inference(
    score_map,
    null_map,
    process_mask,
    outputs,
    *,
    chance,
    cluster_threshold,
    connectivity,
):
    """Voxel, cluster and TFCE FWE inference on ``score_map`` against ``null_map`` (4D, one
    volume per null map), written to ``outputs`` (name -> path for ``logp``, ``logp_fwe``,
    ``tfce``, ``tfce_logp_fwe``, ``clusters_img``, ``clusters_tsv``, ``null_maxima``); clusters
    form at :func:`snakelight.inference.feasibility.cluster_forming_threshold`. Memory: the null
    maps over the process mask as float32, a few times over. Returns the cluster table."""
    process_mask_img = nib.load(process_mask)
    mask = np.asarray(process_mask_img.dataobj) != 0
    observed = np.asarray(nib.load(score_map).dataobj)[mask]
    null = read_null_maps(null_map, mask)
    threshold = feasibility.cluster_forming_threshold(cluster_threshold, len(null))
    if threshold != cluster_threshold:
        logging.getLogger(__name__).warning(
            "inference.cluster_threshold %s is below 1/%d, the smallest voxel p of the %d null maps "
            "(the design's distinct relabellings, enumerated): clusters form at p <= %.4g",
            cluster_threshold,
            len(null) + 1,
            len(null),
            threshold,
        )
    _, logp = subject.voxel_p_values(observed, null)
    voxel_p_fwe = subject.voxel_fwe(observed, null)
    found = subject.cluster_fwe(observed, null, mask, chance=chance, threshold=threshold, connectivity=connectivity)
    tfce = subject.tfce_fwe(observed, null, mask, chance=chance, connectivity=connectivity)
    for name, values in (
        ("logp", logp),
        ("logp_fwe", -np.log10(voxel_p_fwe)),
        ("tfce", tfce.tfce),
        ("tfce_logp_fwe", -np.log10(tfce.p_fwe)),
        ("clusters_img", found.labels),
    ):
        write_nifti(outputs[name], _volume(mask, values, process_mask_img.affine))
    table = subject.add_mm_coordinates(found.table, process_mask_img.affine)[TABLE_COLUMNS]
    maxima = pd.DataFrame(
        {
            "permutation": np.arange(1, len(null) + 1),
            "max_score": null.max(axis=1, initial=-np.inf).astype(np.float64),
            "max_cluster_size": found.null_size,
            "max_cluster_mass": found.null_mass,
            "max_tfce": tfce.null_max,
        }
    )
    for path, frame in ((outputs["clusters_tsv"], table), (outputs["null_maxima"], maxima)):
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, sep="\t", index=False)
    return table


def _volume(mask, values, affine):
    """A 3-D image of ``values`` (V,) at the voxels of ``mask``, zeros elsewhere (float64,
    or int32 for integer values)."""
    values = np.asarray(values)
    data = np.zeros(mask.shape, dtype=np.int32 if values.dtype.kind in "iu" else np.float64)
    data[mask] = values
    return nib.Nifti1Image(data, affine)


def significant(p_fwe_map, alpha):
    """Voxels of a -log10 p map whose FWE p is at most ``alpha``: 3-D bool."""
    return np.asarray(nib.load(p_fwe_map).dataobj) >= -np.log10(alpha)


def significant_clusters(clusters_img, clusters_tsv, alpha):
    """Voxels of the clusters whose mass FWE p is at most ``alpha``: 3-D bool."""
    table = pd.read_csv(clusters_tsv, sep="\t")
    return np.isin(np.asarray(nib.load(clusters_img).dataobj), table["cluster"][table["p_fwe_mass"] <= alpha])
