"""A small generated BIDS dataset with an fMRIPrep derivatives folder, offline and
seeded, for the tests of the ``bids`` source (:mod:`snakelight.data.bids`).

The raw dataset holds ``dataset_description.json`` and, per run, ``*_bold.json``
(RepetitionTime), ``*_events.tsv`` and a placeholder bold image (2x2x2 voxels:
fMRIPrep's output is what is read). The fMRIPrep folder (nested as
``derivatives/fmriprep/`` or anywhere else) holds its own description
(``DatasetType: derivative``, ``GeneratedBy: fMRIPrep``) and, per run, the
preprocessed bold image and its JSON sidecar, the functional brain mask and the
confounds (TSV + JSON, fMRIPrep's columns), plus an anatomical brain mask per subject
in the same space (which discovery must not take for the functional one).

The preprocessed bold is baseline x (1 + 1% x (signal + noise + drift)): unit white
noise, a slow drift, and inside a small cube (``region``) a condition-specific voxel
pattern times the condition's regressor (the events convolved with nilearn's Glover
HRF), so that a GLM's betas there are the patterns, in percent signal change. Each
subject has its own patterns, the same in every run.

With ``geometry="rsa"`` the conditions are Haxby's 8 categories with the planted
representational geometry of :mod:`snakelight.rsa.synthetic`
(:func:`snakelight.data.synthetic.geometry_patterns`): in the cube the categories follow
the animacy model, in a second cube (``SHAPE_REGION``) the shape model.

With ``parametric_effect``, every event also has a ``rating`` (an integer 1..5) and a
second cube beside the first (``parametric_region``) responds to it: a voxel pattern
(``parametric_effect`` x unit normal values, per subject) times the events' regressor
modulated by the centred rating (rating - 3), so that a trial's beta there moves along
the pattern with its rating: a planted parametric effect for continuous targets.
"""

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from snakelight.data.bids import BRAIN_MASK, CONFOUNDS, EVENTS, MISSING, bids_name
from snakelight.data.haxby_design import CATEGORIES, RATING_COLUMN
from snakelight.data.synthetic import geometry_patterns
from snakelight.io import atomic_path, write_json

CONDITIONS = ("face", "house")
SPACE = "MNI152NLin2009cAsym"
FMRIPREP_VERSION = "24.1.1"
VOXEL_SIZE = 3.0
# The planted region: a cube of voxels, inside the functional mask (which leaves out a
# one-voxel border).
REGION = (slice(2, 5),) * 3
# geometry "rsa": the shape model's cube, diagonally beside the animacy one.
SHAPE_REGION = (slice(5, 8),) * 3
# The parametric effect's cube: beside REGION along x (in the mask of 8^3 grids and up).
PARAMETRIC_REGION = (slice(5, 7), slice(2, 5), slice(2, 5))
RATINGS = (1, 5)
# Event-related design: 1 s trials, 10-13 s apart; block design: 16 s blocks, 8 s apart.
TRIAL_SECONDS, TRIAL_SOA = 1.0, (10.0, 13.0)
BLOCK_SECONDS, BLOCK_GAP, BLOCKS_PER_CONDITION = 16.0, 8.0, 3
FIRST_ONSET = 4.0
# Volumes whose framewise displacement is over nilearn's default scrubbing threshold.
HIGH_MOTION_VOLUMES = (40, 41)
# fMRIPrep's confound names.
MOTION = ("trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z")
TISSUE = ("csf", "white_matter", "global_signal")
N_COMPCOR = 5


@dataclass(frozen=True)
class SyntheticBids:
    """What was written: the two folders, each run's events as written (n/a rows
    included; key (subject, session, run), session ``""`` without sessions), the
    planted region (a boolean array on the bold grid), the label column, with
    ``geometry="rsa"``, ``truth`` (an int array on the bold grid: 1 the animacy
    model's cube, which is ``region``, 2 the shape model's, 0 elsewhere), and the
    parametric effect's region (all False without one)."""

    bids_dir: Path
    derivatives: Path
    events: dict
    region: np.ndarray
    label_column: str
    truth: np.ndarray | None = None
    parametric_region: np.ndarray = None


