"""File formats passed between workflow steps: the data contract, documented here once.

- ``dataset.json`` (fetch, collect_subject, bids_volumes, bids_betas_manifest;
  :func:`write_manifest`): paths of one
  subject's ``bold`` (4D NIfTI), brain ``mask`` (3D NIfTI on the same grid) and
  ``labels`` (Haxby's labels.txt: space-separated, columns ``labels`` and ``chunks``),
  plus ``subject``, ``source``, ``t_r`` and ``uncompressed``: the path of
  ``bold.nii`` beside the manifest, the BOLD image's file as the step read and checked
  it, decompressed (:func:`uncompressed_bold`), which select_conditions memory-maps
  instead of decompressing the image again.
  For GLM samples (``samples.mode: glm``) ``bold`` is the beta series, one volume per
  beta, and ``labels`` one row per beta.
- ``samples.nii.gz`` + ``samples.tsv`` (select_conditions): the selected volumes, and one
  row per volume with columns ``label``, ``run`` and ``volume`` (index in the original).
- ``masked_samples.npy`` (select_conditions): the same volumes inside the brain mask, as
  nilearn's ``apply_mask_fmri`` gives them: (volumes, mask voxels in C order), float32.
  Chunk jobs and fscores read this instead of decompressing the 4D image.
- ``process_mask.nii.gz`` (process_mask): uint8, 1 where a sphere is centred.
- ``chunks.txt`` (chunk_plan, for ``searchlight.n_chunks: auto`` only): the number of
  chunks, one line.
- ``chunks/<i>.npz`` (searchlight_chunk): ``seeds`` (positions in the process mask's
  voxel order, C order) and one array per named output (``output_<name>``, seeds x folds,
  float64; :mod:`snakelight.searchlight.outputs`).
- ``permutations.tsv`` (permutations): the permuted labels, one column per permutation
  (:mod:`snakelight.inference.permutations`).
- ``null_chunks/<i>/<first>-<last>.npz`` (null_chunk): ``seeds`` (as a chunk's),
  ``permutations`` (first..last) and ``null_scores`` (permutations x seeds, float64: each
  sphere's mean score over the folds under each permutation's labels).
- ``searchlight_null.nii.gz`` (merge_null): one volume per permutation, as
  ``searchlight.nii.gz`` (:mod:`snakelight.inference.null_maps`).
- ``searchlight.nii.gz`` / ``searchlight_folds.nii.gz`` (merge): the mean score per
  voxel (float64, zeros outside the process mask, as nilearn's ``scores_``), and one
  volume per fold, of the first output; ``searchlight_<name>.nii.gz`` /
  ``searchlight_<name>_folds.nii.gz`` the same for each further output.
- ``fscores.nii.gz`` (fscores): -log10 p of the per-voxel ANOVA F-test, clipped at 10
  (float64 on the brain mask's grid, zeros outside it), as nilearn's ``inverse_transform`` writes it.
- ``<map>.json`` beside each of the three maps (merge, fscores): the JSON sidecar of
  :mod:`snakelight.provenance`: ``map``, ``config`` (what the map depends on),
  ``versions`` (packages) and ``inputs`` (name -> ``path``, ``sha256``).

Every writer goes through :func:`atomic_path` (NIfTI images through :func:`write_nifti`),
so a killed job never leaves a file that looks complete. An input that breaks this contract raises :class:`InputError`.
"""

import contextlib
import glob
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from isal import igzip

from snakelight.searchlight.outputs import chunk_key

LABEL_COLUMNS = ("labels", "chunks")
# The files a dataset.json manifest names.
MANIFEST_FILES = ("bold", "mask", "labels")


class InputError(ValueError):
    """An input file (or a config key) is wrong; the message is one line that names it
    and says what is wrong. Steps report it without a traceback (:mod:`snakelight.logs`)."""


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; move it into place only on success.

    A job killed mid-write (SIGKILL skips the clean-up) leaves its temporary file; the
    next writer of ``path`` removes it. Snakemake never runs two jobs for one output.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp*"):
        stale.unlink(missing_ok=True)
    # Keep the suffixes: nibabel picks the format (and gzip) from them.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp{''.join(path.suffixes)}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# gzip level of every .nii.gz written (ISA-L's levels, 0-3): level 1 compresses Haxby's
# 475 MB BOLD series 7 times faster than zlib's level 1 (nibabel's), to a smaller file.
GZIP_LEVEL = 1


