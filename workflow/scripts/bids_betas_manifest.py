import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.bids import read_runs_table
from snakelight.data.bids_samples import write_betas_manifest
from snakelight.logs import to_file

to_file(snakemake.log[0])
runs = read_runs_table(snakemake.input.runs, snakemake.wildcards.subject)
write_betas_manifest(
    runs,
    snakemake.input.betas,
    snakemake.input.table,
    snakemake.input.mask,
    snakemake.output.labels,
    snakemake.output.manifest,
    snakemake.input.get("residuals"),
)
