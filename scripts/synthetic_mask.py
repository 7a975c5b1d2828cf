from snakelight.logs import to_file
from snakelight.synthetic import write_mask

to_file(snakemake.log[0])
write_mask(snakemake.output.mask.rsplit("/", 1)[0], **snakemake.params)
