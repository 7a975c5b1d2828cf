"""The group stage of the workflow: read the subjects' maps, run one group method, write
its maps, cluster table, figure, report page and JSON sidecars.

Inputs per subject (``snakelight/io.py``'s contract): the accuracy map
``searchlight.nii.gz`` and ``process_mask.nii.gz``, and for Stelzer and prevalence
inference ``searchlight_null.nii.gz`` (4-D, one permutation map per volume). Every file
must be on the first subject's grid (shape and affine). The group mask is the
intersection of the subjects' process masks. Every method writes, under its folder:
``<map>.nii.gz`` for each of :func:`snakelight.inference.group.method_maps` (values inside the group mask, zeros
outside; ``-log10 p`` maps are named ``logp_*``), ``clusters.tsv`` (:data:`CLUSTER_COLUMNS`),
``clusters.html`` (the table and how it was computed, for the report), ``group.png``
(the subjects' mean score of the voxels significant at FWE alpha in the method's FWE map,
over the group mask) and a sidecar per map.
"""

from dataclasses import dataclass

import nibabel as nib
import numpy as np
import pandas as pd
from scipy import ndimage

from snakelight.inference.feasibility import combinations
from snakelight.inference.group import stack_subject_maps, to_images
from snakelight.io import InputError, atomic_path, write_nifti
from snakelight.provenance import write_sidecars

CLUSTER_COLUMNS = ("cluster", "size", "peak_x_mm", "peak_y_mm", "peak_z_mm", "peak_accuracy", "p_fwe")


@dataclass(frozen=True)
class Study:
    """N subjects' maps over the V voxels of the group mask (C order, ``volume[mask]``)."""

    names: list  # N subject names, e.g. sub-01
    mask: np.ndarray  # 3-D bool: voxels in every subject's process mask
    affine: np.ndarray  # (4, 4): the shared grid's
    observed: np.ndarray  # (N, V) accuracy maps
    null: list | None  # N arrays (P_n, V): each subject's null maps (P_n may differ), or None


@dataclass(frozen=True)
class MethodResult:
    """What a method found: maps, a cluster table with
    peaks as grid indices (peak_i, peak_j, peak_k), the map the figure shows, and the
    facts the report and sidecars state (the null, counts, thresholds)."""

    maps: dict  # name -> (V,), the names method_maps gives
    clusters: pd.DataFrame
    figure_map: str
    details: dict


def read_study(names, maps, process_masks, null_maps=None):
    """A Study from the subjects' files (one path per subject in each list)."""
    reference = nib.load(maps[0])
    images = [nib.load(path) for path in maps]
    masks = [nib.load(path) for path in process_masks]
    for image, path, name in [*zip(images, maps, names), *zip(masks, process_masks, names)]:
        _check_grid(image, path, name, reference, names[0])
    mask = np.logical_and.reduce([np.asarray(image.dataobj) != 0 for image in masks])
    if not mask.any():
        raise InputError(f"{', '.join(process_masks)}: the subjects' process masks share no voxel")
    observed = stack_subject_maps([np.asarray(image.dataobj, dtype=np.float64)[mask] for image in images], maps)
    null = None
    if null_maps is not None:
        null_images = [nib.load(path) for path in null_maps]
        for image, path, name in zip(null_images, null_maps, names):
            _check_grid(image, path, name, reference, names[0], ndim=4)
        # (P_n, V) per subject: the volumes' in-mask values; a subject whose design's distinct
        # relabellings were enumerated has fewer (its permutations.json says how many).
        null = [
            stack_subject_maps([np.asarray(image.dataobj, dtype=np.float64)[mask].T], [path])[0]
            for image, path in zip(null_images, null_maps)
        ]
    return Study(list(names), mask, reference.affine, observed, null)


def _check_grid(image, path, name, reference, reference_name, ndim=3):
    """One line naming both subjects and how their grids differ, or nothing."""
    if image.ndim != ndim:
        raise InputError(f"{path}: {image.ndim}-D image, expected {ndim}-D")
    if image.shape[:3] != reference.shape[:3]:
        raise InputError(
            f"{name} ({path}): grid {_dims(image.shape[:3])} differs from {reference_name}'s "
            f"{_dims(reference.shape[:3])}; group maps need every subject on one grid (normalise them first)"
        )
    difference = np.abs(image.affine - reference.affine).max()
    if difference > 1e-4:
        raise InputError(
            f"{name} ({path}): affine differs from {reference_name}'s by up to {difference:.3g} mm; "
            "group maps need every subject on one grid (normalise them first)"
        )


def _dims(shape):
    return "x".join(map(str, shape))


