import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.logs import to_file
from snakelight.report.inference import write_cluster_html, write_inference_figures

to_file(snakemake.log[0])
params, output = snakemake.params, snakemake.output
title = f"{snakemake.wildcards.contrast}, sub-{snakemake.wildcards.subject}"
write_inference_figures(
    dict(snakemake.input.items()),
    output.fwe,
    output.null_maxima,
    alpha=params.alpha,
    cut_coords=params.cut_coords,
    title=title,
)
write_cluster_html(
    snakemake.input.clusters_tsv,
    output.clusters_html,
    alpha=params.alpha,
    null_maps=params.null_maps,
    cluster_threshold=params.cluster_threshold,
    permuted=params.permuted,
    title=title,
)
