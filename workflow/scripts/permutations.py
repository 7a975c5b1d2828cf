from snakelight.inference.permutations import write_permutations
from snakelight.io import read_samples_table
from snakelight.logs import to_file

to_file(snakemake.log[0])
table = read_samples_table(snakemake.input.table)
write_permutations(
    snakemake.output[0],
    table["label"],
    table["run"],
    seed=snakemake.params.seed,
    n_permutations=snakemake.params.n_permutations,
    first=snakemake.params.first,
)
