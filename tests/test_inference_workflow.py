"""Permutation inference in the workflow: the 4D null map's file, the statistics step on
hand-made maps, and the rules through Snakemake's command line (marker ``workflow``)."""

import shutil
import subprocess
import sys

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nilearn.decoding import SearchLight
from sklearn.model_selection import KFold

from snakelight.inference import subject
from snakelight.inference.null_maps import read_null_maps, write_null_maps
from snakelight.inference.permutations import permutation_blocks, read_permutations
from snakelight.inference.step import write_inference
from snakelight.io import read_json, read_samples_table
from snakelight.report.inference import critical_value

from .conftest import OUT, REPO, TINY_CONFIG, job_counts, run_snakemake, write_config

RNG = np.random.default_rng(0)
AFFINE = np.diag([-3.5, 3.75, 3.75, 1.0])


# Blocks and the null map's file


def test_blocks_keep_their_ranges_when_permutations_grow():
    assert permutation_blocks(19, 5) == [(1, 5), (6, 10), (11, 15), (16, 19)]
    assert permutation_blocks(10, 5) == [(1, 5), (6, 10)]
    assert set(permutation_blocks(10, 5)) <= set(permutation_blocks(20, 5))
    assert permutation_blocks(0, 5) == []


def test_streamed_null_map_is_the_image_nibabel_writes(tmp_path):
    mask = RNG.random((5, 6, 7)) > 0.5
    maps = RNG.random((9, mask.sum()))
    write_null_maps(
        tmp_path / "null.nii.gz", mask, AFFINE, 9, [(np.arange(1, 5), maps[:4]), (np.arange(5, 10), maps[4:])]
    )
    reference = np.zeros((*mask.shape, 9))
    reference[mask] = maps.T
    nib.Nifti1Image(reference, AFFINE).to_filename(tmp_path / "reference.nii.gz")
    streamed, written = nib.load(tmp_path / "null.nii.gz"), nib.load(tmp_path / "reference.nii.gz")
    assert streamed.header == written.header
    assert np.array_equal(streamed.get_fdata(), reference)
    assert np.array_equal(read_null_maps(tmp_path / "null.nii.gz", mask, np.float64), maps)
    # The same maps, in other blocks: the same bytes.
    write_null_maps(tmp_path / "again.nii.gz", mask, AFFINE, 9, [(np.arange(1, 10), maps)])
    assert (tmp_path / "again.nii.gz").read_bytes() == (tmp_path / "null.nii.gz").read_bytes()


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        ([(np.arange(2, 10), np.zeros((8, 3)))], "permutations 2..9 do not follow 0"),
        ([(np.arange(1, 5), np.zeros((4, 3)))], "4 of 9 null maps"),
    ],
)
def test_null_map_blocks_must_run_from_one_without_gap(tmp_path, blocks, message):
    mask = np.zeros((2, 2, 2), dtype=bool)
    mask.flat[:3] = True
    with pytest.raises(ValueError, match=message):
        write_null_maps(tmp_path / "null.nii.gz", mask, AFFINE, 9, blocks)
    assert list(tmp_path.iterdir()) == []


def test_critical_value_is_the_smallest_significant_maximum():
    maxima = np.arange(1.0, 40.0)  # P = 39: p <= 0.05 allows one null maximum at or above
    assert critical_value(maxima, 0.05) == 38.0
    for observed in (38.0, 38.5):
        assert (subject.max_statistic_p(np.array([observed]), maxima)[0] <= 0.05) == (observed > 38.0)
    assert critical_value(np.arange(1.0, 20.0), 0.05) == 19.0


