import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.logs import to_file
from snakelight.searchlight.job import chunk_inputs, run_chunk

to_file(snakemake.log[0])
params = dict(snakemake.params.items())  # n_chunks and the searchlight settings
rsa = params.pop("rsa")
if rsa:
    from snakelight.rsa.job import run_rsa_chunk

    run_rsa_chunk(
        chunk_inputs(snakemake.input),
        chunk=int(snakemake.wildcards.chunk),
        output=snakemake.output[0],
        rsa=rsa,
        **{key: params[key] for key in ("n_chunks", "radius", "cv")},
    )
else:
    run_chunk(
        chunk_inputs(snakemake.input),
        chunk=int(snakemake.wildcards.chunk),
        output=snakemake.output[0],
        n_threads=snakemake.threads,
        **params,
    )