def write_dataset(
    bids_dir,
    *,
    subjects=("01",),
    sessions=(),
    n_runs=3,
    task="faces",
    derivatives=None,
    design="event",
    trials_per_condition=6,
    stim_type=False,
    na_events=False,
    spaces=(SPACE,),
    res=None,
    shape=(10, 10, 10),
    n_volumes=100,
    t_r=2.0,
    effect_size=3.0,
    geometry=None,
    parametric_effect=None,
    seed=0,
):
    """Write the dataset (module docstring) and return its :class:`SyntheticBids`.

    ``subjects``/``sessions``: labels ("01" or "1"; no sessions: the files carry no
    ses entity); ``derivatives``: the fMRIPrep folder, default
    ``<bids_dir>/derivatives/fmriprep``; ``design``: "event" (``trials_per_condition``
    1 s trials of each condition, shuffled) or "block" (3 blocks per condition);
    ``stim_type``: the conditions go in a ``stim_type`` column and ``trial_type`` is
    "stimulus" throughout; ``na_events``: two unmodelled events per run with n/a in the
    condition column; ``spaces``/``res``: the preprocessed outputs written (the same
    data in each space); ``geometry``: None (face and house) or "rsa" (module docstring);
    ``parametric_effect``: a number writes the ``rating`` column and plants its effect
    (module docstring), None neither.
    """
    bids_dir = Path(bids_dir)
    derivatives = bids_dir / "derivatives" / "fmriprep" if derivatives is None else Path(derivatives)
    rng = np.random.default_rng(seed)
    affine = np.diag([VOXEL_SIZE] * 3 + [1.0])
    region = np.zeros(shape, dtype=bool)
    region[REGION] = True
    truth = None
    if geometry == "rsa":
        truth = region.astype(int)
        truth[SHAPE_REGION] = 2
        conditions, planted = CATEGORIES, truth > 0
    elif geometry is None:
        conditions, planted = CONDITIONS, region
    else:
        raise ValueError(f"geometry must be None or 'rsa', got {geometry!r}")
    parametric_region = np.zeros(shape, dtype=bool)
    # Its own generator: the data without the effect stay those of the same seed.
    parametric_rng = np.random.default_rng([seed, 1])
    if parametric_effect is not None:
        parametric_region[PARAMETRIC_REGION] = True
    write_json(bids_dir / "dataset_description.json", {"Name": "snakelight synthetic", "BIDSVersion": "1.9.0"})
    write_json(
        derivatives / "dataset_description.json",
        {
            "Name": "fMRIPrep - fMRI PREProcessing workflow",
            "BIDSVersion": "1.9.0",
            "DatasetType": "derivative",
            "GeneratedBy": [{"Name": "fMRIPrep", "Version": FMRIPREP_VERSION}],
        },
    )
    label_column = "stim_type" if stim_type else "trial_type"
    all_events = {}
    for subject in subjects:
        if truth is None:
            patterns = effect_size * rng.standard_normal((len(conditions), int(planted.sum())))
        else:
            patterns = effect_size * geometry_patterns(truth[planted], rng)
        parametric = (parametric_effect or 0.0) * parametric_rng.standard_normal(int(parametric_region.sum()))
        _write_anat_mask(derivatives, subject, spaces, res, affine, shape)
        for session in sessions or ("",):
            for run in range(1, n_runs + 1):
                entities = {"subject": subject, "session": session or None, "task": task, "run": run}
                events = _events(design, conditions, trials_per_condition, n_volumes * t_r, stim_type, na_events, rng)
                if parametric_effect is not None:
                    events = _rated(events, label_column, parametric_rng)
                rated = (parametric, parametric_region) if parametric_effect is not None else None
                bold = _bold(events, label_column, dict(zip(conditions, patterns)), planted, n_volumes, t_r, rng, rated)
                _write_raw_run(bids_dir, entities, events, n_volumes, t_r)
                _write_derivative_run(derivatives, entities, spaces, res, bold, affine, t_r, rng)
                all_events[(subject, session, run)] = events
    return SyntheticBids(bids_dir, derivatives, all_events, region, label_column, truth, parametric_region)


def _rated(events, label_column, rng):
    """``events`` with a rating column: 1..5 for each condition's event, n/a for others."""
    modelled = (events[label_column] != MISSING).to_numpy()
    ratings = rng.integers(RATINGS[0], RATINGS[1] + 1, len(events)).astype(object)
    ratings[~modelled] = MISSING
    return events.assign(**{RATING_COLUMN: ratings})


