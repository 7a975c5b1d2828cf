from snakelight.io import read_json
from snakelight.logs import to_file
from snakelight.stats import write_fscores

to_file(snakemake.log[0])
write_fscores(snakemake.input.samples, snakemake.input.table, read_json(snakemake.input.dataset)["mask"],
              snakemake.output[0])
