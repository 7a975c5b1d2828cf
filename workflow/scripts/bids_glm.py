import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.bids import read_runs_table
from snakelight.data.glm import write_beta_series
from snakelight.logs import to_file

to_file(snakemake.log[0])
runs = read_runs_table(snakemake.input.runs, snakemake.wildcards.subject)
write_beta_series(
    runs,
    snakemake.params.glm,
    snakemake.output.betas,
    snakemake.output.table,
    snakemake.output.mask,
    snakemake.output.get("residuals"),
)
