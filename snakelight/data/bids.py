"""``dataset.source: bids``: a BIDS dataset preprocessed by fMRIPrep, its files found with
pybids and turned into the per-run table of the ``table`` source
(:mod:`snakelight.own_data`), with the file columns fMRIPrep gives.

Discovery indexes the raw dataset and the fMRIPrep derivatives folder (nested under
``<bids_dir>/derivatives/`` or anywhere else) into a pybids database under a folder
the caller gives; nothing is written inside ``bids_dir``. Each run is one
preprocessed bold image (``desc-preproc_bold`` in the configured ``space``/``res``),
with the functional brain mask (``desc-brain_mask``, ``datatype`` func, so
anatomical masks never match), the confounds (``desc-confounds_timeseries.tsv``), the
events of the RAW dataset (fMRIPrep does not copy them) and the repetition time from
the bold image's JSON sidecar (``RepetitionTime``; fMRIPrep writes it there).

The runs table (:func:`discover`) has one row per run, in subject, session, run order:

- ``subject``, ``session``: BIDS labels as strings (``"01"`` or ``"1"``, as in the file
  names); ``session`` is ``""`` in a dataset without sessions;
- ``run``: the BIDS run index (an integer), ``<NA>`` for a file without a run entity;
- ``bold``, ``mask``, ``confounds``, ``events``: absolute paths;
- ``t_r``: seconds.
"""

import json
from pathlib import Path

import pandas as pd

from snakelight.io import InputError, atomic_path, one_line

# Where the discovery keys sit in the workflow's config, for messages.
CONFIG_KEY = "dataset.bids"
# The discovery keys, named as fMRIPrep's and fitlins' options, and their defaults.
DEFAULTS = {
    "bids_dir": None,
    "derivatives": None,  # None: <bids_dir>/derivatives (one pipeline, or a folder of them)
    "task": None,  # None: the dataset's only task
    "space": "MNI152NLin2009cAsym",
    "res": None,  # None: any resolution (the run must then have one)
    "desc": "preproc",
    "participant_label": None,  # None: every subject
    "exclude_participant_label": None,
    "sessions": None,
    "runs": None,
    "bids_filter_file": None,
}
RUNS_COLUMNS = ("subject", "session", "run", "bold", "mask", "confounds", "events", "t_r")

# BIDS entities, in file-name order, as pybids names them -> their key in file names.
# RUN entities identify a run (the raw events and the confounds carry only those);
# SPACE entities identify the grid an image was resampled to.
RUN_ENTITIES = {
    "subject": "sub",
    "session": "ses",
    "task": "task",
    "acquisition": "acq",
    "ceagent": "ce",
    "reconstruction": "rec",
    "direction": "dir",
    "run": "run",
    "echo": "echo",
    "part": "part",
}
SPACE_ENTITIES = {"space": "space", "res": "res", "den": "den"}
ENTITY_KEYS = {**RUN_ENTITIES, **SPACE_ENTITIES, "desc": "desc"}
NIFTI = [".nii.gz", ".nii"]
# The files of a run, as pybids filters (fMRIPrep's names; the bold's desc is config).
BOLD = {"datatype": "func", "suffix": "bold", "extension": NIFTI}
BRAIN_MASK = {"datatype": "func", "desc": "brain", "suffix": "mask", "extension": NIFTI}
CONFOUNDS = {"datatype": "func", "desc": "confounds", "suffix": "timeseries", "extension": ".tsv"}
EVENTS = {"datatype": "func", "suffix": "events", "extension": ".tsv"}
# BIDS marks a missing value with n/a.
MISSING = "n/a"
# Events columns that never carry a sample's value: read_events' own and the samples table's.
RESERVED_COLUMNS = (
    "onset",
    "duration",
    "trial_type",
    "row",
    "label",
    "run",
    "session",
    "bids_run",
    "event_rows",
    "volume",
)


def bids_name(entities, suffix, extension):
    """A BIDS file name from ``entities`` (pybids names -> labels; None = absent)."""
    parts = [f"{key}-{entities[name]}" for name, key in ENTITY_KEYS.items() if entities.get(name) is not None]
    return "_".join([*parts, suffix]) + extension


