"""The engines that score spheres: ``exact`` (nilearn's scores, bit for bit) and ``fast`` (batched)."""
