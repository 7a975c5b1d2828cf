import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.logs import to_file
from snakelight.searchlight.job import chunk_inputs, run_null_chunk

to_file(snakemake.log[0])
wildcards = snakemake.wildcards
params = dict(snakemake.params.items())  # n_chunks and the searchlight settings
rsa, model = params.pop("rsa"), params.pop("model")
block = {"chunk": int(wildcards.chunk), "first": int(wildcards.first), "last": int(wildcards.last)}
if rsa:
    from snakelight.rsa.job import run_rsa_null_chunk

    keys = ("n_chunks", "radius", "cv")
    run_rsa_null_chunk(
        chunk_inputs(snakemake.input),
        snakemake.input.permutations,
        **block,
        output=snakemake.output[0],
        rsa=rsa,
        model=model,
        **{key: params[key] for key in keys},
    )
else:
    run_null_chunk(
        chunk_inputs(snakemake.input),
        snakemake.input.permutations,
        **block,
        output=snakemake.output[0],
        n_threads=snakemake.threads,
        **params,
    )
