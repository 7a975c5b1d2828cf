import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.logs import to_file
from snakelight.searchlight.job import chunk_inputs, run_chunk

to_file(snakemake.log[0])
run_chunk(
    chunk_inputs(snakemake.input),
    chunk=int(snakemake.wildcards.chunk),
    output=snakemake.output[0],
    n_threads=snakemake.threads,
    **dict(snakemake.params.items()),  # n_chunks and the searchlight settings
)
