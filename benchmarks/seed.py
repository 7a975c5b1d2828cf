"""Time the seed analysis two ways on one generated subject: nilearn's example as one
script, and the workflow from the fetched data; and the whole `make run` before them.

    python benchmarks/seed.py           # the default configuration (about 2 minutes)
    python benchmarks/seed.py --quick   # the tiny test configuration (.test/config)

In one run, in an empty folder (results/benchmark-seed/ unless --work is given):

1. `make run`: `snakemake --cores 2` then `snakemake --report results/default/report.html`, from
   an empty results/, as the Makefile runs them (the environment already built). This
   generates the subject (the configuration's synthetic dataset).
2. nilearn: the seed example as nilearn's gallery writes it (fetch_haxby on the
   generated folder, index_img, SearchLight on the process-mask slice with n_jobs=1,
   the F-scores through NiftiMasker and f_classif, both figures, saved as PNG), in a
   fresh Python process, with the configuration's slice, box and cut.
3. workflow: `snakemake --cores 2 --forcerun fetch`, i.e. every step from the fetched
   data on (as the figures the issue quotes were measured).

Printed: each wall time, the ratio workflow / nilearn, and whether the workflow's map
equals nilearn's `scores_` (np.array_equal). Every time is wall-clock time of the whole
command, start-up included; on a shared machine they vary, the ratio less.
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "results" / "benchmark-seed"
CONFIGS = {"default": ROOT / "config" / "config.yaml", "quick": ROOT / ".test" / "config" / "config.yaml"}
CORES = 2
# The configuration is written as default.yaml, so its analysis is make run's: results/default/.
ANALYSIS = "default"
RESULTS = Path("results") / ANALYSIS
MAP = RESULTS / "sub-02" / "face_vs_house" / "searchlight.nii.gz"

# nilearn's plot_haxby_searchlight.py, as its gallery page shows it; only the data
# folder, the slice, the box and the cut come from the configuration, show() saves the
# figures, and scores_ is saved for the comparison.
SEED_SCRIPT = """
import matplotlib
matplotlib.use("Agg")
import pandas as pd
from nilearn import datasets
from nilearn.image import get_data, load_img, new_img_like

haxby_dataset = datasets.fetch_haxby(data_dir={data_dir!r})
print(f"Anatomical nifti image (3D) is located at: {{haxby_dataset.mask}}")
print(f"Functional nifti image (4D) is located at: {{haxby_dataset.func[0]}}")
fmri_filename = haxby_dataset.func[0]
labels = pd.read_csv(haxby_dataset.session_target[0], sep=" ")
y = labels["labels"]
session = labels["chunks"]

from nilearn.image import index_img
condition_mask = y.isin(["face", "house"])
fmri_img = index_img(fmri_filename, condition_mask)
y, session = y[condition_mask], session[condition_mask]

import numpy as np
mask_img = load_img(haxby_dataset.mask)
process_mask = get_data(mask_img).astype(int)
picked_slice = {picked_slice}
process_mask[..., (picked_slice + 1) :] = 0
process_mask[..., :picked_slice] = 0
process_mask[:, {y_stop}:] = 0
process_mask_img = new_img_like(mask_img, process_mask)

n_jobs = 1
from sklearn.model_selection import KFold
cv = KFold(n_splits=4)
import nilearn.decoding
searchlight = nilearn.decoding.SearchLight(
    mask_img, process_mask_img=process_mask_img, radius=5.6, n_jobs=n_jobs, verbose=1, cv=cv
)
searchlight.fit(fmri_img, y)

from nilearn.maskers import NiftiMasker
nifti_masker = NiftiMasker(
    mask_img=mask_img, runs=session, standardize="zscore_sample", memory="nilearn_cache", memory_level=1
)
fmri_masked = nifti_masker.fit_transform(fmri_img)
from sklearn.feature_selection import f_classif
_, p_values = f_classif(fmri_masked, y)
p_values = -np.log10(p_values)
p_values[p_values > 10] = 10
p_unmasked = get_data(nifti_masker.inverse_transform(p_values))

