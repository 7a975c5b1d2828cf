import json
import os
import sys
from pathlib import Path

import yaml
from snakemake.logging import logger

from snakelight.data.haxby_design import BOLD_SHAPE, SUBJECT_FILES, bold_shape
from snakelight.inference.group import check_group_subjects, method_maps
from snakelight.io import InputError, read_json
from snakelight.searchlight.chance import chance_level
from snakelight.searchlight.engines import resolve_engine
from snakelight.searchlight.outputs import (
    CONFUSION_FILES,
    DIRECTIONS,
    RDMS_FILES,
    direction_file,
    folds_file,
    inference_output,
    map_file,
    output_names,
    output_scorer,
    outputs_spec,
)
from snakelight.workflow import resources as cluster
from snakelight.workflow.config import ConfigError, analysis_name, changed_keys, validate_config_and_table
from snakelight.workflow.config_files import read_user_config, stop
from snakelight.workflow.report_check import report_requested
from snakelight.workflow.subjects_table import FILE_COLUMNS

# Stop on a bad config before any job, with one line naming the key and the value (or
# the file and the line). A module's config is its host's: no file or --config to read.
try:
    if not workflow.modifier.skip_configfile:
        read_user_config(config, workflow.configfiles, workflow.config_settings.config_args)
    validated, SUBJECTS_TABLE = validate_config_and_table(
        config,
        workflow.source_path("../schemas/config.schema.yaml"),
        workflow.source_path("../schemas/subjects.schema.yaml"),
    )
    config.update(validated, analysis=analysis_name(validated, workflow.overwrite_configfiles))
except ConfigError as error:
    stop(error)

# snakemake --report (without --report-after-run): a report of the results there are.
REPORT_ONLY = report_requested(sys.argv)

# Every output of this analysis lies under RESULTS: analyses live side by side.
ANALYSIS = config["analysis"]
RESULTS = f"results/{ANALYSIS}"


def results(path):
    """``results/<analysis>/<path>``: the one place output paths are rooted."""
    return f"{RESULTS}/{path}"


# The start of every run shows what it runs, and says when it replaces another
# configuration's results.
logger.info(f"snakelight: analysis {ANALYSIS!r} in {RESULTS}/; configuration, defaults filled in: {json.dumps(config)}")
if os.path.exists(results("config.yaml")):
    changed = changed_keys(yaml.safe_load(open(results("config.yaml"))), config)
    if changed:
        logger.warning(
            f"snakelight: {RESULTS}/ holds results of another configuration (it differs in {', '.join(changed)}): "
            "this run recomputes what depends on them; set the config key analysis to keep both"
        )

DATASET = config["dataset"]["source"]
SEARCHLIGHT = config["searchlight"]
RESOURCES = config["resources"]
# searchlight.measure: rsa fits model RDMs (config key rsa) instead of classifying.
RSA = config["rsa"] if SEARCHLIGHT["measure"] == "rsa" else None
# What names the outputs: searchlight.scoring's scorers, or rsa.models' models.
SPEC = outputs_spec(config)


# A subject is spelled as analysis_subjects() spells it (02, 10, 123): sub-2 or sub-002
# match no rule, rather than building a second tree beside sub-02. The bids source
# keeps the dataset's labels (sub-1, sub-01, sub-control01).
wildcard_constraints:
    subject=r"[A-Za-z0-9]+" if DATASET == "bids" else r"0[1-9]|[1-9]\d+",
    contrast="|".join(config["contrasts"]),
    chunk=r"\d+",


def analysis_subjects():
    """The subjects of this analysis, as their paths spell them (``sub-<label>/``): the
    one place every stage (subject maps, null maps, inference, group, report) reads.

    The config's subject numbers spelled 02 for the synthetic and haxby sources; the
    subjects table's for table (validation put them in the config); for bids, the
    dataset's labels as discovery found them (sub-1, sub-01, sub-control01), known once
    the bids_discover checkpoint has run: call it from input functions and params only.
    """
    if DATASET == "bids":
        return discovered_subjects()
    return [f"{s:02d}" for s in config["subjects"]]