def test_statistics_step_writes_what_the_library_computes(tmp_path):
    """A blob scoring high in a 6x6x3 process mask, against 39 noise maps."""
    mask = np.ones((6, 6, 3), dtype=bool)
    observed = np.full(mask.shape, 0.5)
    observed[1:4, 1:4, :2] = 0.9
    null = 0.5 + 0.05 * RNG.standard_normal((39, mask.sum()))
    nib.Nifti1Image(mask.astype(np.uint8), AFFINE).to_filename(tmp_path / "process_mask.nii.gz")
    nib.Nifti1Image(observed, AFFINE).to_filename(tmp_path / "searchlight.nii.gz")
    write_null_maps(tmp_path / "null.nii.gz", mask, AFFINE, 39, [(np.arange(1, 40), null)])
    names = ["logp", "logp_fwe", "tfce", "tfce_logp_fwe", "clusters_img", "clusters_tsv", "null_maxima"]
    outputs = {
        name: tmp_path / f"{name}.{'tsv' if name in ('clusters_tsv', 'null_maxima') else 'nii.gz'}" for name in names
    }
    table = write_inference(
        tmp_path / "searchlight.nii.gz",
        tmp_path / "null.nii.gz",
        tmp_path / "process_mask.nii.gz",
        outputs,
        chance=0.5,
        cluster_threshold=0.05,
        connectivity=6,
    )
    flat, null32 = observed[mask], null.astype(np.float32)
    logp = nib.load(outputs["logp"]).get_fdata()[mask]
    assert np.array_equal(logp, subject.voxel_p_values(flat, null32)[1])
    assert np.array_equal(nib.load(outputs["logp_fwe"]).get_fdata()[mask], -np.log10(subject.voxel_fwe(flat, null32)))
    assert nib.load(outputs["logp_fwe"]).get_fdata()[1, 1, 0] == pytest.approx(-np.log10(1 / 40))
    assert table.loc[0, "size"] == 18 and table.loc[0, "p_fwe_mass"] == pytest.approx(1 / 40)
    assert table.loc[0, "peak_score"] == 0.9
    x, y, z = AFFINE[:3, :3] @ table.loc[0, ["peak_i", "peak_j", "peak_k"]].to_numpy(float) + AFFINE[:3, 3]
    assert (table.loc[0, "x_mm"], table.loc[0, "y_mm"], table.loc[0, "z_mm"]) == (x, y, z)
    maxima = pd.read_csv(outputs["null_maxima"], sep="\t")
    assert np.array_equal(maxima["max_score"], null32.max(axis=1).astype(np.float64))
    tfce = subject.tfce_fwe(flat, null32, mask, chance=0.5)
    assert np.array_equal(maxima["max_tfce"], tfce.null_max)
    assert np.array_equal(nib.load(outputs["tfce_logp_fwe"]).get_fdata()[mask], -np.log10(tfce.p_fwe))
    labels = nib.load(outputs["clusters_img"]).get_fdata()
    assert labels[1:4, 1:4, :2].min() == 1 and (labels == 1).sum() == 18


# Through Snakemake

# P = 10 needs alpha 0.1: P + 1 >= 1 / alpha, and a cluster-forming p of at least 1 / (P + 1).
# Whole blocks move (single volumes of blocks are refused): the tiny config's 4 runs of one face
# and one house block give only 8 distinct null maps, so these runs have 6 runs (32).
INFERENCE_10 = {"permutations": 10, "permutations_per_job": 5, "alpha": 0.1, "cluster_threshold": 0.1}
INFERENCE_20 = {"permutations": 20, "permutations_per_job": 5, "alpha": 0.05, "cluster_threshold": 0.05}


def with_inference(inference, n_runs=6, **searchlight):
    dataset = TINY_CONFIG["dataset"]
    return {
        **TINY_CONFIG,
        "dataset": {**dataset, "synthetic": {**dataset["synthetic"], "n_runs": n_runs}},
        "inference": inference,
        "searchlight": {**TINY_CONFIG["searchlight"], **searchlight},
    }


@pytest.fixture(scope="module")
def ten(tmp_path_factory):
    """A finished run of the tiny config with 10 permutations in blocks of 5."""
    workdir = tmp_path_factory.mktemp("inference10")
    result = run_snakemake(workdir, "--cores", "2", "--configfile", write_config(workdir, with_inference(INFERENCE_10)))
    counts = job_counts(result.stdout)
    assert (counts["searchlight_chunk"], counts["null_chunk"], counts["merge_null"]) == (3, 6, 1)
    return workdir


