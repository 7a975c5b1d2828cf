import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.bids_samples import discover_runs
from snakelight.logs import to_file

to_file(snakemake.log[0])
discover_runs(snakemake.params.bids, snakemake.params.labelling, snakemake.output.database, snakemake.output.runs)