def run_stelzer(study, *, bootstraps, p_voxel, connectivity, alpha, seed):
    """Stelzer et al.'s permutation-bootstrap, cluster-level FWE."""
    from snakelight.inference.stelzer import stelzer_inference

    result = stelzer_inference(
        study.observed,
        _require_null(study, "stelzer"),
        study.mask,
        bootstraps=bootstraps,
        p_voxel=p_voxel,
        connectivity=connectivity,
        alpha=alpha,
        seed=seed,
    )
    maps = {
        "group_mean": result.group_mean,
        "threshold": result.thresholds,
        "logp_uncorrected": -np.log10(result.p_uncorrected),
        "logp_cluster_fwe": -np.log10(result.cluster_p_fwe),
        "cluster_labels": result.cluster_labels.astype(np.int32),
    }
    details = {
        "null": "each subject's permutation maps (searchlight_null.nii.gz); bootstrap group maps, each "
        "the mean of one null map per subject; cluster FWE from the largest cluster of each bootstrap map",
        "null_maps_per_subject": null_counts(study),
        "bootstraps": len(result.largest_null),
        "all_combinations": combinations(list(null_counts(study).values()), len(study.names)) <= bootstraps,
        "cluster_forming": f"above the (1 - {p_voxel}) quantile of the voxel's bootstrap values",
        "connectivity": connectivity,
        "alpha": alpha,
        "seed": seed,
    }
    return MethodResult(maps, result.clusters.drop(columns="cluster"), "logp_cluster_fwe", details)


def run_prevalence(study, *, permutations, gamma0, alpha, seed):
    """Allefeld et al.'s prevalence inference; clusters of voxels where the prevalence
    null (prevalence <= gamma0) is rejected at alpha, FWE."""
    from snakelight.inference.prevalence import prevalence_inference

    null = _require_null(study, "prevalence")
    first_level = [np.concatenate([observed[None], maps]) for observed, maps in zip(study.observed, null)]
    result = prevalence_inference(first_level, permutations=permutations, alpha=alpha, gamma0=gamma0, seed=seed)
    maps = {
        "minimum": result.minimum,
        "logp_global": -np.log10(result.p_global),
        "logp_global_fwe": -np.log10(result.p_global_fwe),
        "logp_prevalence": -np.log10(result.p_prevalence),
        "logp_prevalence_fwe": -np.log10(result.p_prevalence_fwe),
        # 0 where no bound is supported (NaN in the library): a bound is > 0 where defined.
        "gamma_bound_fwe": np.nan_to_num(result.bound_fwe, nan=0.0),
    }
    details = {
        "null": "each subject's observed and permutation maps (searchlight_null.nii.gz), combined one per "
        "subject by second-level permutations; minimum statistic over subjects",
        "null_maps_per_subject": null_counts(study),
        "second_level_permutations": len(result.combinations),
        "all_combinations": bool(result.enumerated),
        "gamma0": gamma0,
        "largest_gamma_bound_fwe_possible": result.bound_fwe_max,
        "alpha": alpha,
        "seed": seed,
    }
    clusters = significant_clusters(result.p_prevalence_fwe, alpha, study)
    return MethodResult(maps, clusters, "logp_prevalence_fwe", details)


def run_signflip(study, *, n_perm, threshold, alpha, seed, chance):
    """The sign-flip test of accuracy - chance (:mod:`snakelight.inference.signflip`);
    clusters of voxels whose TFCE FWE p is at most alpha."""
    from snakelight.inference.signflip import sign_flip_inference

    result = sign_flip_inference(
        study.observed - chance, study.mask, n_perm=n_perm, threshold=threshold, alpha=alpha, seed=seed
    )
    n_subjects = len(study.names)
    if result.exhaustive:
        null = f"all {result.n_flips} sign patterns of the {n_subjects} subjects' accuracy - chance ({chance}), exact"
    else:
        null = (
            f"the observed and {n_perm} random sign patterns (of {2**n_subjects}) of the subjects' "
            f"accuracy - chance ({chance})"
        )
    details = {
        "null": f"{null}; one-sided; the maximum t, TFCE, cluster size and mass of each",
        "sign_flips": result.n_flips,
        "all_sign_patterns": result.exhaustive,
        "cluster_forming_p": threshold,
        "cluster_forming_t": result.cluster_forming_t,
        "alpha": alpha,
        "seed": seed,
    }
    clusters = significant_clusters(10 ** -result.maps["logp_max_tfce"], alpha, study)
    return MethodResult(result.maps, clusters, "logp_max_tfce", details)


def null_counts(study):
    """Subject name -> its null maps' count, for the sidecars and the report page."""
    return {name: len(maps) for name, maps in zip(study.names, study.null)}


def _require_null(study, method):
    if study.null is None:
        raise InputError(f"group.methods: {method} needs each subject's null maps (searchlight_null.nii.gz)")
    return study.null