from nilearn import image
mean_fmri = image.mean_img(fmri_img)
from nilearn.plotting import plot_img, plot_stat_map
searchlight_img = new_img_like(mean_fmri, searchlight.scores_)
plot_img(
    searchlight_img, bg_img=mean_fmri, title="Searchlight", display_mode="z", cut_coords={cut_coords},
    vmin=0.42, cmap="hot", threshold=0.2, black_bg=True,
).savefig("searchlight.png")
p_ma = np.ma.array(p_unmasked, mask=np.logical_not(process_mask))
f_score_img = new_img_like(mean_fmri, p_ma)
plot_stat_map(
    f_score_img, mean_fmri, title="F-scores", display_mode="z", cut_coords={cut_coords}, colorbar=False
).savefig("fscores.png")
np.save("scores.npy", searchlight.scores_)
"""


def timed(command, cwd):
    """Run ``command`` in ``cwd``; its wall time in seconds (its output on failure)."""
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}")
    return time.perf_counter() - start


def snakemake(workdir, config, *args):
    """The workflow's Snakemake command line in ``workdir``, with the repository's profile."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(ROOT / "workflow" / "Snakefile"),
        "--workflow-profile",
        str(ROOT / "workflow" / "profiles" / "default"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config),
        *args,
    ]


def one_slice(source, path):
    """The configuration ``source`` with only its first slice z (the seed script picks
    one), written to ``path``: (the configuration, ``path``)."""
    config = yaml.safe_load(source.read_text())
    config["process_mask"]["slices"]["z"] = config["process_mask"]["slices"]["z"][:1]
    path.write_text(yaml.safe_dump(config))
    return config, path


def seed_script(data_dir, config):
    """nilearn's seed example with the configuration's slice, box and cut."""
    process_mask = config["process_mask"]
    return SEED_SCRIPT.format(
        data_dir=str(data_dir),
        picked_slice=process_mask["slices"]["z"][0],
        y_stop=process_mask["box"]["y"][1],
        cut_coords=list(config["figures"]["cut_coords"]),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the tiny test configuration")
    parser.add_argument("--work", type=Path, default=None, help=f"the folder to run in (default {WORK})")
    args = parser.parse_args(argv)
    source = CONFIGS["quick" if args.quick else "default"]
    work = args.work or WORK
    shutil.rmtree(work, ignore_errors=True)
    run_dir, nilearn_dir = work / "workflow", work / "nilearn"
    run_dir.mkdir(parents=True)
    nilearn_dir.mkdir()
    config, config_path = one_slice(source, work / f"{ANALYSIS}.yaml")
    print(f"{source.relative_to(ROOT)}: {CORES} cores for the workflow, one for nilearn", flush=True)

    make_run = timed(snakemake(run_dir, config_path, "--cores", str(CORES)), run_dir) + timed(
        snakemake(run_dir, config_path, "--report", str(RESULTS / "report.html")), run_dir
    )
    print(f"make run, from an empty results/: {make_run:6.1f} s", flush=True)
    script = seed_script(run_dir / RESULTS / "synthetic", config)
    nilearn = timed([sys.executable, "-c", script], nilearn_dir)
    print(f"nilearn's seed script:            {nilearn:6.1f} s", flush=True)
    workflow = timed(snakemake(run_dir, config_path, "--cores", str(CORES), "--forcerun", "fetch"), run_dir)
    print(f"workflow from the fetched data:   {workflow:6.1f} s", flush=True)
    print(f"ratio workflow / nilearn:         {workflow / nilearn:6.2f}", flush=True)
    same = np.array_equal(np.asarray(nib.load(run_dir / MAP).dataobj), np.load(nilearn_dir / "scores.npy"))
    print(f"np.array_equal with nilearn's scores_: {same}", flush=True)


if __name__ == "__main__":
    main()