@pytest.fixture(scope="module")
def twenty(ten, tmp_path_factory):
    """That run, asked for 20 permutations: the Snakemake output and the folder."""
    workdir = shutil.copytree(ten, tmp_path_factory.mktemp("inference20") / "run", symlinks=True)
    config = write_config(workdir, with_inference(INFERENCE_20))
    return run_snakemake(workdir, "--cores", "2", "--configfile", config).stdout, workdir


@pytest.mark.workflow
def test_more_permutations_score_only_the_new_blocks(ten, twenty):
    output, workdir = twenty
    assert job_counts(output) == {
        "permutations": 1,
        "permutation_block": 2,
        "null_chunk": 6,  # 3 chunks x blocks 11-15 and 16-20
        "merge_null": 1,
        "inference_statistics": 1,
        "inference_figures": 1,
        "analysis_config": 1,  # records the new configuration
        "all": 1,
    }
    for block in ("1-5", "6-10"):
        old, new = (folder / OUT / "null_chunks" / "0" / f"{block}.npz" for folder in (ten, workdir))
        assert old.read_bytes() == new.read_bytes()
        assert old.stat().st_mtime_ns == new.stat().st_mtime_ns
    ten_null = nib.load(ten / OUT / "searchlight_null.nii.gz").get_fdata()
    twenty_null = nib.load(workdir / OUT / "searchlight_null.nii.gz").get_fdata()
    assert twenty_null.shape == (12, 14, 12, 20)
    assert np.array_equal(twenty_null[..., :10], ten_null)


@pytest.mark.workflow
def test_null_volumes_are_nilearn_on_the_permuted_labels(twenty):
    _, workdir = twenty
    table = read_samples_table(workdir / OUT / "samples.tsv")
    permuted = read_permutations(workdir / OUT / "permutations.tsv", table["label"], table["run"])
    null = nib.load(workdir / OUT / "searchlight_null.nii.gz").get_fdata()
    process_mask = nib.load(workdir / "results/config/sub-02/process_mask.nii.gz")
    for k in (1, 17):
        searchlight = SearchLight(
            read_json(workdir / "results/config/sub-02/dataset.json")["mask"],
            process_mask_img=process_mask,
            radius=5.6,
            cv=KFold(4),
        )
        searchlight.fit(str(workdir / OUT / "samples.nii.gz"), permuted[:, k - 1])
        assert np.array_equal(null[..., k - 1], searchlight.scores_)
    assert not np.array_equal(null[..., 0], null[..., 1])
    assert np.all(null[np.asarray(process_mask.dataobj) == 0] == 0)


@pytest.mark.workflow
def test_outputs_sidecars_and_report(twenty):
    _, workdir = twenty
    out = workdir / OUT
    for name in ("searchlight_logp", "searchlight_logp_fwe", "searchlight_tfce_logp_fwe"):
        assert nib.load(out / f"{name}.nii.gz").shape == (12, 14, 12)
        sidecar = read_json(out / f"{name}.json")
        assert sidecar["config"]["inference"] == {
            "permutations": 20,
            "permute": "blocks",
            "seed": 0,
            "output": None,
            "cluster_threshold": 0.05,
            "connectivity": 6,
        }
        assert "null" in sidecar["inputs"] and "permutations" in sidecar["inputs"]
    assert read_json(out / "searchlight_null.json")["config"]["inference"] == {
        "permutations": 20,
        "permute": "blocks",
        "seed": 0,
        "output": None,
    }
    # The planted region is found: its cluster is significant with 20 permutations (p = 1/21).
    clusters = pd.read_csv(out / "clusters_fwe.tsv", sep="\t")
    assert {"size", "mass", "x_mm", "y_mm", "z_mm", "peak_score", "p_fwe_size", "p_fwe_mass"} <= set(clusters)
    assert clusters.loc[0, "p_fwe_mass"] == pytest.approx(1 / 21)
    # Random draws of the 32 distinct null maps may land on the real split (the real labels or
    # their global swap): each such draw's map is the real one and ties its peak.
    table = read_samples_table(out / "samples.tsv")
    permuted = read_permutations(out / "permutations.tsv", table["label"], table["run"])
    labels = table["label"].to_numpy().astype(str)[:, None]
    swapped = np.where(labels == "face", "house", "face")
    real_split = int(np.count_nonzero(np.all(permuted == labels, axis=0) | np.all(permuted == swapped, axis=0)))
    logp_fwe = nib.load(out / "searchlight_logp_fwe.nii.gz").get_fdata().max()
    assert logp_fwe == pytest.approx(-np.log10((1 + real_split) / 21))
    run_snakemake(workdir, "--configfile", str(workdir / "config.yaml"), "--report", "report.html")
    html = (workdir / "report.html").read_text()
    for name in ("searchlight_fwe.png", "null_maxima.png", "clusters_fwe.html"):
        assert name in html
    assert "against 20" in html and "TFCE FWE" in html  # the captions: how many permutations, which correction


