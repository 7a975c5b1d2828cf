# dataset.source: bids (docs: Tutorials, "A BIDS + fMRIPrep study"). Discovery runs once, as a checkpoint:
# the subjects and their runs are the dataset's, known only once it has run. Each
# subject's step then writes the dataset.json every later step reads.
from types import SimpleNamespace

from snakelight.data import derivatives
from snakelight.data.bids import read_runs_table
from snakelight.data.glm import LABEL_KEYS, glm_config

BIDS = config["dataset"]["bids"]
SAMPLES = config["samples"]
LABELLING = {key: SAMPLES[key] for key in LABEL_KEYS}
# What a sample is, for the maps' sidecars.
SAMPLES_RECORD = {
    "mode": SAMPLES["mode"],
    **LABELLING,
    **({"glm": SAMPLES["glm"]} if SAMPLES["mode"] == "glm" else {"events": config["dataset"]["events"]}),
}
GLM_ESTIMATE = SAMPLES["glm"]["estimate"]
# The condition GLMs' residuals: the noise of RSA's crossnobis normalisation, kept only for it.
GLM_RESIDUALS = SAMPLES["mode"] == "glm" and GLM_ESTIMATE == "condition" and bool(RSA) and RSA["noise"] != "none"
STAT = derivatives.stat_label(OUTPUTS[0])  # the primary output's map
# The task and space entities of the derivatives' names (derivatives.grid_entities).
ENTITIES = r"task-[A-Za-z0-9]+(_[a-z]+-[A-Za-z0-9]+)*"
# A contrast's BIDS label (faceVsHouse) -> its name in the config (face_vs_house).
CONTRAST_OF_LABEL = {derivatives.camel_label(name): name for name in config["contrasts"]}
if len(CONTRAST_OF_LABEL) < len(config["contrasts"]):
    stop(
        f"config key contrasts: {', '.join(config['contrasts'])} give one BIDS label twice "
        f"({', '.join(CONTRAST_OF_LABEL)}); rename one"
    )


def bids_path(*parts):
    """A path of the bids source's own files: every one is built here, in the analysis's
    folder (results(), common.smk)."""
    return results("/".join(parts))


def derivative_path(name):
    """A file of the BIDS-like derivatives dataset (snakelight.data.derivatives)."""
    return bids_path(derivatives.PIPELINE, name)


def discovered_runs(subject=None):
    """The runs table discovery wrote (snakelight.data.bids), once it has run: through
    the checkpoint, or read as it is for a report of the results there are; only
    ``subject``'s rows when given."""
    runs = rules.bids_discover.output.runs if REPORT_ONLY else checkpoints.bids_discover.get().output.runs
    return read_runs_table(runs, subject)


def bids_subject_runs(wildcards):
    return discovered_runs(wildcards.subject)


def bids_subject_files(wildcards):
    runs = bids_subject_runs(wildcards)
    return [path for column in ("bold", "mask", "confounds", "events") for path in runs[column]]


def bids_entities(runs):
    """The task and space entities of one subject's derivatives (from its first bold)."""
    return derivatives.grid_entities(runs["bold"].iloc[0])


def betas_files(subject, entities):
    """The glm mode's beta series, its samples table, its mask and (GLM_RESIDUALS) the
    GLMs' residuals (wildcards allowed)."""
    files = {
        "betas": derivative_path(derivatives.betaseries_name(subject, entities, GLM_ESTIMATE, ".nii.gz")),
        "table": derivative_path(derivatives.betaseries_name(subject, entities, GLM_ESTIMATE, ".tsv")),
        "mask": derivative_path(derivatives.mask_name(subject, entities)),
    }
    if GLM_RESIDUALS:
        files["residuals"] = derivative_path(derivatives.residuals_name(subject, entities))
    return files


def subject_betas(wildcards):
    return betas_files(wildcards.subject, bids_entities(bids_subject_runs(wildcards)))


def statmap_files(subject, entities, label):
    """A map of the derivatives and its JSON sidecar (wildcards allowed)."""
    return [
        derivative_path(derivatives.statmap_name(subject, entities, label, STAT, extension))
        for extension in (".nii.gz", ".json")
    ]


def discovered_subjects():
    """The dataset's subjects as discovery found them (analysis_subjects, common.smk)."""
    return list(dict.fromkeys(discovered_runs()["subject"]))


def bids_outputs():
    """The BIDS-like derivatives of each discovered subject."""
    outputs = list(rules.bids_description.output)
    for subject, subject_runs in discovered_runs().groupby("subject"):
        entities = bids_entities(subject_runs)
        for label in CONTRAST_OF_LABEL:
            outputs += statmap_files(subject, entities, label)
        if SAMPLES["mode"] == "glm":
            outputs += betas_files(subject, entities).values()
    return outputs


