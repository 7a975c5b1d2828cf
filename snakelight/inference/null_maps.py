"""The 4D null map ``searchlight_null.nii.gz``: one volume per permutation (1..P, in order),
each the mean score of every sphere under that permutation's labels, zeros outside the
process mask, as ``searchlight.nii.gz`` is for the real labels.

It is written and read a block of permutations at a time, never whole: a NIfTI image stores
its volumes one after another, so the file is streamed through gzip, header then volumes
(P = 1,000 whole-brain maps are 1.4 GB as float64). The gzip stream holds no time stamp or
file name, so the same null maps give the same bytes.
"""

import gzip

import nibabel as nib
import numpy as np

from snakelight.io import atomic_path, read_null_chunk

GZIP_LEVEL = 1  # nibabel's default for .nii.gz


def merge_null_chunks(block_paths, process_mask_img, output, n_null_maps):
    """Write ``output`` from the null chunks: ``block_paths`` lists, per block of permutations
    in order, the paths of its chunk files. Fails unless each block's chunks cover every seed
    exactly once with the same permutations, and the blocks run 1..``n_null_maps`` (the
    columns of permutations.tsv) without a gap; blocks past a design's listed relabellings
    are empty. Memory: one block of maps over the process mask. Returns n_null_maps."""
    process_mask_img = nib.load(process_mask_img)
    process_mask = np.asarray(process_mask_img.dataobj) != 0
    n_permutations = sum(len(read_null_chunk(paths[0])[1]) for paths in block_paths)
    if n_permutations != n_null_maps:
        raise ValueError(f"the null chunks hold {n_permutations} maps, but permutations.tsv has {n_null_maps}")
    blocks = (_block_maps(paths, int(process_mask.sum())) for paths in block_paths)
    write_null_maps(output, process_mask, process_mask_img.affine, n_permutations, blocks)
    return n_permutations


def _block_maps(paths, n_seeds):
    """The permutations (B,) of one block's chunk files and its maps (B, n_seeds)."""
    chunks = [read_null_chunk(path) for path in paths]
    permutations = chunks[0][1]
    if any(not np.array_equal(chunk_permutations, permutations) for _, chunk_permutations, _ in chunks):
        raise ValueError(f"the null chunks {', '.join(map(str, paths))} hold different permutations")
    times_scored = np.bincount(np.concatenate([seeds for seeds, _, _ in chunks]), minlength=n_seeds)
    if times_scored.size != n_seeds or np.any(times_scored != 1):
        raise ValueError(
            f"null chunks of permutations {permutations[0]}..{permutations[-1]} cover "
            f"{np.count_nonzero(times_scored[:n_seeds])} of {n_seeds} seeds, {np.count_nonzero(times_scored > 1)} "
            "more than once"
        )
    maps = np.empty((len(permutations), n_seeds))
    for seeds, _, scores in chunks:
        maps[:, seeds] = scores
    return permutations, maps


def write_null_maps(path, process_mask, affine, n_volumes, blocks):
    """Stream ``n_volumes`` maps over the 3-D bool ``process_mask`` to ``path``, a 4D float64
    NIfTI image on ``affine``, atomically. ``blocks`` yields (permutations (B,), maps
    (B, voxels of the process mask)) in order, permutations running 1..n_volumes; only the
    block at hand is in memory when ``blocks`` is a generator."""
    header = nib.Nifti1Image(np.zeros((1, 1, 1, 1)), affine).header
    header.set_data_shape((*process_mask.shape, n_volumes))
    written = 0
    volume = np.zeros(process_mask.shape)
    with (
        atomic_path(path) as tmp,
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0) as stream,
    ):
        header.write_to(stream)
        stream.write(b"\0" * (int(header.get_data_offset()) - stream.tell()))
        for permutations, maps in blocks:
            if not np.array_equal(permutations, np.arange(written + 1, written + len(maps) + 1)):
                raise ValueError(f"permutations {permutations[0]}..{permutations[-1]} do not follow {written}")
            for values in maps:
                volume[process_mask] = values
                stream.write(volume.tobytes(order="F"))  # NIfTI's voxel order
            written += len(maps)
        if written != n_volumes:
            raise ValueError(f"{written} of {n_volumes} null maps for {path}")


def read_null_maps(path, process_mask, dtype=np.float32):
    """The null maps of ``path`` over the 3-D bool ``process_mask``: (P, voxels), read one
    volume at a time (``dtype`` float32 halves the memory; scores keep their order)."""
    proxy = nib.load(path).dataobj  # the loaded header forgets the data offset; its proxy knows it
    *shape, n_volumes = proxy.shape
    if tuple(shape) != process_mask.shape:
        raise ValueError(f"{path}: volumes of shape {tuple(shape)}, but the process mask's is {process_mask.shape}")
    volume_bytes = int(np.prod(shape)) * proxy.dtype.itemsize
    maps = np.empty((n_volumes, int(process_mask.sum())), dtype=dtype)
    with gzip.open(path, "rb") as f:
        f.seek(proxy.offset)
        for k in range(n_volumes):
            volume = np.frombuffer(f.read(volume_bytes), dtype=proxy.dtype).reshape(shape, order="F")
            maps[k] = volume[process_mask]
    return maps
