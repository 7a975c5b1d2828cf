"""Configuration: schema validation with defaults, and checks the schema cannot express.

Every problem is raised as a :class:`ConfigError` whose message is one line naming
the key and the offending value, so a typo stops the run before any job starts.
"""

import copy
import re
from pathlib import Path

import jsonschema
import nibabel as nib
import yaml

from snakelight.data import haxby_design
from snakelight.inference import feasibility
from snakelight.io import InputError
from snakelight.report.cuts import check_cut_coords
from snakelight.searchlight.chance import chance_level
from snakelight.searchlight.engines import NILEARN_REGRESSORS, fast_unsupported, resolve_engine
from snakelight.searchlight.outputs import inference_output, output_names, outputs_spec, scorers
from snakelight.searchlight.scorer_names import REGRESSION_SCORERS, scoring_problem
from snakelight.workflow.subjects_table import read_subjects_table, subject_labels, subjects

# What names a results folder (the schema's pattern for the key analysis).
ANALYSIS_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


class ConfigError(InputError):
    """A configuration value is wrong; the message names the key and the value (an
    InputError: a step that finds it, such as bids discovery, reports it as one line)."""


def _with_defaults(validator_class):
    """Extend a jsonschema validator so that it fills in each property's default."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if validator.is_type(instance, "object"):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_DefaultingValidator = _with_defaults(jsonschema.Draft7Validator)


def relative_to_workdir(path):
    """`` (relative paths are read from <cwd>, …)`` for a relative ``path``, else ``""``:
    Snakemake reads the config's paths from its working directory."""
    if Path(path).is_absolute():
        return ""
    return f" (relative paths are read from {Path.cwd()}, the folder snakemake runs in, or its --directory)"


def _not_found(key, path, what="file"):
    return ConfigError(f"config key {key}: {what} not found: {str(path)!r}{relative_to_workdir(path)}")


def _key(path):
    return ".".join(str(part) for part in path) or "<top level>"


def validate_config(config, schema_path, subjects_schema_path=None):
    """A copy of ``config`` with defaults filled in, or ConfigError (see
    :func:`validate_config_and_table`)."""
    return validate_config_and_table(config, schema_path, subjects_schema_path)[0]