def significant_clusters(p_fwe, alpha, study):
    """Face-connected clusters of voxels with p_fwe (V,) <= alpha, largest first: size,
    peak (the largest group-mean accuracy) as grid indices, its accuracy, the cluster's
    smallest p_fwe."""
    volume = np.zeros(study.mask.shape, dtype=bool)
    volume[study.mask] = p_fwe <= alpha
    labels = ndimage.label(volume)[0][study.mask]
    group_mean = study.observed.mean(axis=0)
    grid_index = np.argwhere(study.mask)
    rows = []
    for cluster in range(1, labels.max(initial=0) + 1):
        members = np.flatnonzero(labels == cluster)
        peak = members[np.argmax(group_mean[members])]
        rows.append((len(members), *map(int, grid_index[peak]), group_mean[peak], p_fwe[members].min()))
    table = pd.DataFrame(rows, columns=["size", "peak_i", "peak_j", "peak_k", "peak_accuracy", "p_fwe"])
    return table.sort_values("size", ascending=False, kind="stable").reset_index(drop=True)


def cluster_table(clusters, affine):
    """The table with peaks in mm (CLUSTER_COLUMNS), clusters numbered from 1."""
    ijk = clusters[["peak_i", "peak_j", "peak_k"]].to_numpy(dtype=float).reshape(-1, 3)
    xyz = nib.affines.apply_affine(affine, ijk)
    table = pd.DataFrame(
        {
            "cluster": np.arange(1, len(clusters) + 1),
            "size": clusters["size"].to_numpy(dtype=int),
            "peak_x_mm": xyz[:, 0],
            "peak_y_mm": xyz[:, 1],
            "peak_z_mm": xyz[:, 2],
            "peak_accuracy": clusters["peak_accuracy"].to_numpy(dtype=float),
            "p_fwe": clusters["p_fwe"].to_numpy(dtype=float),
        }
    )
    return table[list(CLUSTER_COLUMNS)]


RUNNERS = {"stelzer": run_stelzer, "prevalence": run_prevalence, "signflip": run_signflip}


def run_group(method, study, settings, *, chance=None):
    """Run ``method`` on a Study with the config's ``group`` section."""
    common = {"alpha": settings["alpha"], "seed": settings["seed"]}
    if method == "signflip":
        return run_signflip(study, **settings["signflip"], **common, chance=chance)
    return RUNNERS[method](study, **settings[method], **common)


def write_group_outputs(result, study, out_dir, *, title, cut_coords, config, inputs):
    """Write the method's maps, clusters.tsv, clusters.html, group.png and sidecars under
    ``out_dir``; ``config`` and ``inputs`` (name -> path) go into the sidecars, with the
    result's details."""
    from snakelight.report.group import plot_group_map

    map_paths = []
    for name, values in result.maps.items():
        path = f"{out_dir}/{name}.nii.gz"
        write_nifti(path, to_images(np.asarray(values), study.mask, study.affine))
        map_paths.append(path)
    table = cluster_table(result.clusters, study.affine)
    with atomic_path(f"{out_dir}/clusters.tsv") as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
    with atomic_path(f"{out_dir}/clusters.html") as tmp:
        with open(tmp, "w") as f:
            f.write(_report_page(title, table, result.details, len(study.names), int(study.mask.sum())))
    alpha = config["group"]["alpha"]
    plot_group_map(
        to_images(study.observed.mean(axis=0), study.mask, study.affine),
        np.asarray(to_images(significant_voxels(result, alpha), study.mask, study.affine).dataobj) != 0,
        to_images(np.ones(study.mask.sum(), dtype=bool), study.mask, study.affine),
        f"{out_dir}/group.png",
        title=title,
        cut_coords=cut_coords,
        alpha=alpha,
    )
    write_sidecars(map_paths, {**config, "method": result.details}, inputs)


def significant_voxels(result, alpha):
    """The voxels (V,) of the method's FWE map (its ``figure_map``, -log10 p) with FWE p at
    most ``alpha``, as the subject figures threshold (snakelight.inference.step.significant)."""
    return np.asarray(result.maps[result.figure_map]) >= -np.log10(alpha)


def _report_page(title, table, details, n_subjects, n_voxels):
    facts = "".join(f"<li>{key.replace('_', ' ')}: {value}</li>" for key, value in details.items())
    return (
        f"<html><body><h2>{title}</h2><p>{n_subjects} subjects, {n_voxels} voxels in every subject's "
        f"process mask.</p><ul>{facts}</ul>"
        f"{table.to_html(index=False, float_format='%.4g') if len(table) else '<p>No significant cluster.</p>'}"
        "</body></html>"
    )


def write_method(
    method, names, maps, process_masks, null_maps, out_dir, *, settings, chance, title, cut_coords, config
):
    """The group step: read the study, run the method, write its outputs; sidecars
    record every subject file's checksum."""
    study = read_study(names, maps, process_masks, null_maps)
    result = run_group(method, study, settings, chance=chance)
    inputs = {}
    for name, map_path, mask_path in zip(names, maps, process_masks):
        inputs[f"{name}_map"] = map_path
        inputs[f"{name}_process_mask"] = mask_path
    for name, path in zip(names, null_maps or []):
        inputs[f"{name}_null_maps"] = path
    write_group_outputs(result, study, out_dir, title=title, cut_coords=cut_coords, config=config, inputs=inputs)
