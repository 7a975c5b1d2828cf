"""``samples.mode: glm``: the samples are GLM beta estimates (nilearn's
``FirstLevelModel``, effect sizes in percent signal change), one GLM per run (never
one across runs), from the runs table of :mod:`snakelight.data.bids`.

Each run's design is its events (:func:`snakelight.data.bids.read_events`: the label
column's values as conditions, n/a rows and extra columns dropped), with every event
modelled; the samples are the events whose label is kept (``include``/``exclude``),
estimated as ``estimate`` says:

- ``lss`` (least squares, separate): one GLM per sample trial, that trial its own
  regressor and every other trial grouped by condition (nilearn's beta-series example);
- ``lsa`` (least squares, all): one GLM, each sample trial its own regressor, the
  other events grouped by condition;
- ``condition``: one GLM, one beta per kept condition.

Confounds come from fMRIPrep's table through nilearn's ``load_confounds`` (``strategy``
a list of noise components) or ``load_confounds_strategy`` (``strategy`` the name of a
predefined one), with the config's other ``confounds`` keys as their parameters; their
``sample_mask`` (scrubbed and non-steady-state volumes) goes to the fit. The drift is
modelled once: with ``drift_model: cosine`` (nilearn's high-pass), fMRIPrep's
``cosine*`` regressors are dropped from the confounds; with ``drift_model: null`` they
stay (when the strategy has ``high_pass``). They are dropped after loading, since
nilearn requires ``high_pass`` in a strategy that has ``compcor``.

Output, the samples contract the searchlight reads: a 4D image of the betas (one
volume per sample, float32, runs in the runs table's order, a run's samples in events
row order, or in condition order), the row-aligned samples table (SAMPLES_COLUMNS:
``label``; ``run``, the run's position from 1 among the subject's runs, the
cross-validation group; ``session`` and ``bids_run``, the run's BIDS labels;
``event_rows``, the events-file rows (from 1) the beta stands for, comma-separated;
``onset``, the trial's onset in seconds, empty for a condition beta; then a trial
beta's values, its events row's numeric columns such as a rating, the continuous targets'
one home), and the mask the
GLMs were fitted in (the intersection of the runs' functional brain masks).

With ``condition``, on request, also the GLMs' residuals (:class:`Residuals`), the noise
that RSA's crossnobis normalises by (rsatoolbox's ``prec_from_residuals`` takes a GLM's
residuals): with one beta per condition and run the betas leave none of their own.
"""

from typing import NamedTuple

import nibabel as nib
import numpy as np
import pandas as pd

from snakelight.data.bids import read_events
from snakelight.io import InputError, atomic_path, one_line

# Where the GLM keys sit in the workflow's config, for messages; the labelling keys
# (label_column, include, exclude) sit one level up, shared with samples.mode volumes.
CONFIG_KEY = "samples.glm"
LABELS_KEY = "samples"
LABEL_KEYS = ("label_column", "include", "exclude")
ESTIMATES = ("lss", "lsa", "condition")
DEFAULTS = {
    "estimate": "lss",
    "label_column": "trial_type",
    "include": None,  # None: every label
    "exclude": [],
    "hrf_model": "glover",
    "drift_model": "cosine",
    "high_pass": 0.01,  # Hz: nilearn's default (a 100 s cut-off)
    "smoothing_fwhm": None,
    "confounds": {"strategy": ["motion", "high_pass", "wm_csf"]},  # load_confounds' default strategy
}
SAMPLES_COLUMNS = ("label", "run", "session", "bids_run", "event_rows", "onset")
# Separates a trial's condition from its events row in the trial's regressor name.
TRIAL_SEPARATOR = "__"


class Residuals(NamedTuple):
    """``residuals`` (kept volumes of every run, mask voxels) float32, the runs' GLM
    residuals stacked in the runs table's order, voxels as the masked samples' columns;
    ``dof`` their degrees of freedom, the sum over runs of kept volumes minus the rank
    of the design."""

    residuals: np.ndarray
    dof: int


class BetaSeries(NamedTuple):
    """:func:`beta_series`'s outputs; ``residuals`` a :class:`Residuals`, or None when
    not asked for."""

    samples_img: nib.Nifti1Image
    table: pd.DataFrame
    mask_img: nib.Nifti1Image
    residuals: Residuals | None


def write_residuals(path, residuals):
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, residuals=residuals.residuals, dof=residuals.dof)


def read_residuals(path):
    """The :class:`Residuals` :func:`write_beta_series` wrote."""
    with np.load(path) as data:
        return Residuals(data["residuals"], int(data["dof"]))