def write_nifti(path, img):
    """Write a nibabel image to ``path``, atomically; a ``.gz`` path through ISA-L's gzip
    (:func:`gzip_writer`): the same bytes, decompressed, as nibabel's ``to_filename``."""
    with atomic_path(path) as tmp:
        if tmp.name.endswith(".gz"):
            with open(tmp, "wb") as raw, gzip_writer(raw) as stream:
                img.to_stream(stream)
        else:
            img.to_filename(tmp)


def gzip_writer(fileobj):
    """A gzip stream into the open binary ``fileobj``, as nibabel writes one (no file name,
    no time stamp: the same input gives the same bytes), compressed by ISA-L."""
    return igzip.IGzipFile(filename="", mode="wb", fileobj=fileobj, compresslevel=GZIP_LEVEL, mtime=0)


def read_gzip(path):
    """The decompressed bytes of the gzip file ``path`` (ISA-L's inflate, 2 times zlib's),
    the whole stream read, so its CRC and length are checked."""
    with igzip.open(path, "rb") as f:
        return f.read()


def uncompressed_bold(manifest_path):
    """Where the step writing ``manifest_path`` puts the BOLD image uncompressed."""
    return Path(manifest_path).with_name("bold.nii")


def write_manifest(path, *, source, subject, t_r, uncompressed, residuals=None, **files):
    """Write a subject's ``dataset.json``: its source, number, TR and the absolute paths
    of the :data:`MANIFEST_FILES` given as keywords, of the ``uncompressed`` BOLD image
    and, when given, of ``residuals`` (snakelight.data.glm.Residuals: a GLM's residuals,
    the noise that RSA normalises by)."""
    if sorted(files) != sorted(MANIFEST_FILES):
        raise ValueError(f"a manifest names {', '.join(MANIFEST_FILES)}, not {', '.join(files)}")
    manifest = {
        "source": source,
        "subject": subject,
        "t_r": t_r,
        "uncompressed": str(Path(uncompressed).resolve()),
        **{name: str(Path(files[name]).resolve()) for name in MANIFEST_FILES},
        **({"residuals": str(Path(residuals).resolve())} if residuals else {}),
    }
    write_json(path, manifest)
    return manifest


def write_json(path, data):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path):
    return json.loads(Path(path).read_text())


def read_labels(path):
    """Haxby's labels.txt (space-separated columns ``labels`` and ``chunks``) as a table
    with columns label and run."""
    try:
        labels = pd.read_csv(path, sep=" ", dtype={"labels": str})
    except (OSError, ValueError) as error:  # pandas' parser errors are ValueErrors
        raise InputError(f"{path}: unreadable labels file ({one_line(error)})") from None
    missing = [column for column in LABEL_COLUMNS if column not in labels.columns]
    if missing:
        raise InputError(
            f"{path}: no column {missing[0]!r}; a labels file has space-separated columns "
            f"{' and '.join(map(repr, LABEL_COLUMNS))} (this one has {', '.join(map(repr, labels.columns))})"
        )
    # Further columns (a labels table's numeric ones: continuous targets) come along.
    extra = {column: labels[column] for column in labels.columns if column not in LABEL_COLUMNS}
    return pd.DataFrame({"label": labels["labels"], "run": labels["chunks"], **extra})


def write_labels(path, table):
    """A table with columns label and run, as Haxby's labels.txt, and its further columns."""
    extra = {column: table[column] for column in table.columns if column not in ("label", "run")}
    with atomic_path(path) as tmp:
        pd.DataFrame({"labels": table["label"], "chunks": table["run"], **extra}).to_csv(tmp, sep=" ", index=False)


def one_line(error):
    return " ".join(str(error).split())


def write_samples_table(path, table):
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False)


def read_samples_table(path):
    return pd.read_csv(path, sep="\t", dtype={"label": str})


def write_masked_samples(path, samples):
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, samples)


def read_masked_samples(path):
    return np.load(path)


def write_chunk(path, seeds, outputs):
    """``seeds`` (S,) and ``outputs``, {output name: (S, n_values)}."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, seeds=seeds, **{chunk_key(name): values for name, values in outputs.items()})


def read_chunk(path):
    """``seeds`` (S,) and {output name: (S, n_values)}, in the order written."""
    with np.load(path) as data:
        prefix = chunk_key("")
        return data["seeds"], {key[len(prefix) :]: data[key] for key in data.files if key.startswith(prefix)}


def write_null_chunk(path, seeds, permutations, null_scores):
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, seeds=seeds, permutations=permutations, null_scores=null_scores)


def read_null_chunk(path):
    """``seeds`` (S,), ``permutations`` (B,) and ``null_scores`` (B, S)."""
    with np.load(path) as data:
        return data["seeds"], data["permutations"], data["null_scores"]
