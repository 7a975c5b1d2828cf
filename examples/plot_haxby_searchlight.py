"""
Searchlight with ``from snakelight import SearchLight``
=======================================================

nilearn's example "Searchlight analysis of face vs house recognition", with one import
changed: ``from snakelight import SearchLight`` instead of nilearn's. It then runs
nilearn's SearchLight on the same data, prints both times, checks the maps are equal and
draws snakelight's map.

.. code-block:: bash

    python examples/plot_haxby_searchlight.py            # generated Haxby-sized subject
    python examples/plot_haxby_searchlight.py --quick    # a small generated volume (seconds)
    python examples/plot_haxby_searchlight.py --data-dir ~/nilearn_data   # the real data

Offline by default: it generates a subject laid out as ``fetch_haxby`` expects
(``snakelight.data.synthetic``, as the benchmark does) and reads it with ``fetch_haxby``;
with ``--data-dir`` it reads (or downloads) the real Haxby subject 2 there.
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from nilearn import decoding
from nilearn.datasets import fetch_haxby
from nilearn.image import get_data, index_img, load_img, mean_img, new_img_like
from nilearn.plotting import plot_img
from sklearn.model_selection import KFold

from snakelight import SearchLight  # the one change: was `from nilearn.decoding import SearchLight`
from snakelight.data import synthetic

# The generated subjects: Haxby's grid and voxel size, or a small volume for --quick.
HAXBY_GRID, QUICK_GRID, VOXEL_SIZE = (40, 64, 64), (12, 14, 12), (3.5, 3.75, 3.75)


def generated_haxby(root, quick):
    """Write a generated subject 2 under ``root``/haxby2001; returns ``root``."""
    haxby = Path(root) / "haxby2001"
    synthetic.write_mask(haxby, QUICK_GRID if quick else HAXBY_GRID, VOXEL_SIZE)
    synthetic.write_subject(haxby, 2, n_runs=4 if quick else 12, effect_size=1.5 if quick else 1.0, seed=0)
    return root


def main(argv=None):
    parser = argparse.ArgumentParser(description="nilearn's Haxby searchlight example with snakelight's SearchLight")
    parser.add_argument("--quick", action="store_true", help="a small generated volume instead of Haxby's grid")
    parser.add_argument("--data-dir", help="nilearn's data folder with (or to download) the real Haxby data")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        run(args.data_dir or generated_haxby(scratch, args.quick))


def run(data_dir):
    # The seed example, from here on.
    haxby_dataset = fetch_haxby(data_dir=data_dir, subjects=[2])
    fmri_filename = haxby_dataset.func[0]

    labels = pd.read_csv(haxby_dataset.session_target[0], sep=" ")
    y = labels["labels"]
    condition_mask = y.isin(["face", "house"])
    fmri_img = index_img(fmri_filename, condition_mask)
    y = y[condition_mask]

    mask_img = load_img(haxby_dataset.mask)
    # The seed's process mask: one axial slice (z = 29 on Haxby's grid), posterior part.
    process_mask = get_data(mask_img).astype(int)
    picked_slice = 29 if process_mask.shape[2] > 29 else process_mask.shape[2] // 2
    process_mask[..., (picked_slice + 1) :] = 0
    process_mask[..., :picked_slice] = 0
    process_mask[:, 30:] = 0
    process_mask_img = new_img_like(mask_img, process_mask)

    cv = KFold(n_splits=4)
    timings = {}
    # nilearn first: it starts joblib's worker processes, which the second run reuses.
    for name, cls in (("nilearn", decoding.SearchLight), ("snakelight", SearchLight)):
        searchlight = cls(mask_img, process_mask_img=process_mask_img, radius=5.6, n_jobs=2, verbose=0, cv=cv)
        start = time.perf_counter()
        searchlight.fit(fmri_img, y)
        timings[name] = time.perf_counter() - start, searchlight.scores_
    (ours, ours_scores), (theirs, theirs_scores) = timings["snakelight"], timings["nilearn"]
    print(f"{int(process_mask.sum())} spheres, radius 5.6 mm, KFold(4), n_jobs=2")
    print(f"snakelight.SearchLight: {ours:.2f} s; nilearn.decoding.SearchLight: {theirs:.2f} s ({theirs / ours:.1f}x)")
    print(f"scores_ identical: {np.array_equal(ours_scores, theirs_scores)}")

    # The map, drawn as nilearn's example draws it (the cut through the map's peak).
    mean_fmri = mean_img(fmri_img)
    plot_img(
        new_img_like(mean_fmri, ours_scores),
        bg_img=mean_fmri,
        title="snakelight",
        display_mode="z",
        cut_coords=1,
        vmin=0.42,
        cmap="inferno",
        threshold=0.2,
        black_bg=True,
        colorbar=True,
    )


if __name__ == "__main__":
    main()