def glm_config(samples):
    """The GLM config (DEFAULTS' keys) from the workflow's ``samples`` section: its
    ``glm`` keys and the labelling keys (LABELS_KEY) beside them."""
    return {**samples["glm"], **{key: samples[key] for key in LABEL_KEYS}}


def write_beta_series(runs, config, samples_img_path, samples_table_path, mask_path, residuals_path=None):
    """Write :func:`beta_series`'s image, table (TSV), mask and, given a
    ``residuals_path``, residuals; return the table."""
    series = beta_series(runs, config, residuals=residuals_path is not None)
    for path, img in ((samples_img_path, series.samples_img), (mask_path, series.mask_img)):
        with atomic_path(path) as tmp:
            img.to_filename(tmp)
    with atomic_path(samples_table_path) as tmp:
        series.table.to_csv(tmp, sep="\t", index=False)
    if residuals_path is not None:
        write_residuals(residuals_path, series.residuals)
    return series.table


def beta_series(runs, config, residuals=False):
    """One subject's samples, a :class:`BetaSeries`, as the module docstring says.
    ``runs``: the subject's rows of the runs table; ``config``: the DEFAULTS' keys;
    ``residuals``: also the GLMs' residuals (estimate ``condition`` only)."""
    # confounds' keys merge with the default's: a parameter alone keeps the strategy.
    config = {**DEFAULTS, **config, "confounds": {**DEFAULTS["confounds"], **config.get("confounds", {})}}
    if config["estimate"] not in ESTIMATES:
        raise InputError(
            f"config key {CONFIG_KEY}.estimate: {config['estimate']!r} is not one of {', '.join(ESTIMATES)}"
        )
    if residuals and config["estimate"] != "condition":
        raise ValueError(f"GLM residuals are kept for estimate 'condition' only, not {config['estimate']!r}")
    mask_img = subject_mask(runs["mask"])
    events = [read_events(path, config["label_column"]) for path in runs["events"]]
    kept = kept_labels(events, config, runs["events"])
    betas, tables, run_residuals = [], [], []
    for group, (record, run_events) in enumerate(zip(runs.itertuples(index=False), events), start=1):
        run_betas, table, found = run_beta_series(record, run_events, kept, config, mask_img, residuals)
        betas += run_betas
        tables.append(table.assign(run=group, session=record.session, bids_run=record.run))
        run_residuals.append(found)
    # float32, as the masked samples the searchlight reads.
    samples = np.stack([beta.get_fdata(dtype=np.float32) for beta in betas], axis=-1)
    samples_img = nib.Nifti1Image(samples, mask_img.affine)
    table = pd.concat(tables, ignore_index=True)
    # The trials' values (events' numeric columns) after the samples contract's columns.
    table = table.reindex(columns=[*SAMPLES_COLUMNS, *(c for c in table.columns if c not in SAMPLES_COLUMNS)])
    stacked = None
    if residuals:
        stacked = Residuals(np.concatenate([r.residuals for r in run_residuals]), sum(r.dof for r in run_residuals))
    return BetaSeries(samples_img, table, mask_img, stacked)


def subject_mask(mask_paths):
    """The voxels inside every run's functional brain mask (uint8 image)."""
    from nilearn.masking import intersect_masks

    return intersect_masks(list(mask_paths), threshold=1, connected=False)


def kept_labels(events, config, paths):
    """The labels whose events are samples, in ``include``'s order (default: sorted),
    less ``exclude``. ``events``: each run's events (:func:`read_events`)."""
    present = sorted(set().union(*(set(run["trial_type"]) for run in events)))
    include = present if config["include"] is None else [str(label) for label in config["include"]]
    absent = [label for label in include if label not in present]
    if absent:
        raise InputError(
            f"config key {LABELS_KEY}.include: no event is labelled {absent[0]!r} in column "
            f"{config['label_column']!r} of {', '.join(paths)} (labels: {', '.join(present)})"
        )
    excluded = {str(label) for label in config["exclude"]}
    kept = [label for label in include if label not in excluded]
    if not kept:
        raise InputError(f"config key {LABELS_KEY}.exclude: it leaves no label (labels: {', '.join(present)})")
    return kept


