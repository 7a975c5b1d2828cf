from pathlib import Path

import snakelight.step  # noqa: F401 (pauses garbage collection while the step imports)
from snakelight.data.synthetic import write_subject
from snakelight.logs import to_file

to_file(snakemake.log[0])
params = snakemake.params
write_subject(
    Path(snakemake.input.mask).parent,
    int(snakemake.wildcards.n),
    n_runs=params.n_runs,
    effect_size=params.effect_size,
    seed=params.seed,
    jitter_mm=params.jitter_mm,
    amplitude_spread=params.amplitude_spread,
    carries_effect=params.carries_effect,
    threads=snakemake.threads,
    geometry=params.geometry,
    rating_effect=params.rating_effect,
)
