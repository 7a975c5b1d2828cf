"""What Snakemake imports while it parses the workflow: the config's validation, the
subjects table and the resource estimates.

Nothing here may import nilearn, scikit-learn or numba (``tests/test_layout.py``): every
cluster job parses the workflow before its step runs, so this is what each job's start
costs.
"""
