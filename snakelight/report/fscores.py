"""The seed's univariate comparison: an ANOVA F-test per voxel.

The seed standardises the samples per run with nilearn's ``NiftiMasker(mask_img,
runs=runs, standardize="zscore_sample")``, tests them with scikit-learn's
``f_classif`` and maps -log10 p back with ``masker.inverse_transform``. Importing the
two took 1.1-1.6 s of the job's 3.4-3.9 s, so this module does the same NumPy operations,
in the same order and dtypes (nilearn 0.14, scikit-learn 1.9, NumPy 2), without them,
on the masked samples select_conditions wrote (the matrix NiftiMasker makes of the 4D
image): the map is theirs to the byte (tests/test_results.py writes both).
"""

import nibabel as nib
import numpy as np
from scipy import special

from snakelight.io import read_masked_samples, read_samples_table, write_nifti

MAX_LOG_P = 10.0


def fscore_map(masked_samples, labels, runs, mask_img):
    """-log10 p of the F-test between the labels, per voxel, on the samples standardised
    per run, clipped at 10, as an image on ``mask_img``'s grid (float64, 0 outside the mask).

    ``masked_samples``: (samples, mask voxels, in C order), as ``masked_samples.npy``;
    ``labels``, ``runs``: (samples,). As in the seed, a voxel with no within-class
    variance gets NaN if it has no between-class variance either (constant after the
    standardisation: F = 0/0), else 10 (F infinite, p 0).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        p_values = anova_p_values(standardize_per_run(masked_samples, runs), labels)
        log_p = np.minimum(-np.log10(p_values), MAX_LOG_P)
    return unmask(log_p, mask_img)


def standardize_per_run(samples, runs):
    """``nilearn.signal.clean(samples, runs=runs, detrend=False, standardize="zscore_sample")``:
    each run's samples centred and divided by their standard deviation (ddof 1; one
    below float64's eps taken as 1, so a voxel constant in the run is 0 there; a
    one-sample run left as it is), in the samples' dtype. (samples, voxels) -> same.

    nilearn stacks the runs in sorted order of their labels, so the rows stay in the
    samples' order (and match the labels) only when each run's samples are contiguous
    and the runs sorted, as in Haxby's, the generated and BIDS data; this keeps
    nilearn's order whatever the runs.
    """
    # Boolean indexing copies each run in C order, as nilearn's run arrays are (sums over
    # samples depend on the layout, and masked_samples.npy is in Fortran order).
    return np.vstack([_zscore(samples[runs == run]) for run in np.unique(runs)])


def _zscore(signals):
    if len(signals) == 1:
        return signals
    centred = signals - signals.mean(axis=0)
    std = centred.std(axis=0, ddof=1)
    std[std < np.finfo(np.float64).eps] = 1.0
    centred /= std
    return centred


def anova_p_values(samples, labels):
    """scikit-learn's ``f_classif(samples, labels)[1]``: the p-value of the one-way
    ANOVA F between the classes (sorted), per column of ``samples`` (samples, voxels).

    scikit-learn's dtypes: the sums of squares in the samples' dtype, except the
    between-class one, which its division by NumPy int64 class sizes makes float64
    (NumPy 2's promotion), and so the within-class one and F.
    """
    groups = [samples[labels == label] for label in np.unique(labels)]
    n_samples, n_classes = len(samples), len(groups)
    class_sums = [group.sum(axis=0) for group in groups]
    grand_mean_term = sum(class_sums) ** 2 / float(n_samples)
    total = sum((group**2).sum(axis=0) for group in groups) - grand_mean_term
    between = sum((class_sum**2).astype(np.float64) / len(group) for class_sum, group in zip(class_sums, groups))
    between -= grand_mean_term
    within = total - between
    f = (between / float(n_classes - 1)) / (within / float(n_samples - n_classes))
    return special.fdtrc(n_classes - 1, n_samples - n_classes, f)


def unmask(values, mask_img):
    """``NiftiMasker.inverse_transform(values)`` of (mask voxels,) values: a 3D image with
    the values' dtype on ``mask_img``'s grid, 0 outside the mask. nilearn's ``unmask``
    makes a new header from the affine alone (sform code aligned, qform unknown: none of
    the mask's other fields), to which ``new_img_like`` adds the data's range."""
    mask = np.asanyarray(mask_img.dataobj).astype(bool)  # as masked_samples.npy's columns
    data = np.zeros(mask.shape, dtype=values.dtype)
    data[mask] = values
    img = nib.Nifti1Image(data, mask_img.affine)
    img.header["cal_max"], img.header["cal_min"] = np.max(data), np.min(data)
    return img


def write_fscores(masked_samples, samples_table, mask_img, output):
    """Write the F-score map of ``masked_samples.npy`` (labels and runs from
    ``samples.tsv``) on the brain mask's grid to ``output``."""
    table = read_samples_table(samples_table)
    img = fscore_map(
        read_masked_samples(masked_samples), table["label"].to_numpy(), table["run"].to_numpy(), nib.load(mask_img)
    )
    write_nifti(output, img)
    return img
