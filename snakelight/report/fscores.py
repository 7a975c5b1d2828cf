"""The seed's univariate comparison: an ANOVA F-test per voxel."""

import nibabel as nib
import numpy as np
from nilearn.maskers import NiftiMasker
from sklearn.feature_selection import f_classif

from snakelight.io import read_samples_table, write_nifti

MAX_LOG_P = 10.0


def fscore_map(samples_img, labels, runs, mask_img):
    """-log10 p of ``f_classif`` on the data standardised per run, clipped at 10."""
    masker = NiftiMasker(mask_img=mask_img, runs=runs, standardize="zscore_sample")
    X = masker.fit_transform(samples_img)
    _, p_values = f_classif(X, labels)
    log_p = np.minimum(-np.log10(p_values), MAX_LOG_P)
    return masker.inverse_transform(log_p)


def write_fscores(samples_img, samples_table, mask_img, output):
    table = read_samples_table(samples_table)
    img = fscore_map(nib.load(samples_img), table["label"].to_numpy(), table["run"].to_numpy(), nib.load(mask_img))
    write_nifti(output, img)
    return img