# Each subject's maps, figures and tables of every contrast (rule all).
SUBJECT_OUTPUTS = [
    *(file(name, SPEC) for name in output_names(SPEC) for file in (map_file, folds_file)),
    *(CONFUSION_FILES if config["searchlight"]["confusion"] else ()),
    *(RDMS_FILES if RSA and RSA["rdms"] else ()),
    *(("rsa_peak.tsv", "rsa_rdms.png") if RSA else ()),
    "fscores.nii.gz",
    "searchlight.png",
    "fscores.png",
    "score_histogram.png",
    "clusters.tsv",
    "clusters.html",
]


def each_subject_and_contrast(names):
    """``names`` under ``results/<analysis>/sub-<subject>/<contrast>/`` of every subject
    (analysis_subjects) and contrast."""
    return expand(
        results("sub-{subject}/{contrast}/{name}"),
        subject=analysis_subjects(),
        contrast=list(config["contrasts"]),
        name=names,
    )


def final_outputs():
    """The analysis's configuration and each subject's maps, figures and tables, and the
    maps of each direction of the cross-classifications that keep them apart."""
    each = [name for name, cross in config["cross_classification"].items() if cross["directions"] == "each"]
    directions = expand(
        results("sub-{subject}/{contrast}/{name}"),
        subject=analysis_subjects(),
        contrast=each,
        name=DIRECTION_FILES,
    )
    return [results("config.yaml")] + each_subject_and_contrast(SUBJECT_OUTPUTS) + directions


def all_outputs(wildcards=None):
    """What the workflow makes, the input function of the target all (and what a report
    needs): every subject's outputs, their inference files, the group methods' and the
    bids source's derivatives."""
    outputs = final_outputs() + inference_outputs() + group_outputs()
    return outputs + (bids_outputs() if DATASET == "bids" else [])


def map_config(wildcards, *sections):
    """The configuration a map depends on, for its JSON sidecar: the dataset, subject,
    contrast and the given sections, never the figure settings (as a param, a change
    in it reruns the step that writes the map)."""
    return {
        "dataset": config["dataset"],
        "subject": wildcards.subject if DATASET == "bids" else int(wildcards.subject),
        "contrast": {wildcards.contrast: config["contrasts"][wildcards.contrast]},
        **{section: config[section] for section in sections},
    }


def generated_files(wildcards):
    """The synthetic source's files for fetch_haxby to find; real data has none."""
    if DATASET != "synthetic":
        return []
    return expand(
        results("synthetic/haxby2001/subj{n}/{file}"),
        n=int(wildcards.subject),
        file=SUBJECT_FILES,
    )


# The searchlight's named outputs (snakelight/searchlight/outputs.py), the first the
# primary one (searchlight.nii.gz, the figures), and the one inference and the group test.
OUTPUTS = output_names(SPEC)
TESTED = inference_output(SPEC, config.get("inference", {}).get("output"))
TESTED_SCORER = output_scorer(SPEC, TESTED)
TESTED_MAP = map_file(TESTED, SPEC)
CONFUSION_MAPS = (
    [results(f"sub-{{subject}}/{{contrast}}/{name}") for name in CONFUSION_FILES] if SEARCHLIGHT["confusion"] else []
)


RDMS_MAPS = [results(f"sub-{{subject}}/{{contrast}}/{name}") for name in RDMS_FILES] if RSA and RSA["rdms"] else []


# directions: each: every output's map of each direction, output by output.
DIRECTION_FILES = [direction_file(name, direction, SPEC) for name in OUTPUTS for direction in DIRECTIONS]


def output_map(name, folds=False):
    """The map (or per-fold maps) of output ``name``, for {subject} and {contrast}."""
    return results("sub-{subject}/{contrast}/" + (folds_file if folds else map_file)(name, SPEC))


# contrast -> its cross-classification (train on some conditions, test on others).
CROSS = config["cross_classification"]
# contrast -> the numeric column it decodes (a regression), if any.
TARGETS = config["continuous_targets"]


