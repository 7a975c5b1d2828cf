"""rsatoolbox's searchlight functions, with the same inputs, computed many spheres at once.

``get_volume_searchlight``, ``get_searchlight_RDMs`` and ``evaluate_models_searchlight``
take what rsatoolbox.util.searchlight's functions of the same names take (docs/howto/
rsa-python.md shows a notebook switched over); the RDMs come back as a
:class:`SearchlightRDMs` (``.dissimilarities`` as rsatoolbox's RDMs) and the evaluations as
one array instead of a list of Result objects.
"""

from typing import NamedTuple

import numpy as np

from snakelight.data.glm import Residuals
from snakelight.rsa.measure import RSASettings, data_rdms
from snakelight.rsa.models import fit


class SearchlightRDMs(NamedTuple):
    """``dissimilarities`` (n_centers, n_pairs), pairs in rsatoolbox's order;
    ``voxel_index`` (n_centers,) the centres; ``conditions`` (C,) sorted;
    ``dissimilarity_measure`` as rsatoolbox names it."""

    dissimilarities: np.ndarray
    voxel_index: np.ndarray
    conditions: np.ndarray
    dissimilarity_measure: str


def get_volume_searchlight(mask, radius=2, threshold=1.0, truncate_at_boundary=False):
    """rsatoolbox's ``get_volume_searchlight``: (centers (n,), neighbors list of (k,)) as
    flat indices into the volume, the neighbours of a mask voxel being the grid voxels
    less than ``radius`` voxels away (only mask voxels if ``truncate_at_boundary``), kept
    when at least ``threshold`` of them are in the mask. Neighbours come sorted."""
    mask = np.asarray(mask)
    if mask.ndim != 3:
        raise ValueError(f"mask must be a 3-dimensional array, got {mask.ndim} dimensions")
    reach = int(np.ceil(radius))
    grid = np.arange(-reach, reach + 1)
    offsets = np.array(np.meshgrid(grid, grid, grid, indexing="ij")).reshape(3, -1).T
    offsets = offsets[np.linalg.norm(offsets, axis=1) < radius]
    centres = np.argwhere(mask)
    # (centres, offsets, 3): every centre's candidate neighbours at once.
    points = centres[:, None, :] + offsets[None, :, :]
    in_grid = np.all((points >= 0) & (points < mask.shape), axis=2)
    flat = np.ravel_multi_index(tuple(np.clip(points, 0, np.array(mask.shape) - 1).transpose(2, 0, 1)), mask.shape)
    inside = in_grid & (mask.ravel()[flat] > 0)
    keep = inside.sum(axis=1) / in_grid.sum(axis=1) >= threshold
    members = (inside if truncate_at_boundary else in_grid)[keep]
    # Offsets are in C order, so each row's flat indices come sorted.
    neighbors = np.split(flat[keep][members], np.cumsum(members.sum(axis=1))[:-1])
    return np.ravel_multi_index(tuple(centres[keep].T), mask.shape).astype(np.intp), neighbors


def get_searchlight_RDMs(  # noqa: N802 (rsatoolbox's name)
    data_2d,
    centers,
    neighbors,
    events,
    method="correlation",
    verbose=False,
    runs=None,
    noise="none",
    dof=None,
    residuals=None,
):
    """rsatoolbox's ``get_searchlight_RDMs``: the RDM of each centre's neighbours, from
    ``data_2d`` (n_observations, n_channels) labelled ``events``. Crossnobis (which
    rsatoolbox's function cannot compute) needs ``runs`` (n_observations,), the folds, and
    takes ``noise`` (none, univariate, shrinkage_diag, shrinkage_eye) and ``dof``; the noise
    is the observations' own residuals (each minus its condition and run mean) unless
    ``residuals`` (n_timepoints, n_channels) are given, e.g. a first-level GLM's, with
    their ``dof`` (as rsatoolbox's ``prec_from_residuals(residuals, dof)``).
    ``verbose`` is accepted for compatibility (there is no progress bar to show)."""
    del verbose
    data_2d = np.asarray(data_2d)
    runs = np.zeros(len(data_2d), dtype=int) if runs is None else runs
    if method == "crossnobis" and len(np.unique(runs)) < 2:
        raise ValueError("crossnobis searchlight RDMs need runs= (the cross-validation folds)")
    used = np.unique(np.concatenate(neighbors))
    # Only the voxels some sphere uses: a whole-volume data_2d holds mostly background.
    columns = [np.searchsorted(used, np.sort(n)) for n in neighbors]
    if residuals is not None:
        if dof is None:
            raise ValueError("residuals= needs dof=, their degrees of freedom")
        residuals = Residuals(np.asarray(residuals)[:, used], dof)
    settings = RSASettings(method=method, noise=noise, dof=dof)
    conditions, rdms = data_rdms(data_2d[:, used], events, runs, columns, settings, residuals)
    measure = {"euclidean": "squared euclidean"}.get(method, method)
    return SearchlightRDMs(rdms, np.asarray(centers), conditions, measure)


def evaluate_models_searchlight(sl_RDM, models, eval_function=None, method="corr", theta=None, n_jobs=1):  # noqa: N803
    """rsatoolbox's ``evaluate_models_searchlight``: (n_centers, n_models) evaluations of
    the models by ``method`` (spearman, tau-a, corr; or ols, nnls for regression weights).
    ``models`` is a model, or a list of them: rsatoolbox ModelFixed objects (their
    ``.rdm``), or (n_pairs,) vectors in the RDMs' pair order. ``eval_function``,
    ``theta`` and ``n_jobs`` are accepted for compatibility and not used."""
    del eval_function, theta, n_jobs
    if not isinstance(models, (list, tuple)):
        models = [models]
    vectors = np.stack([np.asarray(getattr(m, "rdm", m), dtype=np.float64).ravel() for m in models])
    return fit(sl_RDM.dissimilarities, vectors, method)