def validate_config_and_table(config, schema_path, subjects_schema_path=None):
    """``(config, subjects_table)``: a copy of ``config`` with defaults filled in, and for
    the ``table`` source its subjects table (else None), read once; or raise ConfigError.

    Checks the JSON schema first, then what it cannot express: that each
    contrast's conditions exist in the dataset and that files named exist. For the
    ``table`` source, the subjects table is checked against ``subjects_schema_path``
    (default: ``subjects.schema.yaml`` beside ``schema_path``) and gives the subjects.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    config = copy.deepcopy(dict(config))
    _check_subjects_key(config)
    error = jsonschema.exceptions.best_match(_DefaultingValidator(schema).iter_errors(config))
    if error is not None:
        raise ConfigError(f"config key {_key(error.absolute_path)}: {_message(error)}")
    table = None
    if config["dataset"]["source"] == "table":
        # The subjects are the table's, and the contrasts' conditions must be among its labels.
        if not Path(config["dataset"]["subjects_table"]).is_file():
            raise _not_found("dataset.subjects_table", config["dataset"]["subjects_table"])
        try:
            table = read_subjects_table(
                config["dataset"]["subjects_table"],
                subjects_schema_path or Path(schema_path).with_name("subjects.schema.yaml"),
            )
            config["subjects"] = subjects(table)
        except InputError as error:
            raise ConfigError(f"config key dataset.subjects_table: {error}") from None
        _check_table_labels(config["contrasts"], table)
    elif config["dataset"]["source"] == "bids":
        # Its subjects and conditions are the dataset's: discovery checks them (snakelight.data.bids_samples).
        if config["dataset"]["bids"]["bids_dir"] is None:
            raise ConfigError("config key dataset.bids.bids_dir: not set; the bids source reads the dataset there")
        if not Path(config["dataset"]["bids"]["bids_dir"]).is_dir():
            raise _not_found("dataset.bids.bids_dir", config["dataset"]["bids"]["bids_dir"], "folder")
        config["subjects"] = None  # discovery's (runs.tsv), which the workflow reads
    else:
        check_contrast_labels(config["contrasts"], haxby_design.CONDITIONS, "the dataset")
    if config["samples"]["mode"] == "glm" and config["dataset"]["source"] != "bids":
        raise ConfigError(
            f"config key samples.mode: glm needs dataset.source bids, not {config['dataset']['source']!r}"
        )
    if config["dataset"]["source"] == "haxby":
        outside = [s for s in config["subjects"] if s not in haxby_design.SUBJECTS]
        if outside:
            raise ConfigError(
                f"config key subjects: Haxby has subjects {haxby_design.SUBJECTS[0]} to "
                f"{haxby_design.SUBJECTS[-1]}, not {outside[0]}"
            )
    _check_cross_classification(config)
    _check_continuous_targets(config, table)
    if config["searchlight"]["measure"] == "rsa":
        _check_rsa(config)
    for name, conditions in config["contrasts"].items():
        if name in config["continuous_targets"]:
            continue  # a regression's scorers: checked above
        if config["searchlight"]["estimator"] in NILEARN_REGRESSORS:
            raise ConfigError(
                f"config key searchlight.estimator: {config['searchlight']['estimator']!r} is a regressor, and "
                f"contrast {name!r} classifies conditions; name its numeric column in continuous_targets.{name}, "
                "or use a classifier (svc, logistic, ...)"
            )
        cross = config["cross_classification"].get(name)
        _check_scoring(config["searchlight"], name, len(set(cross["test"].values())) if cross else len(conditions))
    _check_inference(config)
    roi = config["process_mask"]["roi"]
    if roi is not None and not Path(roi).is_file():
        raise _not_found("process_mask.roi", roi)
    try:
        _check_cuts(config, table)
    except InputError as error:
        raise ConfigError(str(error)) from None
    return config, table


def _check_cuts(config, table):
    """Configured cuts inside every grid known before any job: the generated volume's,
    and each subject's first BOLD image (a header read). Haxby's images may not be
    fetched yet: the figures step checks those."""
    cuts = config["figures"]["cut_coords"]
    if config["dataset"]["source"] == "synthetic":
        synthetic = config["dataset"]["synthetic"]
        shape = synthetic["shape"]
        size = "x".join(map(str, synthetic["voxel_size"]))
        where = f"the generated volume ({'x'.join(map(str, shape))} voxels of {size} mm)"
        check_cut_coords(cuts, shape, haxby_design.haxby_affine(shape, synthetic["voxel_size"]), where)
    elif table is not None and cuts is not None:
        for bold in table.groupby("subject")["bold"].first():
            img = nib.load(bold)
            check_cut_coords(cuts, img.shape, img.affine, bold)


def _message(error):
    """jsonschema's message, or a plainer one where it speaks in schema terms."""
    path = list(error.absolute_path)
    if error.validator == "minItems" and len(path) == 2 and path[0] == "contrasts":
        return f"{error.instance!r} has {len(error.instance)} condition(s); a contrast decodes two or more"
    return error.message


def _check_cross_classification(config):
    """Each cross-classification names a contrast and maps test conditions of that contrast
    onto two or more of its other conditions."""
    for name, cross in config["cross_classification"].items():
        key = f"config key cross_classification.{name}"
        if name not in config["contrasts"]:
            raise ConfigError(f"{key}: no contrast {name!r} (contrasts: {', '.join(config['contrasts'])})")
        conditions = config["contrasts"][name]
        test = cross["test"]
        for condition in [*test, *test.values()]:
            if condition not in conditions:
                raise ConfigError(
                    f"{key}.test: {condition!r} is not a condition of the contrast ({', '.join(conditions)})"
                )
        if set(test) & set(test.values()):
            raise ConfigError(f"{key}.test: {sorted(set(test) & set(test.values()))[0]!r} both tests and trains")
        if len(set(test.values())) < 2:
            raise ConfigError(
                f"{key}.test: the test conditions stand for one training condition; map them onto two or more"
            )
        split = cross["split"]
        if split is not None and str(split["train"]) == str(split["test"]):
            raise ConfigError(f"{key}.split: train and test are both {split['train']!r}; give two values of the column")


