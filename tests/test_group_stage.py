"""The group stage: the generated multi-subject study, reading subjects' maps onto one
group mask, each method's files against the library, and the workflow's group rules."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import ndimage

from snakelight.data import synthetic
from snakelight.inference.group import method_maps
from snakelight.inference.group_stage import read_study, write_method
from snakelight.inference.prevalence import prevalence_inference
from snakelight.inference.stelzer import stelzer_inference
from snakelight.io import InputError
from snakelight.provenance import sha256

from .conftest import REPO, TINY, TINY_CONFIG, job_counts, run_snakemake, write_config

# The data arrays of subject 3 (n_runs 2, effect size 1, seed 0, TINY grid) as the
# single-subject generator wrote them before the multi-subject mode (commit ab060f5), since
# the design has a generator of its own (the BOLD series changed then; the truth did not).
SINGLE_SUBJECT_SHA256 = {
    "bold": "9edd32d69fb6fe03d10c10545e6c7342f1035254bcc4d1c109d85d6baee2924c",
    "truth": "47c0d0597b7b23b15293f3b9011e1923d8d85b119af7b8dbd4c91232332d7e01",
}


def generate(folder, subject=3, **options):
    synthetic.write_mask(folder, TINY["shape"], TINY["voxel_size"])
    synthetic.write_subject(folder, subject, n_runs=2, effect_size=1.0, seed=0, **options)
    return {
        name: np.asarray(nib.load(folder / f"subj{subject}" / f"{name}.nii.gz").dataobj) for name in ("bold", "truth")
    }


def test_default_subject_is_the_single_subject_generators(tmp_path):
    data = generate(tmp_path)
    assert {name: hashlib.sha256(values.tobytes()).hexdigest() for name, values in data.items()} == (
        SINGLE_SUBJECT_SHA256
    )


def test_jitter_moves_each_subjects_regions_within_the_shift(tmp_path):
    plain = generate(tmp_path / "plain")["truth"]
    affine = nib.load(tmp_path / "plain" / "mask.nii.gz").affine
    moved = [generate(tmp_path / f"s{s}", subject=s, jitter_mm=6.0)["truth"] for s in (1, 2)]
    assert not np.array_equal(moved[0], moved[1])
    for truth in moved:
        for value in (1, 2):
            shift = centre_mm(truth == value, affine) - centre_mm(plain == value, affine)
            # The mask clips the regions, so centres of mass move a little more or less.
            assert 0 < np.abs(shift).max() <= 6.0 + 2.0


def centre_mm(region, affine):
    return nib.affines.apply_affine(affine, np.array(ndimage.center_of_mass(region)))


def test_a_subject_without_the_effect_has_noise_only(tmp_path):
    without = generate(tmp_path / "without", carries_effect=False)
    assert not without["truth"].any()
    with_effect = generate(tmp_path / "with")
    no_signal = np.asarray(with_effect["truth"]) == 0
    # Same noise and design; only the planted voxels differ.
    assert np.array_equal(without["bold"][no_signal], with_effect["bold"][no_signal])
    assert not np.array_equal(without["bold"], with_effect["bold"])


def test_amplitude_spread_scales_the_signal_only(tmp_path):
    spread = generate(tmp_path / "spread", amplitude_spread=0.5)
    plain = generate(tmp_path / "plain")
    assert np.array_equal(spread["truth"], plain["truth"])
    outside = plain["truth"] == 0
    assert np.array_equal(spread["bold"][outside], plain["bold"][outside])
    assert not np.array_equal(spread["bold"][~outside], plain["bold"][~outside])


SETTINGS = {
    "alpha": 0.05,
    "min_subjects": 2,
    "seed": 3,
    "stelzer": {"bootstraps": 1000, "p_voxel": 0.01, "connectivity": 1},
    "prevalence": {"permutations": 100_000, "gamma0": 0.5},
    "signflip": {"n_perm": 200, "threshold": 0.01},
}
AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])
AFFINE[:3, 3] = [-12.0, -15.0, -6.0]


def write_study(folder, n_subjects=6, n_null=30, shape=(8, 10, 5)):
    """Smooth subject maps with an effect at one spot and null maps without; each subject's
    process mask drops one voxel of its own. Returns names and the three path lists."""
    rng = np.random.default_rng(0)
    names, maps, masks, nulls = [], [], [], []
    for n in range(n_subjects):
        mask = np.zeros(shape, dtype=bool)
        mask[1:-1, 1:-1, :] = True
        mask[1 + n, 1, 0] = False
        noise = ndimage.gaussian_filter(rng.standard_normal((n_null + 1, *shape)), (0, 1, 1, 1))
        values = (0.5 + 0.05 * noise / noise.std()) * mask
        values[0, 3:6, 4:7, 1:4] += 0.25
        name = f"sub-{n + 1:02d}"
        names.append(name)
        for paths, suffix, data in (
            (maps, "searchlight", values[0]),
            (masks, "process_mask", mask.astype(np.uint8)),
            (nulls, "searchlight_null", np.moveaxis(values[1:], 0, -1)),
        ):
            paths.append(str(folder / f"{name}_{suffix}.nii.gz"))
            nib.Nifti1Image(data, AFFINE).to_filename(paths[-1])
    return names, maps, masks, nulls


@pytest.fixture(scope="module")
def study_files(tmp_path_factory):
    return write_study(tmp_path_factory.mktemp("study"))


def test_read_study_intersects_the_process_masks(study_files):
    names, maps, masks, nulls = study_files
    study = read_study(names, maps, masks, nulls)
    expected = np.logical_and.reduce([np.asarray(nib.load(path).dataobj) != 0 for path in masks])
    assert np.array_equal(study.mask, expected) and study.mask.sum() == 6 * 8 * 5 - 6
    assert study.observed.shape == (6, study.mask.sum())
    assert [maps.shape for maps in study.null] == [(30, study.mask.sum())] * 6
    first_null = np.asarray(nib.load(nulls[0]).dataobj)[..., 4]
    assert np.array_equal(study.null[0][4], first_null[study.mask])


def test_subjects_on_other_grids_stop_with_one_line(study_files, tmp_path):
    names, maps, masks, nulls = study_files
    other_shape = tmp_path / "sub-03_searchlight.nii.gz"
    nib.Nifti1Image(np.zeros((8, 10, 4)), AFFINE).to_filename(other_shape)
    with pytest.raises(InputError) as error:
        read_study(names, [*maps[:2], str(other_shape), *maps[3:]], masks)
    assert str(error.value) == (
        f"sub-03 ({other_shape}): grid 8x10x4 differs from sub-01's 8x10x5; "
        "group maps need every subject on one grid (normalise them first)"
    )
    shifted = AFFINE.copy()
    shifted[0, 3] += 2.0
    other_affine = tmp_path / "sub-02_process_mask.nii.gz"
    nib.Nifti1Image(np.ones((8, 10, 5), dtype=np.uint8), shifted).to_filename(other_affine)
    with pytest.raises(InputError) as error:
        read_study(names, maps, [masks[0], str(other_affine), *masks[2:]])
    assert str(error.value) == (
        f"sub-02 ({other_affine}): affine differs from sub-01's by up to 2 mm; "
        "group maps need every subject on one grid (normalise them first)"
    )


def run_method(method, study_files, out_dir):
    names, maps, masks, nulls = study_files
    write_method(
        method,
        names,
        maps,
        masks,
        None if method == "signflip" else nulls,
        out_dir,
        settings=SETTINGS,
        chance=0.5,
        title=method,
        cut_coords=[0.0],
        config={"group": SETTINGS},
    )
    return out_dir


def read_map(folder, name, mask):
    return np.asarray(nib.load(folder / f"{name}.nii.gz").dataobj)[mask]


@pytest.mark.filterwarnings("ignore:Data array used to create a new image contains 64-bit ints")
@pytest.mark.parametrize("method", ["stelzer", "prevalence", "signflip"])
def test_each_method_writes_its_maps_table_figure_and_sidecars(method, study_files, tmp_path):
    out = run_method(method, study_files, tmp_path / "a")
    again = run_method(method, study_files, tmp_path / "b")
    written = {path.name[: -len(".nii.gz")] for path in out.glob("*.nii.gz")}
    assert written == set(method_maps(method, SETTINGS))
    for name in written:  # the same seeds: byte-identical maps
        assert (out / f"{name}.nii.gz").read_bytes() == (again / f"{name}.nii.gz").read_bytes()
    assert (out / "group.png").stat().st_size > 1000
    table = pd.read_csv(out / "clusters.tsv", sep="\t")
    assert list(table.columns) == ["cluster", "size", "peak_x_mm", "peak_y_mm", "peak_z_mm", "peak_accuracy", "p_fwe"]
    # The planted spot (voxels 3-5, 4-6, 1-3: 27 voxels, +0.25 in every subject) is found,
    # peaking inside it, at a hand-computed position in mm.
    top = table.iloc[0]
    peak_voxel = np.linalg.solve(AFFINE, [top.peak_x_mm, top.peak_y_mm, top.peak_z_mm, 1])[:3]
    assert 3 <= peak_voxel[0] <= 5 and 4 <= peak_voxel[1] <= 6 and 1 <= peak_voxel[2] <= 3
    assert top.p_fwe <= SETTINGS["alpha"] and top["size"] <= 27
    assert "<table" in (out / "clusters.html").read_text()
    names, maps, masks, nulls = study_files
    sidecar = json.loads((out / f"{sorted(written)[0]}.json").read_text())
    # Inputs outside the analysis's folder: relative to their common folder, named once.
    assert sidecar["dataset_root"] == str(Path(maps[3]).parent.resolve())
    assert sidecar["inputs"]["sub-04_map"] == {"path": Path(maps[3]).name, "sha256": sha256(maps[3])}
    assert ("sub-04_null_maps" in sidecar["inputs"]) == (method != "signflip")
    assert sidecar["config"]["group"] == SETTINGS and sidecar["config"]["method"]["alpha"] == 0.05


def test_stelzer_and_prevalence_maps_are_the_librarys(study_files, tmp_path):
    names, maps, masks, nulls = study_files
    study = read_study(names, maps, masks, nulls)
    stelzer_dir = run_method("stelzer", study_files, tmp_path / "stelzer")
    direct = stelzer_inference(
        study.observed, study.null, study.mask, bootstraps=1000, p_voxel=0.01, connectivity=1, alpha=0.05, seed=3
    )
    np.testing.assert_array_equal(read_map(stelzer_dir, "threshold", study.mask), direct.thresholds)
    np.testing.assert_array_equal(
        read_map(stelzer_dir, "logp_cluster_fwe", study.mask), -np.log10(direct.cluster_p_fwe)
    )
    assert pd.read_csv(stelzer_dir / "clusters.tsv", sep="\t")["size"].tolist() == direct.clusters["size"].tolist()
    details = json.loads((stelzer_dir / "threshold.json").read_text())["config"]["method"]
    assert (set(details["null_maps_per_subject"].values()), details["bootstraps"]) == ({30}, 1000)
    prevalence_dir = run_method("prevalence", study_files, tmp_path / "prevalence")
    first_level = np.concatenate([study.observed[:, None], study.null], axis=1)
    direct = prevalence_inference(first_level, permutations=100_000, alpha=0.05, gamma0=0.5, seed=3)
    np.testing.assert_array_equal(
        read_map(prevalence_dir, "logp_prevalence_fwe", study.mask), -np.log10(direct.p_prevalence_fwe)
    )
    np.testing.assert_array_equal(
        read_map(prevalence_dir, "gamma_bound_fwe", study.mask), np.nan_to_num(direct.bound_fwe, nan=0.0)
    )


def test_stelzer_without_null_maps_says_so(study_files, tmp_path):
    names, maps, masks, _ = study_files
    with pytest.raises(InputError, match=r"^group.methods: stelzer needs each subject's null maps"):
        write_method(
            "stelzer", names, maps, masks, None, tmp_path, settings=SETTINGS, chance=0.5, title="", cut_coords=[0],
            config={"group": SETTINGS},
        )  # fmt: skip


# The workflow's group stage on a real (tiny) multi-subject run.
GROUP_STUDY = {
    **TINY_CONFIG,
    "subjects": [1, 2, 3, 4, 5],
    "dataset": {
        "source": "synthetic",
        "synthetic": {**TINY_CONFIG["dataset"]["synthetic"], "jitter_mm": 2.0, "amplitude_spread": 0.3, "n_runs": 6},
    },
    # Two scorers, the group stage on the second: it reads the output inference.output names.
    "searchlight": {
        **TINY_CONFIG["searchlight"],
        "estimator": "gnb",
        "n_chunks": 1,
        "scoring": ["accuracy", "balanced_accuracy"],
    },
    "group": {
        "methods": ["stelzer", "prevalence", "signflip"],
        "stelzer": {"bootstraps": 2000, "p_voxel": 0.01},
        "prevalence": {"permutations": 2000},
        "signflip": {"n_perm": 500},
    },
    # Each subject's null maps, computed by the subject-level permutation rules: whole blocks,
    # 6 runs (the tiny config's 4 give 8 distinct null maps, < 1 / alpha; 6 give 32).
    "inference": {
        "permutations": 19,
        "permutations_per_job": 10,
        "cluster_threshold": 0.05,
        "output": "balanced_accuracy",
    },
}


@pytest.mark.workflow
def test_group_rules_on_a_multi_subject_run(tmp_path):
    workdir = tmp_path
    signflip_only = {
        **GROUP_STUDY,
        "group": {**GROUP_STUDY["group"], "methods": ["signflip"]},
        "inference": {"output": "balanced_accuracy"},
    }
    config = write_config(workdir, signflip_only)
    # Sign-flip needs no null maps: it runs with the subject maps alone.
    result = run_snakemake(workdir, "--cores", "2", "--configfile", config)
    assert job_counts(result.stdout)["group_signflip"] == 1
    config = write_config(workdir, GROUP_STUDY)
    result = run_snakemake(workdir, "--cores", "2", "--configfile", config)
    counts = job_counts(result.stdout)
    assert {rule: count for rule, count in counts.items() if rule.startswith("group")} == {
        "group_stelzer": 1,
        "group_prevalence": 1,
    }
    assert counts["merge_null"] == len(GROUP_STUDY["subjects"])
    group = workdir / "results/config/group/face_vs_house"
    for method in ("stelzer", "prevalence", "signflip"):
        assert (group / method / "group.png").is_file() and (group / method / "clusters.tsv").is_file()
        sidecar = json.loads(next((group / method).glob("*.json")).read_text())
        # inference.output's map, relative to the analysis's folder
        subject_map = "sub-05/face_vs_house/searchlight_balanced_accuracy.nii.gz"
        assert sidecar["inputs"]["sub-05_map"] == {
            "path": subject_map,
            "sha256": sha256(workdir / "results/config" / subject_map),
        }
    # The planted face and house regions carry the signal in every subject: sign-flip finds them.
    assert len(pd.read_csv(group / "signflip" / "clusters.tsv", sep="\t")) >= 1
    report = run_snakemake(workdir, "--configfile", config, "--report", "report.html")
    assert report.returncode == 0 and "group_stelzer" in (workdir / "report.html").read_text()


@pytest.mark.parametrize(
    ("group", "message"),
    [
        (
            {"methods": ["stelzer"], "stelzer": {"bootstraps": 500}},
            "config key group.stelzer.p_voxel: 0.001 is below 1/500 = 0.002; 500 bootstrap maps cannot "
            "resolve that voxel threshold: use p_voxel >= 0.002",
        ),
        (
            {"methods": ["signflip"]},
            "config key group.min_subjects: the sign-flip test needs N >= 5 subjects at group.alpha 0.05 (3 give "
            "8 sign patterns, p >= 0.125)",
        ),
        (
            # 3 subjects: the prevalence p is at least 0.5^3 = 0.125 whatever the data.
            {"methods": ["prevalence"]},
            "config key group.prevalence.gamma0: prevalence needs N >= 5 subjects at gamma0 0.5 and alpha 0.05, "
            "or gamma0 <= 0.368 with 3 subjects (p >= gamma0^N = 0.125)",
        ),
        (
            {"methods": ["prevalence"], "min_subjects": 4},
            "config key group.min_subjects: 3 subject(s), fewer than the 4 required",
        ),
    ],
)
def test_bad_group_settings_stop_before_any_job(tmp_path, group, message):
    inference = {"permutations": 19, "permutations_per_job": 19, "cluster_threshold": 0.05}
    config = write_config(tmp_path, {**TINY_CONFIG, "subjects": [1, 2, 3], "group": group, "inference": inference})
    result = run_snakemake(tmp_path, "-n", "--configfile", config, check=False)
    assert result.returncode != 0
    assert f"error: {message}" in result.stdout.splitlines()


def test_group_yaml_is_the_six_subject_study():
    from snakelight.workflow.config import validate_config

    from .conftest import SCHEMA

    config = validate_config(yaml.safe_load((REPO / "config" / "group.yaml").read_text()), SCHEMA)
    assert config["subjects"] == [1, 2, 3, 4, 5, 6]
    assert config["group"]["methods"] == ["stelzer", "prevalence", "signflip"]


def test_calibration_quick_mode_runs():
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "group_calibration.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("no effect") or "bound above" in line]
    assert len(lines) == 4 and all(line.endswith("within alpha 0.05") for line in lines), result.stdout
