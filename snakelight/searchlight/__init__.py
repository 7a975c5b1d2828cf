"""Cross-validation, spheres, chunks, the chunk job, and the engines that score spheres."""
