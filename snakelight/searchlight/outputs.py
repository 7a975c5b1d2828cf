"""The named outputs of a searchlight: which scorers ``searchlight.scoring`` asks for, what
each output is called, and the file that holds its map. The one home of those names:
the workflow (workflow/rules/common.smk), the chunk jobs, the merge and the API read them
here.

This module imports nothing: the config is checked against it while Snakemake parses.
"""

# The scorers that every engine computes from its predictions alone
# (snakelight.searchlight.measures); any other scikit-learn scorer needs the fitted model,
# which only the exact engine keeps.
PREDICTION_SCORERS = ("accuracy", "balanced_accuracy")


def outputs_spec(config):
    """What names a configuration's outputs, for the functions here that take ``scoring``:
    ``searchlight.scoring``, or for ``searchlight.measure: rsa`` the list of ``rsa.models``'
    names (one fit map per model, the first the primary output)."""
    if config["searchlight"].get("measure") == "rsa":
        return list(config["rsa"]["models"])
    return config["searchlight"]["scoring"]


def scorers(scoring):
    """The scorers of ``searchlight.scoring``: a scorer name, None (the estimator's own
    score) or a list of names, as a list of at least one."""
    if isinstance(scoring, (list, tuple)):
        return list(scoring)
    return [scoring]


def output_name(scorer):
    """The output a scorer gives: its name; the estimator's own score (None) is accuracy,
    a classifier's score."""
    return "accuracy" if scorer is None else scorer


def output_names(scoring):
    """The outputs of ``searchlight.scoring``, in its order; the first is the primary output
    (``searchlight.nii.gz``, the API's ``scores_``)."""
    return [output_name(scorer) for scorer in scorers(scoring)]


def map_file(name, scoring):
    """The map file of output ``name`` of ``searchlight.scoring``: ``searchlight.nii.gz``
    for the first output (as with one scorer), ``searchlight_<name>.nii.gz`` for the others."""
    return "searchlight.nii.gz" if name == output_names(scoring)[0] else f"searchlight_{name}.nii.gz"


def folds_file(name, scoring):
    """The per-fold maps of output ``name``: ``map_file`` with ``_folds`` before the suffix."""
    return map_file(name, scoring).replace(".nii.gz", "_folds.nii.gz")


# A cross-classification's directions (snakelight.searchlight.cross), whose maps
# cross_classification.<contrast>.directions: each keeps apart.
DIRECTIONS = ("forward", "reverse")


def direction_file(name, direction, scoring):
    """Output ``name``'s map of one ``direction`` (``directions: each``): ``map_file`` with
    the direction before the suffix, e.g. ``searchlight_forward.nii.gz`` for the first
    output, ``searchlight_balanced_accuracy_reverse.nii.gz`` for another."""
    return map_file(name, scoring).replace(".nii.gz", f"_{direction}.nii.gz")


def chunk_key(name):
    """The array of output ``name`` in a chunk file (snakelight.io.write_chunk)."""
    return f"output_{name}"


# searchlight.confusion's maps: the confusion matrices (C * C volumes, (true, predicted)
# row by row, classes sorted as np.unique sorts the condition names), each class's recall
# (C volumes).
CONFUSION_FILES = ("searchlight_confusion.nii.gz", "searchlight_recall.nii.gz")

# rsa.rdms's map: each sphere's RDM, one volume per condition pair (the upper triangle row
# by row, conditions sorted by name), under the chunk key of output "rdms".
RDMS_FILES = ("searchlight_rdms.nii.gz",)


def inference_output(scoring, output):
    """The output that permutation inference and the group stage test: ``inference.output``,
    else the first output of ``searchlight.scoring``."""
    return output_names(scoring)[0] if output is None else output


def output_scorer(scoring, name):
    """The scorer of ``searchlight.scoring`` that gives output ``name`` (None: the estimator's
    own score)."""
    return dict(zip(output_names(scoring), scorers(scoring)))[name]