def run_beta_series(record, events, kept, config, mask_img, residuals=False):
    """One run's betas (3D images), their rows of the samples table (label, event_rows,
    onset, and a trial's values) and, with ``residuals`` (estimate ``condition``: one
    GLM), its :class:`Residuals`, else None. ``record``: the run's row of the runs table."""
    from nilearn.glm.first_level import FirstLevelModel
    from nilearn.image import load_img
    from nilearn.maskers import NiftiMasker

    confounds, sample_mask = run_confounds(record.bold, config["confounds"], config["drift_model"])
    # Loaded once: every GLM of the run (LSS fits one per trial) reads the same array.
    run_img = load_img(record.bold)
    # A fitted masker, not the mask image: given an image, FirstLevelModel.fit warns that
    # it ignores a mask computation nobody asked for. The masker smooths, as the
    # model's own would with smoothing_fwhm.
    masker = NiftiMasker(mask_img=mask_img, smoothing_fwhm=config["smoothing_fwhm"]).fit()
    betas, rows, found = [], [], None
    for design_events, samples in designs(events, kept, config["estimate"]):
        model = FirstLevelModel(
            t_r=record.t_r,
            mask_img=masker,
            hrf_model=config["hrf_model"],
            drift_model=config["drift_model"],
            high_pass=config["high_pass"],
            minimize_memory=not residuals,  # False keeps the residuals
        )
        model.fit(run_img, events=design_events, confounds=confounds, sample_masks=sample_mask)
        columns = model.design_matrices_[0].columns
        for regressor, row in samples.items():
            # A contrast vector, not the regressor's name: nilearn parses names as
            # formulas, which labels with spaces or dashes break.
            betas.append(model.compute_contrast((columns == regressor).astype(float), output_type="effect_size"))
            rows.append(row)
        if residuals:
            found = _residuals(model, mask_img)
    return betas, pd.DataFrame(rows), found


def _residuals(model, mask_img):
    """The :class:`Residuals` of a fitted one-run FirstLevelModel, in ``mask_img``'s voxels."""
    from nilearn.masking import apply_mask

    design = model.design_matrices_[0].to_numpy()  # its kept volumes' rows only
    residuals = apply_mask(model.residuals_[0], mask_img).astype(np.float32)
    if len(residuals) != len(design):
        raise ValueError(f"{len(residuals)} residual volumes for a design of {len(design)}")
    return Residuals(residuals, len(residuals) - int(np.linalg.matrix_rank(design)))


def designs(events, kept, estimate):
    """The GLMs of one run: pairs of (events as FirstLevelModel takes them: onset,
    duration, trial_type; {regressor name: its samples-table row (label, event_rows,
    onset, and a trial's values: its events row's numeric columns, the home of a
    continuous target; a condition beta has none)}), one pair per GLM."""
    modelled = events[["onset", "duration", "trial_type"]]
    trials = events[events["trial_type"].isin(kept)]
    if estimate == "condition":
        labels = [label for label in kept if label in set(trials["trial_type"])]
        rows = {
            label: {
                "label": label,
                "event_rows": ",".join(map(str, trials["row"][trials["trial_type"] == label])),
                "onset": np.nan,
            }
            for label in labels
        }
        return [(modelled, rows)]
    names = {index: f"{trial.trial_type}{TRIAL_SEPARATOR}{trial.row:03d}" for index, trial in trials.iterrows()}
    values = [column for column in events.columns if column not in ("onset", "duration", "trial_type", "row")]
    rows = {
        names[index]: {
            "label": trial.trial_type,
            "event_rows": str(trial.row),
            "onset": trial.onset,
            **trial[values].to_dict(),
        }
        for index, trial in trials.iterrows()
    }
    if estimate == "lsa":
        return [(_renamed(modelled, names), rows)]
    return [(_renamed(modelled, {index: name}), {name: rows[name]}) for index, name in names.items()]


def _renamed(events, names):
    """``events`` with the trial_type of rows ``names``' keys set to its values."""
    events = events.copy()
    events.loc[list(names), "trial_type"] = list(names.values())
    return events


def run_confounds(bold_path, confounds_config, drift_model):
    """The run's confounds (DataFrame, or None) and sample mask (kept volume indices, or
    None), loaded by nilearn from fMRIPrep's table beside ``bold_path``.
    ``confounds_config``: ``strategy`` (a list of noise components, a predefined
    strategy's name, or empty/None for no confounds) and its parameters."""
    from nilearn.interfaces.fmriprep import load_confounds, load_confounds_strategy

    parameters = dict(confounds_config)
    strategy = parameters.pop("strategy", None)
    if not strategy:
        return None, None
    try:
        if isinstance(strategy, str):
            confounds, sample_mask = load_confounds_strategy(bold_path, denoise_strategy=strategy, **parameters)
        else:
            confounds, sample_mask = load_confounds(bold_path, strategy=tuple(strategy), **parameters)
    except (ValueError, TypeError) as error:  # nilearn's: unknown strategy or parameter, missing column
        raise InputError(f"config key {CONFIG_KEY}.confounds: {one_line(error)} (for {bold_path})") from None
    if drift_model == "cosine":
        confounds = confounds.drop(columns=[c for c in confounds.columns if c.startswith("cosine")])
    return (confounds if confounds.shape[1] else None), sample_mask
