import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.io import read_json
from snakelight.logs import to_file
from snakelight.provenance import sidecar_path
from snakelight.report.summary import write_summary

to_file(snakemake.log[0])
params = snakemake.params
write_summary(
    snakemake.input.map,
    snakemake.input.process_mask,
    snakemake.output.histogram,
    snakemake.output.clusters,
    snakemake.output.clusters_html,
    title=f"{snakemake.wildcards.contrast}, sub-{snakemake.wildcards.subject}",
    chance=params.chance,
    cluster_above_chance=params.cluster_above_chance,
    cluster_min_voxels=params.cluster_min_voxels,
    **(
        {
            "confusion_map": snakemake.input.confusion[0],
            "conditions": read_json(sidecar_path(snakemake.input.confusion[0]))["conditions"],
        }
        if snakemake.input.confusion
        else {}
    ),
)
