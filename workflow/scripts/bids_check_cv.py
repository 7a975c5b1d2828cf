import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.bids_samples import check_cv
from snakelight.logs import to_file

to_file(snakemake.log[0])
check_cv(snakemake.input[0], snakemake.params.method, snakemake.output[0])
