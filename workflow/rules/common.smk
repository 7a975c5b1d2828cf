import os

from snakelight.config import ConfigError, validate_config

# Stop on a bad config before any job, with one line naming the key and the value.
try:
    config.update(validate_config(config, workflow.source_path("../schemas/config.schema.yaml")))
except ConfigError as error:
    raise WorkflowError(str(error)) from None

# Jobs import the snakelight package from this checkout wherever they run
# (local, conda environments, cluster nodes).
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")])
)

DATASET = config["dataset"]["source"]
SEARCHLIGHT = config["searchlight"]
SUBJECT_DIR = "results/{dataset}/sub-{subject}"
CONTRAST_DIR = SUBJECT_DIR + "/{contrast}"
LOG_DIR = "results/{dataset}/logs/sub-{subject}"
BENCHMARK_DIR = "results/{dataset}/benchmarks/sub-{subject}"


wildcard_constraints:
    dataset="synthetic|haxby",
    subject=r"\d+",
    contrast="|".join(config["contrasts"]),
    chunk=r"\d+",


def final_outputs():
    return expand(
        CONTRAST_DIR + "/{output}",
        dataset=DATASET,
        subject=[f"{s:02d}" for s in config["subjects"]],
        contrast=list(config["contrasts"]),
        output=[
            "searchlight.nii.gz",
            "searchlight_folds.nii.gz",
            "fscores.nii.gz",
            "searchlight.png",
            "fscores.png",
        ],
    )
