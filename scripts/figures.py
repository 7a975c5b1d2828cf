from snakelight.figures import write_figures
from snakelight.logs import to_file

to_file(snakemake.log[0])
figures = snakemake.params.figures
write_figures(
    snakemake.input.samples, snakemake.input.map, snakemake.input.fscores, snakemake.input.process_mask,
    snakemake.output.searchlight, snakemake.output.fscores, cut_coords=figures["cut_coords"],
    vmin=figures["searchlight_vmin"], threshold=figures["searchlight_threshold"],
)