checkpoint bids_discover:
    output:
        runs=bids_path("runs.tsv"),
        database=directory(bids_path("pybids")),
    log:
        bids_path("logs", "bids_discover.log"),
    benchmark:
        bids_path("benchmarks", "bids_discover.tsv")
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(),
    params:
        bids=BIDS,
        labelling=LABELLING,
        contrasts=config["contrasts"],
        group_check=GROUP_CHECK,
    script:
        "../scripts/bids_discover.py"


rule bids_check_cv:
    input:
        rules.bids_discover.output.runs,
    output:
        bids_path("cv_checked.json"),
    log:
        bids_path("logs", "bids_check_cv.log"),
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(),
    params:
        method=SEARCHLIGHT["cv"]["method"],
    script:
        "../scripts/bids_check_cv.py"


# Each subject's samples wait for the cross-validation check; ancient: a new check (a
# new searchlight.cv) does not rerun them.
if SAMPLES["mode"] == "volumes":

    rule bids_volumes:
        input:
            runs=rules.bids_discover.output.runs,
            files=bids_subject_files,
            cv_checked=ancient(rules.bids_check_cv.output[0]),
        output:
            manifest=bids_path("sub-{subject}", "dataset.json"),
            uncompressed=bids_path("sub-{subject}", "bold.nii"),
            data=multiext(bids_path("sub-{subject}", "data/"), "bold.nii.gz", "mask.nii.gz", "labels.txt"),
        log:
            bids_path("logs", "sub-{subject}", "bids_volumes.log"),
        benchmark:
            bids_path("benchmarks", "sub-{subject}", "bids_volumes.tsv")
        conda:
            "../envs/snakelight.yaml"
        resources:
            **job_resources(input_images_mb),
        params:
            labelling=LABELLING,
            events=config["dataset"]["events"],
        script:
            "../scripts/bids_volumes.py"

    # This subject's dataset.json is the bids source's, not fetch's.
    ruleorder: bids_volumes > fetch > collect_subject

else:

    rule bids_glm:
        input:
            runs=rules.bids_discover.output.runs,
            files=bids_subject_files,
            cv_checked=ancient(rules.bids_check_cv.output[0]),
        output:
            **betas_files("{subject}", "{entities}"),
        log:
            bids_path("logs", "sub-{subject}", "bids_glm_{entities}.log"),
        benchmark:
            bids_path("benchmarks", "sub-{subject}", "bids_glm_{entities}.tsv")
        wildcard_constraints:
            entities=ENTITIES,
        conda:
            "../envs/snakelight.yaml"
        resources:
            **job_resources(input_images_mb),
        params:
            glm=glm_config(SAMPLES),
        script:
            "../scripts/bids_glm.py"

    rule bids_betas_manifest:
        input:
            unpack(subject_betas),
            runs=rules.bids_discover.output.runs,
        output:
            manifest=bids_path("sub-{subject}", "dataset.json"),
            uncompressed=bids_path("sub-{subject}", "bold.nii"),
            labels=bids_path("sub-{subject}", "data", "labels.txt"),
        log:
            bids_path("logs", "sub-{subject}", "bids_betas_manifest.log"),
        conda:
            "../envs/snakelight.yaml"
        resources:
            **job_resources(),
        script:
            "../scripts/bids_betas_manifest.py"

    ruleorder: bids_betas_manifest > fetch > collect_subject


rule bids_description:
    output:
        description=derivative_path("dataset_description.json"),
        bidsignore=derivative_path(".bidsignore"),
    log:
        bids_path("logs", "bids_description.log"),
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(),
    params:
        bids=BIDS,
    script:
        "../scripts/bids_description.py"


rule bids_statmap:
    input:
        runs=rules.bids_discover.output.runs,
        map=lambda wc: expand(rules.merge.output.map, subject=wc.subject, contrast=CONTRAST_OF_LABEL[wc.label]),
        sidecar=lambda wc: expand(
            rules.merge.output.sidecars[0], subject=wc.subject, contrast=CONTRAST_OF_LABEL[wc.label]
        ),
    output:
        **dict(zip(("statmap", "sidecar"), statmap_files("{subject}", "{entities}", "{label}"))),
    log:
        bids_path("logs", "sub-{subject}", "bids_statmap_{entities}_{label}.log"),
    wildcard_constraints:
        entities=ENTITIES,
        label="|".join(CONTRAST_OF_LABEL),
    conda:
        "../envs/snakelight.yaml"
    resources:
        **job_resources(),
    params:
        contrast=lambda wc: CONTRAST_OF_LABEL[wc.label],
        chance=lambda wc: chance(SimpleNamespace(contrast=CONTRAST_OF_LABEL[wc.label])),
        samples=SAMPLES_RECORD,
        bids=BIDS,
    script:
        "../scripts/bids_statmap.py"
