import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.derivatives import write_description
from snakelight.logs import to_file

to_file(snakemake.log[0])
write_description(snakemake.output.description, snakemake.output.bidsignore, snakemake.params.bids)
