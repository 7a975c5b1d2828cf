import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.logs import to_file
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
)
