from pathlib import Path

from snakelight.logs import to_file
from snakelight.synthetic import write_subject

to_file(snakemake.log[0])
write_subject(Path(snakemake.input.mask).parent, int(snakemake.wildcards.n), **snakemake.params)