def discover(config, database_dir):
    """The runs table (module docstring) of the dataset ``config`` (DEFAULTS' keys)
    describes; the pybids database is written to ``database_dir``."""
    config = {**DEFAULTS, **config}
    layout = index(config["bids_dir"], config["derivatives"], database_dir)
    task = _task(layout, config)
    bold_filters = _bold_filters(config, task)
    rows = []
    for subject in _subjects(layout, config):
        bolds = layout.get(scope="derivatives", subject=subject, **bold_filters)
        if not bolds:
            raise InputError(_no_bold(layout, config, subject, task))
        rows += [_run_row(layout, bold) for bold in bolds]
    table = pd.DataFrame(rows, columns=RUNS_COLUMNS)
    _check_one_bold_per_run(table)
    table["run"] = table["run"].astype("Int64")
    return table.sort_values(["subject", "session", "run"], ignore_index=True)


def index(bids_dir, derivatives, database_dir):
    """The pybids layout of the raw dataset and its derivatives (None: the
    ``derivatives`` folder inside it), indexed anew into ``database_dir``: given an
    existing database, pybids would silently take the root and derivatives stored in
    it over the ones passed."""
    from bids import BIDSLayout, BIDSLayoutIndexer  # pybids takes ~1 s to import

    bids_dir = _existing_dir(bids_dir, "bids_dir")
    derivatives = _existing_dir(derivatives_dir(bids_dir, derivatives), "derivatives")
    _check_described(derivatives)
    # Metadata indexing reads every JSON sidecar: slow on large datasets, and only
    # RepetitionTime is needed (read from the sidecar directly). pybids 0.22 takes the
    # option only through its indexer.
    indexer = BIDSLayoutIndexer(validate=False, index_metadata=False)
    return BIDSLayout(
        bids_dir,
        derivatives=str(derivatives),
        validate=False,
        indexer=indexer,
        database_path=str(database_dir),
        reset_database=True,
    )


DESCRIPTION = "dataset_description.json"


def _check_described(derivatives):
    """pybids indexes a derivatives folder only with its dataset_description.json (in
    it, or in each pipeline's folder inside it), and without one fails later with an
    error about entities that hides the cause."""
    if not (derivatives / DESCRIPTION).is_file() and not any(derivatives.glob(f"*/{DESCRIPTION}")):
        raise InputError(
            f"config key {CONFIG_KEY}.derivatives: {derivatives} holds no {DESCRIPTION} (nor does a folder in it); "
            "fMRIPrep writes one, which BIDS derivatives need: a JSON object with Name, BIDSVersion, "
            'DatasetType "derivative" and GeneratedBy [{"Name": "fMRIPrep"}]'
        )


def derivatives_dir(bids_dir, derivatives):
    """The fMRIPrep folder the ``derivatives`` key names (None: the dataset's own)."""
    return Path(derivatives) if derivatives is not None else Path(bids_dir) / "derivatives"


def write_runs_table(path, table):
    """The runs table as a TSV (provenance of what discovery found)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False)


def read_runs_table(path, subject=None):
    """A runs table :func:`write_runs_table` wrote, with its labels kept as strings;
    only ``subject``'s rows when given."""
    table = pd.read_csv(
        path, sep="\t", dtype={"subject": str, "session": str}, keep_default_na=False, na_values={"run": [""]}
    )
    table["run"] = table["run"].astype("Int64")
    return table if subject is None else table[table["subject"] == subject].reset_index(drop=True)


def check_leave_one_run_out(table):
    """Leave-one-run-out needs two runs or more per subject of the runs table."""
    for subject, runs in table.groupby("subject"):
        if len(runs) < 2:
            raise InputError(
                f"config key searchlight.cv.method: leave_one_run_out needs two runs or more; "
                f"sub-{subject} has one ({runs['bold'].iloc[0]})"
            )


def read_events(path, label_column):
    """A run's events as the GLM models them: columns onset, duration and trial_type
    (the ``label_column``'s values, as strings), ``row``, the event's row in the file
    (from 1), and the file's numeric columns (:func:`value_columns`: e.g. a rating, each
    trial's continuous target; n/a read as NaN). Rows with n/a (or nothing) in any of
    the first three are dropped; other columns too."""
    events = pd.read_csv(path, sep="\t", dtype={label_column: str}, keep_default_na=False, na_values=[MISSING, ""])
    for column in ("onset", "duration", label_column):
        if column not in events.columns:
            raise InputError(f"{path}: no column {column!r} (columns: {', '.join(events.columns)})")
    events = pd.DataFrame(
        {
            "onset": events["onset"],
            "duration": events["duration"],
            "trial_type": events[label_column],
            "row": range(1, len(events) + 1),
            **{column: events[column] for column in value_columns(events, label_column)},
        }
    )
    events = events.dropna(subset=["onset", "duration", "trial_type"])
    for column in ("onset", "duration"):
        seconds = pd.to_numeric(events[column], errors="coerce")
        bad = ~(seconds >= 0)
        if bad.any():
            first = events[bad].iloc[0]
            raise InputError(
                f"{path} row {first['row']}, column {column}: {first[column]!r} is not a number of seconds ≥ 0"
            )
        events[column] = seconds.astype(float)
    return events.reset_index(drop=True)


