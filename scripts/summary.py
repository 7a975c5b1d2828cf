from snakelight.logs import to_file
from snakelight.summary import write_summary

to_file(snakemake.log[0])
write_summary(snakemake.input.map, snakemake.input.process_mask, snakemake.output.histogram,
              snakemake.output.clusters, snakemake.output.clusters_html,
              title=f"{snakemake.wildcards.contrast}, sub-{snakemake.wildcards.subject}",
              **snakemake.params)
