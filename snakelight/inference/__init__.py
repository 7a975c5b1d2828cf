"""Statistical inference on searchlight maps: subject-level permutation tests and group-level methods."""
