import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.logs import to_file
from snakelight.searchlight.job import chunk_inputs, run_null_chunk

to_file(snakemake.log[0])
wildcards = snakemake.wildcards
run_null_chunk(
    chunk_inputs(snakemake.input),
    snakemake.input.permutations,
    chunk=int(wildcards.chunk),
    first=int(wildcards.first),
    last=int(wildcards.last),
    output=snakemake.output[0],
    n_threads=snakemake.threads,
    **dict(snakemake.params.items()),  # n_chunks and the searchlight settings
)