def _rating_regressor(modelled, n_volumes, t_r):
    """(n_volumes,): the ``modelled`` events' regressor, each event modulated by its
    centred rating (nilearn's ``modulation`` column)."""
    from nilearn.glm.first_level import make_first_level_design_matrix

    return make_first_level_design_matrix(
        np.arange(n_volumes) * t_r,
        pd.DataFrame(
            {
                "onset": modelled["onset"],
                "duration": modelled["duration"],
                "trial_type": RATING_COLUMN,
                "modulation": modelled[RATING_COLUMN].astype(float) - np.mean(RATINGS),
            }
        ),
        hrf_model="glover",
        drift_model=None,
    )[RATING_COLUMN].to_numpy()


def _events(design, conditions, trials_per_condition, run_seconds, stim_type, na_events, rng):
    """A run's events table: onset, duration, trial_type (and stim_type), by onset."""
    if design == "event":
        conditions = rng.permutation(np.repeat(conditions, trials_per_condition))
        onsets = FIRST_ONSET + np.concatenate([[0], np.cumsum(rng.uniform(*TRIAL_SOA, len(conditions) - 1))])
        durations = np.full(len(conditions), TRIAL_SECONDS)
    else:
        conditions = rng.permutation(np.repeat(conditions, BLOCKS_PER_CONDITION))
        onsets = FIRST_ONSET + np.arange(len(conditions)) * (BLOCK_SECONDS + BLOCK_GAP)
        durations = np.full(len(conditions), BLOCK_SECONDS)
    if onsets[-1] + durations[-1] > run_seconds:
        raise ValueError(f"the {design} design needs {onsets[-1] + durations[-1]:g} s; the run has {run_seconds:g}")
    events = pd.DataFrame({"onset": np.round(onsets, 1), "duration": durations, "condition": conditions})
    if na_events:  # e.g. button presses, with no condition
        presses = pd.DataFrame({"onset": np.round(onsets[[0, -1]] + 2.0, 1), "duration": 0.5, "condition": MISSING})
        events = pd.concat([events, presses]).sort_values("onset", kind="stable", ignore_index=True)
    if stim_type:
        return pd.DataFrame(
            {
                "onset": events["onset"],
                "duration": events["duration"],
                "trial_type": np.where(events["condition"] == MISSING, "response", "stimulus"),
                "stim_type": events["condition"],
            }
        )
    return events.rename(columns={"condition": "trial_type"})


def _bold(events, label_column, patterns, region, n_volumes, t_r, rng, parametric=None):
    """float32 image data (x, y, z, volumes): the module docstring's model; ``patterns``
    condition -> its pattern over the ``region`` voxels; ``parametric``: (pattern, region)
    of the rating's effect, or None."""
    from nilearn.glm.first_level import make_first_level_design_matrix  # nilearn.glm: ~1 s to import

    modelled = events[events[label_column] != MISSING]
    regressors = make_first_level_design_matrix(
        np.arange(n_volumes) * t_r,
        pd.DataFrame(
            {"onset": modelled["onset"], "duration": modelled["duration"], "trial_type": modelled[label_column]}
        ),
        hrf_model="glover",
        drift_model=None,
    )
    shape = region.shape
    percent = rng.standard_normal((*shape, n_volumes))
    percent += rng.normal(0, 1, shape)[..., None] * np.cos(np.linspace(0, np.pi, n_volumes))
    for condition, pattern in patterns.items():
        percent[region] += pattern[:, None] * regressors[condition].to_numpy()
    if parametric is not None:
        pattern, parametric_region = parametric
        percent[parametric_region] += pattern[:, None] * _rating_regressor(modelled, n_volumes, t_r)
    baseline = rng.uniform(500, 1500, shape)[..., None]
    return (baseline * (1 + 0.01 * percent)).astype(np.float32)


def _write_raw_run(bids_dir, entities, events, n_volumes, t_r):
    func = _func_dir(bids_dir, entities)
    placeholder = nib.Nifti1Image(np.zeros((2, 2, 2, n_volumes), dtype=np.int16), np.eye(4))
    placeholder.header.set_zooms((1.0, 1.0, 1.0, t_r))
    _write_image(func / bids_name(entities, "bold", ".nii.gz"), placeholder)
    write_json(func / bids_name(entities, "bold", ".json"), {"RepetitionTime": t_r, "TaskName": entities["task"]})
    with atomic_path(func / bids_name(entities, EVENTS["suffix"], EVENTS["extension"])) as tmp:
        events.to_csv(tmp, sep="\t", index=False, float_format="%g")


