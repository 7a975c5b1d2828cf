import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.logs import to_file
from snakelight.report.figures import write_figures

to_file(snakemake.log[0])
params = snakemake.params
write_figures(
    snakemake.input.samples,
    snakemake.input.map,
    snakemake.input.fscores,
    snakemake.input.process_mask,
    snakemake.output.searchlight,
    snakemake.output.fscores,
    cut_coords=params.cut_coords,
    vmin=params.vmin,
    threshold=params.threshold,
    chance=params.chance,
    title=params.title,
)
