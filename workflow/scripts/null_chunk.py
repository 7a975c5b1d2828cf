from snakelight.io import read_json
from snakelight.logs import to_file
from snakelight.searchlight.job import run_null_chunk

to_file(snakemake.log[0])
params, wildcards = snakemake.params, snakemake.wildcards
run_null_chunk(
    snakemake.input.samples,
    snakemake.input.masked_samples,
    snakemake.input.table,
    read_json(snakemake.input.dataset)["mask"],
    snakemake.input.process_mask,
    snakemake.input.permutations,
    chunk=int(wildcards.chunk),
    first=int(wildcards.first),
    last=int(wildcards.last),
    output=snakemake.output[0],
    n_threads=snakemake.threads,
    n_chunks=params.n_chunks,
    radius=params.radius,
    estimator=params.estimator,
    cv=params.cv,
    scoring=params.scoring,
    engine=params.engine,
)