def _check_continuous_targets(config, table):
    """Each continuous target names a contrast that does not cross-classify, runs a regressor
    scored by regression scorers, and is a numeric column of every labels table of the
    table source or of the bids source's events (the sources whose samples carry numbers)."""
    searchlight = config["searchlight"]
    for name, column in config["continuous_targets"].items():
        key = f"config key continuous_targets.{name}"
        if name not in config["contrasts"]:
            raise ConfigError(f"{key}: no contrast {name!r} (contrasts: {', '.join(config['contrasts'])})")
        if name in config["cross_classification"]:
            raise ConfigError(f"{key}: contrast {name!r} cross-classifies conditions; a regression cannot")
        if searchlight["estimator"] not in NILEARN_REGRESSORS:
            raise ConfigError(
                f"config key searchlight.estimator: {searchlight['estimator']!r} classifies; continuous target "
                f"{column!r} of contrast {name!r} needs a regressor ({', '.join(NILEARN_REGRESSORS)})"
            )
        for scoring in scorers(searchlight["scoring"]):
            if scoring is not None and scoring not in (*REGRESSION_SCORERS, "pearson_r"):
                raise ConfigError(
                    f"config key searchlight.scoring: {scoring!r} scores classes; continuous target {column!r} of "
                    f"contrast {name!r} needs a regression scorer (r2, neg_mean_squared_error, pearson_r, ...)"
                )
        if searchlight["confusion"]:
            raise ConfigError(
                f"config key searchlight.confusion: contrast {name!r} has a continuous target, no classes"
            )
        if resolve_engine(searchlight["engine"], searchlight["estimator"]) == "fast":
            raise ConfigError(f"config key searchlight.engine: fast classifies; contrast {name!r} needs exact")
        if config["dataset"]["source"] == "bids":
            _check_events_column(config, name, column, key)
        elif config["dataset"]["source"] == "synthetic":
            if config["dataset"]["synthetic"]["rating_effect"] is None or column != haxby_design.RATING_COLUMN:
                raise ConfigError(
                    f"{key}: the synthetic source's volumes carry only a {haxby_design.RATING_COLUMN!r} column, "
                    "written with dataset.synthetic.rating_effect (a number, 0 for none)"
                )
        elif config["dataset"]["source"] != "table":
            raise ConfigError(
                f"{key}: the {config['dataset']['source']} source's volumes carry conditions only; a numeric "
                "column comes from the table source's labels tables or the bids source's events"
            )
        else:
            for path in table["labels"]:
                _check_numeric_column(path, column, key)


def _check_events_column(config, name, column, key):
    """The bids source: contrast ``name``'s samples are single trials (LSS or LSA betas,
    or volumes in events), and every event of its conditions in the dataset's events
    files (snakelight.data.bids.events_files) has a number in ``column``."""
    import pandas as pd

    from snakelight.data.bids import MISSING, events_files

    samples, conditions = config["samples"], config["contrasts"][name]
    if samples["mode"] == "glm" and samples["glm"]["estimate"] == "condition":
        raise ConfigError(
            f"config key samples.glm.estimate: condition betas average a condition's trials; continuous target "
            f"{column!r} of contrast {name!r} needs a beta per trial (lss or lsa)"
        )
    baseline = config["dataset"]["events"]["baseline"]
    if samples["mode"] == "volumes" and baseline in conditions:
        raise ConfigError(
            f"{key}: the {baseline!r} volumes are in no event, so have no {column!r}; leave {baseline!r} out "
            f"of contrasts.{name}"
        )
    label_column = samples["label_column"]
    for path in events_files(config["dataset"]["bids"]):
        events = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        if label_column not in events.columns:
            continue  # discovery names it
        if column not in events.columns:
            raise ConfigError(f"{key}: {path} has no column {column!r} (columns: {', '.join(events.columns)})")
        rows = events[events[label_column].isin(conditions)]
        bad = pd.to_numeric(rows[column].where(rows[column] != MISSING), errors="coerce").isna()
        if bad.any():
            row = rows.index[bad.to_numpy()][0]
            raise ConfigError(
                f"{key}: {path} row {row + 1} ({rows[label_column][row]}), column {column!r}: "
                f"{rows[column][row]!r} is not a number; every event of the contrast's conditions needs one"
            )


