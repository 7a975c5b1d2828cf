# snakelight: nilearn's Haxby face-vs-house searchlight as a Snakemake workflow.
# README.md documents the configuration, the outputs and the data contract.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/searchlight.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/figures.smk"


rule all:
    input:
        final_outputs(),
    default_target: True
