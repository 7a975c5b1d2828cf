from snakelight.io import read_json
from snakelight.logs import to_file
from snakelight.masks import write_process_mask

to_file(snakemake.log[0])
write_process_mask(read_json(snakemake.input.dataset), snakemake.output[0],
                   roi=snakemake.input.roi or None, **snakemake.params)
