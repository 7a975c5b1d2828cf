import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.bids import read_runs_table
from snakelight.data.derivatives import statmap_sources, write_statmap
from snakelight.logs import to_file

to_file(snakemake.log[0])
runs = read_runs_table(snakemake.input.runs, snakemake.wildcards.subject)
write_statmap(
    snakemake.input.map[0],
    snakemake.output.statmap,
    contrast=snakemake.params.contrast,
    chance=snakemake.params.chance,
    samples=snakemake.params.samples,
    sources=statmap_sources(runs, snakemake.params.samples, snakemake.params.bids),
)