def n_classes(contrast):
    """The classes a contrast's classifiers tell apart: its conditions, or the training
    conditions of its cross-classification."""
    if contrast in CROSS:
        return len(set(CROSS[contrast]["test"].values()))
    return len(config["contrasts"][contrast])


def chance(wildcards):
    """The contrast's chance score of the primary output, or None for a scorer without one
    (a model fit's: 0, no relation)."""
    if RSA:
        return 0.0
    return chance_level(OUTPUTS[0], n_classes(wildcards.contrast))


def tested_chance(wildcards):
    """The contrast's chance score of the output inference and the group test."""
    if RSA:
        return 0.0
    return chance_level(TESTED, n_classes(wildcards.contrast))


def chunk_count(wildcards):
    """searchlight.n_chunks, or for auto the number the chunk_plan checkpoint wrote."""
    if SEARCHLIGHT["n_chunks"] != "auto":
        return SEARCHLIGHT["n_chunks"]
    plan = checkpoints.chunk_plan.get(subject=wildcards.subject, contrast=wildcards.contrast)
    return int(Path(plan.output[0]).read_text())


def chunk_files(wildcards):
    return expand(
        results("sub-{subject}/{contrast}/chunks/{chunk}.npz"),
        chunk=range(chunk_count(wildcards)),
        **wildcards,
    )


def planned_chunks(wildcards, input):
    """For the chunk_plan checkpoint: snakelight.workflow.resources.auto_chunks, with the
    cores of this run (the jobs at once on a cluster)."""
    return cluster.auto_chunks(input.process_mask, input.samples, workflow.nodes or workflow.cores)


def subject_rows(wildcards):
    """One subject's rows of the subjects table."""
    return SUBJECTS_TABLE[SUBJECTS_TABLE["subject"] == int(wildcards.subject)]


def subject_files(wildcards):
    """collect_subject's inputs; none for the other sources, whose fetch the ruleorder picks."""
    if SUBJECTS_TABLE is None:
        return []
    rows = subject_rows(wildcards)
    return [path for column in FILE_COLUMNS for path in rows[column] if path]


# mem_mb and runtime of each job (snakelight/resources.py; docs: How-to, "Run on SLURM or another cluster").
def job_resources(image_mb=lambda input: 0.0):
    """For a job holding an image of ``image_mb(input)`` MB in memory."""
    return resources_of(
        lambda input, attempt, wildcards: cluster.request(RESOURCES, attempt=attempt, image_mb=image_mb(input))
    )


def chunk_resources():
    return resources_of(
        lambda input, attempt, wildcards: cluster.chunk_request(
            RESOURCES, input.samples, input.process_mask, chunk_count(wildcards), attempt=attempt
        )
    )


def resources_of(estimate):
    """Snakemake resources from ``estimate(input, attempt, wildcards)``, a
    snakelight.workflow.resources.Request."""
    return {
        "mem_mb": lambda wildcards, input, attempt: estimate(input, attempt, wildcards).mem_mb,
        "runtime": lambda wildcards, input, attempt: estimate(input, attempt, wildcards).runtime,
    }


def generated_bold_mb(input):
    synthetic = config["dataset"]["synthetic"]
    return cluster.array_mb(bold_shape(synthetic["shape"], synthetic["n_runs"]))


def fetched_bold_mb(input):
    """Haxby's BOLD series, which fetch reads in full before its shape is known."""
    return generated_bold_mb(input) if DATASET == "synthetic" else cluster.array_mb(BOLD_SHAPE)


def subject_bold_mb(input):
    return cluster.image_mb(read_json(input[0])["bold"])


def samples_mb(input):
    return cluster.image_mb(input.samples)


def input_images_mb(input):
    """The job's NIfTI inputs (collect_subject: the subject's runs, which it joins, and mask)."""
    return sum(cluster.image_mb(path) for path in input if path.endswith((".nii", ".nii.gz")))


