import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.inference.null_maps import merge_null_chunks
from snakelight.inference.permutations import permutation_count
from snakelight.io import read_json
from snakelight.logs import to_file
from snakelight.provenance import input_files, write_sidecars

to_file(snakemake.log[0])
chunks, n_chunks = list(snakemake.input.chunks), snakemake.params.n_chunks
blocks = [chunks[start : start + n_chunks] for start in range(0, len(chunks), n_chunks)]
merge_null_chunks(
    blocks, snakemake.input.process_mask, snakemake.output.null, permutation_count(snakemake.input.permutations)
)
write_sidecars(
    [snakemake.output.null],
    snakemake.params.config,
    input_files(
        read_json(snakemake.input.dataset),
        process_mask=snakemake.input.process_mask,
        permutations=snakemake.input.permutations,
    ),
    null_maps=read_json(snakemake.input.null_maps),
)