def value_columns(events, label_column):
    """The columns of an events table (as read, n/a as NaN) that give each event a number:
    numeric, not onset, duration, the label column or a name the samples table uses, and
    without spaces (the labels file is space-separated)."""
    return [
        column
        for column in events.columns
        if column not in (*RESERVED_COLUMNS, label_column)
        and pd.api.types.is_numeric_dtype(events[column])
        and not any(character.isspace() for character in str(column))
    ]


def events_files(config):
    """The raw dataset's events files that discovery may take, found without indexing:
    ``sub-*/[ses-*/]func/*_events.tsv`` of the configured task and participants
    (``config``: DEFAULTS' keys), for the checks made when the config is read."""
    config = {**DEFAULTS, **config}
    paths = sorted(Path(config["bids_dir"]).glob(f"sub-*/**/{EVENTS['datatype']}/*_{EVENTS['suffix']}.tsv"))
    wanted = {
        "task": None if config["task"] is None else {config["task"]},
        "sub": None if config["participant_label"] is None else set(_labels(config["participant_label"], "sub")),
        "ses": None if config["sessions"] is None else set(_labels(config["sessions"], RUN_ENTITIES["session"])),
    }
    excluded = set(_labels(config["exclude_participant_label"] or [], "sub"))
    runs = None if config["runs"] is None else {int(run) for run in _labels(config["runs"], RUN_ENTITIES["run"])}

    def taken(path):
        entities = dict(part.split("-", 1) for part in path.name.split("_")[:-1] if "-" in part)
        return (
            all(values is None or entities.get(key) in values for key, values in wanted.items())
            and entities.get("sub") not in excluded
            and (runs is None or ("run" in entities and int(entities["run"]) in runs))
        )

    return [path for path in paths if taken(path)]


def _existing_dir(path, key):
    if path is None:
        raise InputError(f"config key {CONFIG_KEY}.{key}: not set")
    if not Path(path).is_dir():
        raise InputError(f"config key {CONFIG_KEY}.{key}: {path} is not a folder")
    return Path(path).resolve()


def _labels(values, key):
    """Labels as strings without their BIDS prefix ('sub-01' -> '01'); one or a list."""
    values = [values] if isinstance(values, (str, int)) else values
    return [str(value).removeprefix(f"{key}-") for value in values]


def _subjects(layout, config):
    present = layout.get_subjects()
    chosen = present if config["participant_label"] is None else _labels(config["participant_label"], "sub")
    excluded = _labels(config["exclude_participant_label"] or [], "sub")
    for key, labels in (("participant_label", chosen), ("exclude_participant_label", excluded)):
        unknown = [label for label in labels if label not in present]
        if unknown:
            raise InputError(
                f"config key {CONFIG_KEY}.{key}: no subject sub-{unknown[0]} in {layout.root} "
                f"(subjects: {', '.join(present)})"
            )
    return [label for label in chosen if label not in excluded]


def _task(layout, config):
    tasks = layout.get_tasks(scope="derivatives", desc=config["desc"], **BOLD)
    if config["task"] is not None:
        if config["task"] not in tasks:
            raise InputError(
                f"config key {CONFIG_KEY}.task: no desc-{config['desc']} bold of task "
                f"{config['task']!r} in {_derivatives_root(layout)} (tasks: {', '.join(tasks) or 'none'})"
            )
        return config["task"]
    if len(tasks) != 1:
        held = f"several tasks: {', '.join(tasks)}" if tasks else f"no desc-{config['desc']} bold"
        raise InputError(f"config key {CONFIG_KEY}.task: not set, and the derivatives hold {held}")
    return tasks[0]


