import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.logs import to_file
from snakelight.provenance import write_config

to_file(snakemake.log[0])
write_config(snakemake.output[0], snakemake.params.config)
