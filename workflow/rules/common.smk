import json
import os

import yaml
from snakemake.logging import logger

from snakelight.data.haxby_design import BOLD_SHAPE, SUBJECT_FILES, bold_shape
from snakelight.io import read_json
from snakelight.searchlight.chance import chance_level
from snakelight.searchlight.engines import resolve_engine
from snakelight.workflow import resources as cluster
from snakelight.workflow.config import ConfigError, analysis_name, changed_keys, validate_config_and_table
from snakelight.workflow.subjects_table import FILE_COLUMNS

# Stop on a bad config before any job, with one line naming the key and the value.
try:
    validated, SUBJECTS_TABLE = validate_config_and_table(
        config,
        workflow.source_path("../schemas/config.schema.yaml"),
        workflow.source_path("../schemas/subjects.schema.yaml"),
    )
    config.update(validated, analysis=analysis_name(validated, workflow.overwrite_configfiles))
except ConfigError as error:
    raise WorkflowError(str(error)) from None

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


# A subject is spelled as final_outputs() spells it (02, 10, 123): sub-2 or sub-002
# match no rule, rather than building a second tree beside sub-02.
wildcard_constraints:
    subject=r"0[1-9]|[1-9]\d+",
    contrast="|".join(config["contrasts"]),
    chunk=r"\d+",


def final_outputs():
    return [results("config.yaml")] + expand(
        results("sub-{subject}/{contrast}/{output}"),
        subject=[f"{s:02d}" for s in config["subjects"]],
        contrast=list(config["contrasts"]),
        output=[
            "searchlight.nii.gz",
            "searchlight_folds.nii.gz",
            "fscores.nii.gz",
            "searchlight.png",
            "fscores.png",
            "score_histogram.png",
            "clusters.tsv",
            "clusters.html",
        ],
    )


def map_config(wildcards, *sections):
    """The configuration a map depends on, for its JSON sidecar: the dataset, subject,
    contrast and the given sections, never the figure settings (as a param, a change
    in it reruns the step that writes the map)."""
    return {
        "dataset": config["dataset"],
        "subject": int(wildcards.subject),
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


def chance(wildcards):
    """The contrast's chance score, or None for a scorer without one."""
    return chance_level(SEARCHLIGHT["scoring"], len(config["contrasts"][wildcards.contrast]))


def subject_rows(wildcards):
    """One subject's rows of the subjects table."""
    return SUBJECTS_TABLE[SUBJECTS_TABLE["subject"] == int(wildcards.subject)]


def subject_files(wildcards):
    """collect_subject's inputs; none for the other sources, whose fetch the ruleorder picks."""
    if SUBJECTS_TABLE is None:
        return []
    rows = subject_rows(wildcards)
    return [path for column in FILE_COLUMNS for path in rows[column] if path]


# mem_mb and runtime of each job (snakelight/resources.py; README "Running on a cluster").
def job_resources(image_mb=lambda input: 0.0):
    """For a job holding an image of ``image_mb(input)`` MB in memory."""
    return resources_of(lambda input, attempt: cluster.request(RESOURCES, attempt=attempt, image_mb=image_mb(input)))


def chunk_resources():
    return resources_of(
        lambda input, attempt: cluster.chunk_request(
            RESOURCES, input.samples, input.process_mask, SEARCHLIGHT["n_chunks"], attempt=attempt
        )
    )


def resources_of(estimate):
    """Snakemake resources from ``estimate(input, attempt)``, a snakelight.workflow.resources.Request."""
    return {
        "mem_mb": lambda wildcards, input, attempt: estimate(input, attempt).mem_mb,
        "runtime": lambda wildcards, input, attempt: estimate(input, attempt).runtime,
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