@pytest.mark.workflow
def test_null_maps_do_not_depend_on_chunks_or_blocks(twenty, tmp_path):
    _, workdir = twenty
    other = shutil.copytree(workdir, tmp_path / "run", symlinks=True)
    config = with_inference({**INFERENCE_20, "permutations_per_job": 7}, n_chunks=2)
    result = run_snakemake(other, "--cores", "2", "--configfile", write_config(other, config))
    assert job_counts(result.stdout)["null_chunk"] == 2 * 3  # blocks 1-7, 8-14, 15-20
    assert (other / OUT / "searchlight_null.nii.gz").read_bytes() == (
        workdir / OUT / "searchlight_null.nii.gz"
    ).read_bytes()


@pytest.mark.workflow
def test_another_block_size_recomputes_every_null_map_as_documented(ten, tmp_path):
    """Blocks are named by their range: permutations_per_job 5 -> 10 keeps none of the 6
    null-map files (2 blocks x 3 chunks) and scores 1 block x 3 chunks again; the docs
    and config/README.md say so (issue 23)."""
    workdir = shutil.copytree(ten, tmp_path / "run", symlinks=True)
    config = write_config(workdir, with_inference({**INFERENCE_10, "permutations_per_job": 10}))
    result = run_snakemake(workdir, "-n", "--configfile", config)
    assert job_counts(result.stdout)["null_chunk"] == 3
    howto, config_readme = (
        " ".join((REPO / path).read_text().split())
        for path in ("docs/howto/permutation-settings.md", "config/README.md")
    )
    assert "Changing `permutations_per_job` recomputes every null map" in howto
    assert "changing it recomputes every null map" in config_readme


@pytest.mark.workflow
def test_a_damaged_permutations_block_file_is_refused_by_the_null_job(ten, tmp_path):
    workdir = shutil.copytree(ten, tmp_path / "run", symlinks=True)
    path = workdir / OUT / "permutations" / "6-10.tsv"
    table = pd.read_csv(path, sep="\t", dtype=str)
    runs = read_samples_table(workdir / OUT / "samples.tsv")["run"].to_numpy()
    first_run, second_run = np.flatnonzero(runs == runs[0])[0], np.flatnonzero(runs != runs[0])[0]
    table.loc[first_run, "perm_7"] = "house" if table.loc[first_run, "perm_7"] == "face" else "face"
    table.loc[second_run, "perm_7"] = "cat"
    table.to_csv(path, sep="\t", index=False)
    (workdir / OUT / "null_chunks" / "1" / "6-10.npz").unlink()
    result = run_snakemake(workdir, "--cores", "1", "--configfile", str(workdir / "config.yaml"), check=False)
    assert result.returncode != 0
    errors = [line for line in result.stdout.splitlines() if line.startswith("error: ")]
    assert errors and "6-10.tsv column perm_7, run" in errors[0]
    assert "are not a permutation of the run's labels" in errors[0]
    assert not (workdir / OUT / "null_chunks" / "1" / "6-10.npz").exists()