def _bold_filters(config, task):
    """pybids filters for the preprocessed bold files: the filter file's, overridden by
    the config's keys."""
    filters = {**_filter_file(config), "task": task, "space": config["space"], "desc": config["desc"], **BOLD}
    if config["res"] is not None:
        filters["res"] = str(config["res"])
    if config["sessions"] is not None:
        filters["session"] = _labels(config["sessions"], RUN_ENTITIES["session"])
    if config["runs"] is not None:
        filters["run"] = [int(run) for run in _labels(config["runs"], RUN_ENTITIES["run"])]
    return filters


def _filter_file(config):
    """The "bold" filters of fMRIPrep's --bids-filter-file (JSON; null = entity absent,
    "*" = any value)."""
    path = config["bids_filter_file"]
    if path is None:
        return {}
    from bids.layout import Query

    def entity_values(record):
        special = {None: Query.NONE, "*": Query.ANY}
        return {
            key: special.get(value, value) if not isinstance(value, (list, dict)) else value
            for key, value in record.items()
        }

    try:
        filters = json.loads(Path(path).read_text(), object_hook=entity_values)
    except (OSError, ValueError) as error:
        raise InputError(
            f"config key {CONFIG_KEY}.bids_filter_file: {path}: not a readable JSON file ({one_line(error)})"
        ) from None
    return filters.get("bold", {})


def _no_bold(layout, config, subject, task):
    spaces = layout.get(
        scope="derivatives", subject=subject, task=task, desc=config["desc"], return_type="id", target="space", **BOLD
    )
    res = f" res-{config['res']}" if config["res"] is not None else ""
    return (
        f"{_derivatives_root(layout)}: no desc-{config['desc']} bold for sub-{subject} task-{task} in space "
        f"{config['space']}{res} (config key {CONFIG_KEY}.space); its spaces: {', '.join(spaces) or 'none'}"
    )


def _derivatives_root(layout):
    return ", ".join(str(derivative.root) for derivative in layout.derivatives.values())


def _run_row(layout, bold):
    """One row of the runs table for a preprocessed bold file (a pybids BIDSFile)."""
    from bids.layout import Query

    entities = bold.get_entities()
    run = {name: entities.get(name, Query.NONE) for name in RUN_ENTITIES}
    grid = {name: entities.get(name, Query.NONE) for name in SPACE_ENTITIES}
    files = {
        "mask": ("derivatives", {**run, **grid, **BRAIN_MASK}, "functional brain mask"),
        "confounds": ("derivatives", {**run, **CONFOUNDS}, "confounds table"),
        "events": ("raw", {**run, **EVENTS}, "events file"),
    }
    found = {}
    for column, (scope, filters, what) in files.items():
        matches = layout.get(scope=scope, **filters)
        where = f"in the raw dataset {layout.root}" if scope == "raw" else "in the derivatives"
        if not matches:
            raise InputError(f"{bold.path}: no {what} {where}")
        if len(matches) > 1:
            raise InputError(
                f"{bold.path}: {len(matches)} candidates for its {what} {where} "
                f"({', '.join(match.path for match in matches)})"
            )
        found[column] = matches[0].path
    return {
        "subject": entities["subject"],
        "session": entities.get("session", ""),
        "run": int(entities["run"]) if "run" in entities else pd.NA,
        "bold": bold.path,
        **found,
        "t_r": _repetition_time(Path(bold.path)),
    }


def _repetition_time(bold_path):
    sidecar = bold_path.with_name(bold_path.name.split(".")[0] + ".json")
    if not sidecar.is_file():
        raise InputError(f"{sidecar}: no JSON sidecar beside {bold_path.name}; it gives RepetitionTime")
    t_r = json.loads(sidecar.read_text()).get("RepetitionTime")
    if not isinstance(t_r, (int, float)) or not t_r > 0:
        raise InputError(
            f"{sidecar}: RepetitionTime is {'missing' if t_r is None else repr(t_r)}; "
            "it must be the repetition time in seconds (> 0)"
        )
    return float(t_r)


def _check_one_bold_per_run(table):
    for _, runs in table.groupby(["subject", "session", "run"], dropna=False):
        if len(runs) > 1:
            raise InputError(
                f"{runs['bold'].iloc[0]}: {len(runs)} bold files for one run ({', '.join(runs['bold'])}); "
                f"choose one with config key {CONFIG_KEY}.res or {CONFIG_KEY}.bids_filter_file"
            )
