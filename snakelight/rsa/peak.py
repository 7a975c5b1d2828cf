"""The RDM of the peak sphere of a model-fit map, and the models' RDMs, for the report
(snakelight.report.rsa draws them; nothing here draws)."""

from typing import NamedTuple

import nibabel as nib
import numpy as np
import pandas as pd

from snakelight.io import read_masked_samples, read_samples_table
from snakelight.rsa.distances import square
from snakelight.rsa.measure import data_rdms, model_vectors
from snakelight.searchlight.spheres import sphere_members


class PeakRDM(NamedTuple):
    """``ijk`` (3,) the peak voxel; ``fit`` its map value; ``rdm`` (C, C) its sphere's RDM
    as a DataFrame (conditions sorted, index and columns); ``models`` name -> (C, C)
    DataFrame of each model RDM over the same conditions."""

    ijk: np.ndarray
    fit: float
    rdm: pd.DataFrame
    models: dict


def peak_rdm(fit_map, process_mask, mask_img, masked_samples, samples_table, radius, models, settings, residuals=None):
    """The :class:`PeakRDM` of the process-mask voxel where ``fit_map`` (a path) is largest:
    its sphere of ``radius`` mm in ``mask_img`` (the brain mask), RDM by ``settings``
    (snakelight.rsa.measure.RSASettings) of ``masked_samples`` (samples, mask voxels);
    ``residuals``: a GLM's, as :func:`snakelight.rsa.measure.data_rdms` takes them."""
    fits, process = (np.asarray(nib.load(path).dataobj) for path in (fit_map, process_mask))
    ijk = np.unravel_index(np.argmax(np.where(process != 0, fits, -np.inf)), fits.shape)
    mask_img = nib.load(mask_img)
    sphere = sphere_members(np.asarray(mask_img.dataobj), mask_img.affine, np.array([ijk]), radius)
    table = read_samples_table(samples_table)
    X = read_masked_samples(masked_samples)
    conditions, rdms = data_rdms(X, table["label"].to_numpy(), table["run"].to_numpy(), sphere, settings, residuals)
    names, vectors = model_vectors(models, conditions)

    def frame(vector):
        return pd.DataFrame(square(vector), index=conditions, columns=conditions)

    return PeakRDM(np.array(ijk), float(fits[ijk]), frame(rdms[0]), {n: frame(v) for n, v in zip(names, vectors)})
