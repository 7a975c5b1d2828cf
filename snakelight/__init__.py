"""snakelight: fMRI searchlight decoding as a Snakemake workflow."""

__version__ = "0.1.0"
