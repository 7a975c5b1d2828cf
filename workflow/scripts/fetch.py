import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.haxby import fetch_subject
from snakelight.logs import to_file

to_file(snakemake.log[0])
fetch_subject(
    int(snakemake.wildcards.subject),
    snakemake.output[0],
    source=snakemake.params.source,
    data_dir=snakemake.params.data_dir,
)