@pytest.mark.workflow
@pytest.mark.parametrize(
    ("inference", "message"),
    [
        ({"permutations": -5}, "config key inference.permutations: -5 is negative"),
        ({"permutations": 10}, "config key inference.permutations: 10 permutations give p-values of at least 1/11"),
        (
            {"permutations": 100, "cluster_threshold": 0.001},
            "config key inference.cluster_threshold: 0.001 is below the smallest voxel p-value 1/101",
        ),
        (
            {"permutations": 50, "cluster_threshold": 0.05, "permutations_per_job": 60},
            "config key inference.permutations_per_job: 60 is not between 1 and inference.permutations = 50",
        ),
    ],
)
def test_bad_inference_settings_stop_before_any_job(tmp_path, inference, message):
    config = write_config(tmp_path, with_inference(inference))
    result = run_snakemake(tmp_path, "--cores", "1", "--configfile", config, check=False)
    assert result.returncode != 0
    assert [line for line in result.stdout.splitlines() if message in line]
    assert not (tmp_path / "results").exists()


@pytest.mark.workflow
def test_blocks_too_few_to_reach_alpha_stop_the_first_permutation_job(tmp_path):
    """The default, whole blocks: the tiny config's 4 runs of one face and one house block
    have 2^4 = 16 relabellings, 8 distinct null maps (swapping the labels in every run renames
    the classes), so no p-value can reach alpha 0.05: one line, no null map."""
    config = write_config(tmp_path, with_inference(INFERENCE_20, n_runs=4))
    result = run_snakemake(tmp_path, "--cores", "2", "--configfile", config, check=False)
    assert result.returncode != 0
    message = (
        f"error: config key inference.permute: the 8 blocks of {OUT}/samples.tsv (4 runs) have only 8 "
        "distinct relabellings within runs (counted modulo renaming the labels), so no p-value can reach "
        "inference.alpha = 0.05"
    )
    assert [line for line in result.stdout.splitlines() if line.startswith(message)]
    assert not list((tmp_path / OUT).glob("null_chunks/*/*.npz"))


@pytest.mark.workflow
def test_single_volumes_of_blocks_may_not_move_alone(tmp_path):
    """permute: samples on the generated block design ran at 85-98% false positives: the
    first permutation job refuses it, in one line, before any null map."""
    config = write_config(tmp_path, with_inference({**INFERENCE_20, "permute": "samples"}))
    result = run_snakemake(tmp_path, "--cores", "2", "--configfile", config, check=False)
    assert result.returncode != 0
    message = "error: config key inference.permute: samples moves single volumes, but this design's labels come in"
    assert [line for line in result.stdout.splitlines() if line.startswith(message)]
    assert not list((tmp_path / OUT).glob("null_chunks/*/*.npz"))


def test_permutations_yaml_adds_inference_to_the_seeds_analysis(tmp_path):
    """config/permutations.yaml named after config/config.yaml: the seed's analysis with 999
    null maps, in results/permutations/ (the run itself: README, "Permutation inference")."""
    configs = [str(REPO / "config" / name) for name in ("config.yaml", "permutations.yaml")]
    result = run_snakemake(tmp_path, "-n", "--configfile", *configs)
    counts = job_counts(result.stdout)
    assert counts["permutations"] == counts["merge_null"] == counts["inference_figures"] == 1
    assert "results/permutations/sub-02/face_vs_house/permutations.tsv" in result.stdout
    assert '"permutations": 999, "permutations_per_job": 250, "permute": "blocks"' in result.stdout


def test_calibration_quick_mode_runs():
    """benchmarks/calibration.py --quick: a few null datasets and the planted one, in seconds."""
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "calibration.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("voxel FWE", "cluster-mass FWE", "TFCE FWE", "sensitivity"):
        assert line in result.stdout
