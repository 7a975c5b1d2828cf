import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.io import read_json
from snakelight.logs import to_file
from snakelight.provenance import input_files, write_sidecars
from snakelight.report.fscores import write_fscores

to_file(snakemake.log[0])
manifest = read_json(snakemake.input.dataset)
write_fscores(snakemake.input.masked_samples, snakemake.input.table, manifest["mask"], snakemake.output[0])
write_sidecars([snakemake.output[0]], snakemake.params.config, input_files(manifest))