def carries_effect(subject):
    """Whether a generated subject has the planted effect: the first
    dataset.synthetic.subjects_with_effect of config subjects do (null: all)."""
    count = config["dataset"]["synthetic"]["subjects_with_effect"]
    return count is None or subject in config["subjects"][:count]


# The group stage (rules/group.smk; docs: Explanation, "The statistics").
GROUP = config["group"]
# Issue 15's inference.permutations, where the schema has it: each subject's null maps.
NULL_MAPS_PER_SUBJECT = config.get("inference", {}).get("permutations")


def group_dir(method):
    """Where a group method writes; the one place that names the group stage's paths."""
    return results(f"group/{{contrast}}/{method}")


def each_subject(name):
    """Input function: ``name`` (under results/<analysis>/sub-<NN>/, may hold {contrast})
    of every subject: the one place that names the group stage's inputs."""
    return lambda wildcards: expand(
        results(f"sub-{{subject}}/{name}"),
        subject=analysis_subjects(),
        contrast=wildcards.contrast,
    )


def group_outputs():
    """Every group method's figure and cluster table, for rule all."""
    return expand(
        results("group/{contrast}/{method}/{output}"),
        contrast=list(config["contrasts"]),
        method=GROUP["methods"],
        output=["group.png", "clusters.tsv", "clusters.html"],
    )


def group_method_outputs(method):
    """A method's outputs: its maps, cluster table, figure and report page."""
    folder = group_dir(method)
    labels = {"contrast": "{contrast}", "subject": "group", "figure": method}
    return {
        "maps": expand(f"{folder}/{{map}}.nii.gz", map=method_maps(method, GROUP), allow_missing=True),
        "clusters": f"{folder}/clusters.tsv",
        "figure": report(
            f"{folder}/group.png",
            caption=f"../report/group_{method}.rst",
            category="{contrast}",
            subcategory="group",
            labels=labels,
        ),
        "page": report(
            f"{folder}/clusters.html",
            caption="../report/group_clusters.rst",
            category="{contrast}",
            subcategory="group",
            labels={**labels, "figure": f"{method} clusters"},
        ),
    }


def check_group_without_subjects():
    """The group settings that do not depend on the subjects, checked at parse time."""
    for method in GROUP["methods"]:
        if method == "signflip" and not RSA and chance_level(TESTED, 2) is None:
            raise InputError(f"config key group.methods: signflip tests score - chance; output {TESTED!r} has none")
        if method != "signflip" and NULL_MAPS_PER_SUBJECT == 0:
            raise InputError(
                f"config key group.methods: {method} needs each subject's null maps; set inference.permutations"
            )


# What check_group_subjects (snakelight.inference.group) needs besides the subjects
# ([]: no group stage): checked here where they are known at parse time, by discovery
# for bids.
GROUP_CHECK = GROUP["methods"] and {
    "settings": {key: GROUP[key] for key in ("alpha", "min_subjects", *GROUP["methods"])},
    "n_first_level": None if NULL_MAPS_PER_SUBJECT is None else NULL_MAPS_PER_SUBJECT + 1,
}
if GROUP_CHECK:
    try:
        check_group_without_subjects()
        if DATASET != "bids":
            check_group_subjects(analysis_subjects(), **GROUP_CHECK)
    except InputError as error:
        stop(error)


def method_settings(method):
    """The group settings one method depends on."""
    return {key: GROUP[key] for key in ("alpha", "min_subjects", "seed", method)}


def group_params(method):
    return {
        "method": method,
        "subjects": lambda wc: [f"sub-{s}" for s in analysis_subjects()],
        # Only the method's own settings: choosing another method reruns none of the others.
        "settings": method_settings(method),
        "chance": tested_chance,
        "cut_coords": config["figures"]["cut_coords"],
        "config": lambda wc: {
            "dataset": config["dataset"],
            "subjects": analysis_subjects(),
            "contrast": {wc.contrast: config["contrasts"][wc.contrast]},
            "searchlight": SEARCHLIGHT,
            "group": method_settings(method),
        },
    }
