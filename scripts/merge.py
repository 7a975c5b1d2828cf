from snakelight.chunks import merge_chunks
from snakelight.logs import to_file

to_file(snakemake.log[0])
merge_chunks(snakemake.input.chunks, snakemake.input.process_mask, snakemake.output.map,
             snakemake.output.folds)