def _check_numeric_column(path, column, key):
    """The labels table ``path`` has a numeric ``column`` (a header and column read)."""
    if not path:
        raise ConfigError(f"{key}: a subjects-table row gives events, not a labels table with column {column!r}")
    import pandas as pd

    labels = pd.read_csv(path, sep="\t", dtype={"label": str})
    if column not in labels.columns:
        raise ConfigError(f"{key}: {path} has no column {column!r} (columns: {', '.join(labels.columns)})")
    if not pd.api.types.is_numeric_dtype(labels[column]):
        raise ConfigError(f"{key}: {path} column {column!r} is not numeric (e.g. {labels[column].iloc[0]!r})")


def _check_rsa(config):
    """searchlight.measure rsa: models that name each contrast's conditions, a noise
    normalisation only for crossnobis, and none of the classification-only keys."""
    from snakelight.rsa.models import model_from_groups, model_from_tsv  # numba: only for rsa

    rsa = config["rsa"]
    if not rsa["models"]:
        raise ConfigError("config key rsa.models: searchlight.measure rsa needs at least one model RDM")
    if "rdms" in rsa["models"]:
        raise ConfigError("config key rsa.models: 'rdms' names the RDM map (rsa.rdms); call the model otherwise")
    if rsa["noise"] != "none" and rsa["distance"] != "crossnobis":
        raise ConfigError(
            f"config key rsa.noise: {rsa['noise']} normalises crossnobis only; set rsa.distance: crossnobis"
        )
    if config["cross_classification"]:
        raise ConfigError("config key cross_classification: classification only; searchlight.measure is rsa")
    if config["searchlight"]["confusion"]:
        raise ConfigError("config key searchlight.confusion: classification only; searchlight.measure is rsa")
    if config["continuous_targets"]:
        raise ConfigError(
            "config key continuous_targets: classification and regression only; searchlight.measure is rsa"
        )
    for contrast, conditions in config["contrasts"].items():
        if len(conditions) < 3:
            raise ConfigError(
                f"config key contrasts.{contrast}: an RDM fit needs 3 or more conditions (2 give one "
                f"dissimilarity), got {', '.join(conditions)}"
            )
        for name, spec in rsa["models"].items():
            key = f"config key rsa.models.{name}"
            if isinstance(spec, str) and not Path(spec).is_file():
                raise _not_found(f"rsa.models.{name}", spec)
            try:
                if isinstance(spec, str):
                    model_from_tsv(spec, sorted(conditions), name)
                else:
                    model_from_groups(spec, sorted(conditions), name)
            except (ValueError, KeyError) as error:
                raise ConfigError(f"{key}: {error} (contrast {contrast!r})") from None
        orders = feasibility.condition_orders(len(conditions))
        if config["inference"]["permutations"] >= orders:
            raise ConfigError(
                f"config key inference.permutations: the randomization test of contrast {contrast!r} relabels "
                f"its {len(conditions)} conditions, which have {orders} orders; set it below {orders} "
                f"({orders - 1}: every other order, an exact test)"
            )


def _check_scoring(searchlight, contrast, n_classes):
    """Each scorer exists and fits the contrast, and the engine (auto's choice included)
    runs the estimator with it: what each chunk job would otherwise fail on."""
    engine, estimator = searchlight["engine"], searchlight["estimator"]
    for scoring in scorers(searchlight["scoring"]):
        problem = scoring_problem(scoring, n_classes, estimator)
        if problem is not None:
            key, why = problem
            raise ConfigError(f"config key searchlight.{key}: {why} (contrast {contrast!r})")
        if resolve_engine(engine, estimator) != "fast":
            continue
        problem = fast_unsupported(estimator, scoring, n_classes)
        if problem is not None:
            key, why = problem
            if engine == "auto":
                why = f"{why} (engine auto's choice for {estimator!r}); set searchlight.engine: exact"
            raise ConfigError(f"config key searchlight.{key}: {why}")