def _write_derivative_run(derivatives, entities, spaces, res, bold, affine, t_r, rng):
    func = _func_dir(derivatives, entities)
    mask = np.zeros(bold.shape[:3], dtype=np.uint8)
    mask[1:-1, 1:-1, 1:-1] = 1
    for space in spaces:
        resampled = {**entities, "space": space, "res": res}
        image = nib.Nifti1Image(bold, affine)
        image.header.set_zooms((VOXEL_SIZE,) * 3 + (t_r,))
        image.header.set_xyzt_units("mm", "sec")
        _write_image(func / bids_name({**resampled, "desc": "preproc"}, "bold", ".nii.gz"), image)
        write_json(
            func / bids_name({**resampled, "desc": "preproc"}, "bold", ".json"),
            {"RepetitionTime": t_r, "TaskName": entities["task"], "SkullStripped": False},
        )
        _write_image(
            func / bids_name({**resampled, "desc": BRAIN_MASK["desc"]}, BRAIN_MASK["suffix"], ".nii.gz"),
            nib.Nifti1Image(mask, affine),
        )
    confounds, sidecar = _confounds(bold.shape[3], t_r, rng)
    name = bids_name({**entities, "desc": CONFOUNDS["desc"]}, CONFOUNDS["suffix"], CONFOUNDS["extension"])
    with atomic_path(func / name) as tmp:
        confounds.to_csv(tmp, sep="\t", index=False, na_rep=MISSING, float_format="%.6g")
    write_json(func / name.replace(CONFOUNDS["extension"], ".json"), sidecar)


def _write_anat_mask(derivatives, subject, spaces, res, affine, shape):
    """fMRIPrep's anatomical brain mask: every voxel, so that taking it for the
    functional one shows."""
    anat = derivatives / f"sub-{subject}" / "anat"
    for space in spaces:
        entities = {"subject": subject, "space": space, "res": res, "desc": BRAIN_MASK["desc"]}
        _write_image(
            anat / bids_name(entities, BRAIN_MASK["suffix"], ".nii.gz"),
            nib.Nifti1Image(np.ones(shape, dtype=np.uint8), affine),
        )


def _confounds(n_volumes, t_r, rng):
    """fMRIPrep's confounds table (random values, n/a where fMRIPrep writes it) and
    the JSON sidecar nilearn's load_confounds reads for CompCor."""
    columns = {}
    for base in (*MOTION, *TISSUE):
        series = np.cumsum(rng.normal(0, 0.02, n_volumes))
        derivative = np.concatenate([[np.nan], np.diff(series)])
        columns.update(
            {
                base: series,
                f"{base}_derivative1": derivative,
                f"{base}_power2": series**2,
                f"{base}_derivative1_power2": derivative**2,
            }
        )
    framewise = np.abs(rng.normal(0.1, 0.03, n_volumes))
    framewise[list(HIGH_MOTION_VOLUMES)] = 0.9
    framewise[0] = np.nan
    dvars = np.concatenate([[np.nan], np.abs(rng.normal(1.0, 0.1, n_volumes - 1))])
    columns.update({"std_dvars": dvars, "dvars": 20 * dvars, "framewise_displacement": framewise})
    sidecar = {}
    for k in range(N_COMPCOR):
        columns[f"a_comp_cor_{k:02d}"] = rng.standard_normal(n_volumes)
        sidecar[f"a_comp_cor_{k:02d}"] = {"Method": "aCompCor", "Mask": "combined", "Retained": True}
    # fMRIPrep's discrete cosine basis for its 128 s high-pass filter.
    times = np.arange(n_volumes)
    for k in range(int(2 * n_volumes * t_r / 128)):
        columns[f"cosine{k:02d}"] = np.sqrt(2 / n_volumes) * np.cos(np.pi * (times + 0.5) * (k + 1) / n_volumes)
    return pd.DataFrame(columns), sidecar


def _func_dir(root, entities):
    session = f"ses-{entities['session']}" if entities.get("session") else ""
    return Path(root, f"sub-{entities['subject']}", session, EVENTS["datatype"])


def _write_image(path, image):
    with atomic_path(path) as tmp:
        image.to_filename(tmp)
