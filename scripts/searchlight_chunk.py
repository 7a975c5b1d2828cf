from snakelight.io import read_json
from snakelight.logs import to_file
from snakelight.searchlight import run_chunk

to_file(snakemake.log[0])
run_chunk(snakemake.input.samples, snakemake.input.masked_samples, snakemake.input.table,
          read_json(snakemake.input.dataset)["mask"], snakemake.input.process_mask,
          chunk=int(snakemake.wildcards.chunk), output=snakemake.output[0],
          n_threads=snakemake.threads, **snakemake.params)
