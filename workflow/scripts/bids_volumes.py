from pathlib import Path

import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.bids import read_runs_table
from snakelight.data.bids_samples import collect_volumes
from snakelight.logs import to_file

to_file(snakemake.log[0])
runs = read_runs_table(snakemake.input.runs, snakemake.wildcards.subject)
collect_volumes(
    runs,
    snakemake.params.labelling,
    snakemake.params.events,
    Path(snakemake.output.manifest).parent / "data",
    snakemake.output.manifest,
)