def changed_keys(before, after, prefix=""):
    """Dotted names of the keys whose values differ between two configurations."""
    changed = []
    for key in sorted(set(before) | set(after), key=str):
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changed += changed_keys(old, new, f"{prefix}{key}.")
        elif old != new:
            changed.append(f"{prefix}{key}")
    return changed


def analysis_name(config, configfiles):
    """The analysis's name, which its outputs' folder ``results/<name>/`` carries: the
    config key ``analysis``, else the stem of the last ``--configfile`` (``configfiles``),
    else ``default``."""
    if config.get("analysis"):
        return config["analysis"]
    if not configfiles:
        return "default"
    name = Path(configfiles[-1]).name.split(".")[0]
    if not re.fullmatch(ANALYSIS_NAME, name):
        raise ConfigError(
            f"config key analysis: the config file {str(configfiles[-1])!r} cannot name the results folder; "
            "set analysis: <letters, digits, _ . ->"
        )
    return name


def _check_inference(config):
    """The permutation settings (:func:`snakelight.inference.feasibility.check_subject_settings`),
    after filling the defaults that depend on P (permutations_per_job min(100, P), a
    cluster_threshold P resolves), and a chance level for every contrast: cluster masses and
    TFCE measure scores above it."""
    inference = config["inference"]
    if inference["permutations_per_job"] is None:
        inference["permutations_per_job"] = feasibility.default_permutations_per_job(inference["permutations"])
    if inference["cluster_threshold"] is None:
        inference["cluster_threshold"] = feasibility.default_cluster_threshold(inference["permutations"])
    try:
        feasibility.check_subject_settings(
            inference["permutations"],
            inference["permutations_per_job"],
            inference["alpha"],
            inference["cluster_threshold"],
        )
    except InputError as error:
        raise ConfigError(str(error)) from None
    scoring = outputs_spec(config)
    names = output_names(scoring)
    rsa = config["searchlight"]["measure"] == "rsa"
    if inference["output"] is not None and inference["output"] not in names:
        raise ConfigError(
            f"config key inference.output: {inference['output']!r} is not an output of "
            f"{'rsa.models' if rsa else 'searchlight.scoring'} (it has {', '.join(names)})"
        )
    tested = inference_output(scoring, inference["output"])
    if inference["permutations"] and not rsa and chance_level(tested, 2) is None:
        key = "inference.output" if inference["output"] else "searchlight.scoring"
        raise ConfigError(
            f"config key {key}: permutation inference measures scores above chance, and "
            f"{tested!r} has no known chance level (use accuracy, balanced_accuracy or roc_auc)"
        )


def check_contrast_labels(contrasts, labels, source):
    """Every condition of every contrast among ``labels``, those ``source`` (the user's
    files or dataset, as a message names them) gives; or ConfigError. The one check for
    every source: at parse time for synthetic, haxby and table, at discovery for bids."""
    for name, conditions in contrasts.items():
        unknown = [c for c in conditions if c not in labels]
        if unknown:
            raise ConfigError(
                f"config key contrasts.{name}: unknown condition {unknown[0]!r}; {source} has {', '.join(labels)}"
            )


# Where the table and bids sources take their subjects from, which the subjects key would
# silently contradict.
SUBJECTS_FROM = {
    "table": "the subjects table's (dataset.subjects_table)",
    "bids": "the dataset's; choose them with dataset.bids.participant_label or exclude_participant_label",
}


def _check_subjects_key(config):
    source = config.get("dataset", {}).get("source")
    if "subjects" in config and source in SUBJECTS_FROM:
        raise ConfigError(f"config key subjects: the {source} source's subjects are {SUBJECTS_FROM[source]}; remove it")


def _check_table_labels(contrasts, table):
    for subject, (labels, files) in subject_labels(table).items():
        others = f" and {len(files) - 1} other file(s)" if len(files) > 1 else ""
        check_contrast_labels(contrasts, labels, f"subject {subject} (from {files[0]}{others})")
