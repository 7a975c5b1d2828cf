"""The whole DAG through Snakemake's command line, in a temporary directory."""

import os
import re
import shutil

import nibabel as nib
import numpy as np
import pytest
from nilearn.decoding import SearchLight
from sklearn.model_selection import KFold

from snakelight.io import read_json, read_samples_table

from .conftest import OUT, REPO, TINY_CONFIG, job_counts, run_snakemake, write_config

pytestmark = pytest.mark.workflow


@pytest.fixture
def workdir(tiny_run):
    return tiny_run


def test_run_writes_maps_and_figures(workdir):
    for name in ("searchlight.nii.gz", "searchlight_folds.nii.gz", "fscores.nii.gz"):
        assert nib.load(workdir / OUT / name).shape[:3] == (12, 14, 12)
    for name in ("searchlight.png", "fscores.png"):
        assert (workdir / OUT / name).read_bytes().startswith(b"\x89PNG")
    log = (workdir / "results/config/logs/sub-02/face_vs_house/searchlight_chunk_0.log").read_text()
    assert re.search(r"chunk 1/3: (\d+)/\1 spheres \(100%\)", log)


def test_merged_map_equals_nilearn_on_the_workflows_data(workdir):
    manifest = read_json(workdir / "results/config/sub-02/dataset.json")
    table = read_samples_table(workdir / OUT / "samples.tsv")
    searchlight = SearchLight(
        manifest["mask"],
        process_mask_img=str(workdir / "results/config/sub-02/process_mask.nii.gz"),
        radius=5.6,
        cv=KFold(4),
    )
    searchlight.fit(str(workdir / OUT / "samples.nii.gz"), table["label"])
    merged = nib.load(workdir / OUT / "searchlight.nii.gz").get_fdata()
    assert np.array_equal(merged, searchlight.scores_)
    assert merged.max() > 0.6


REPORT_FIGURES = {"searchlight": "searchlight.png", "F-scores": "fscores.png", "score histogram": "score_histogram.png"}
# Headless, and nothing that reaches out to the network on its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-sync",
    "--disable-component-update",
    "--disable-default-apps",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def report(tiny_run):
    run_snakemake(tiny_run, "--configfile", str(tiny_run / "config.yaml"), "--report", "report.html")
    return tiny_run / "report.html"


def test_report_holds_every_figure_the_config_and_the_clusters(report):
    html = report.read_text()
    for name in (*REPORT_FIGURES.values(), "clusters.html"):
        assert name in html
    assert "F-test" in html  # a caption
    assert "cluster_above_chance" in html  # the configuration table


def chromium():
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("SNAKELIGHT_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed, and SNAKELIGHT_REQUIRE_BROWSER is set")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


def test_report_renders_in_a_browser(report):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page()
        outside = []
        page.route("http*://**", lambda route: (outside.append(route.request.url), route.abort()))
        page.goto(report.as_uri())
        page.get_by_text("Results", exact=True).click()
        page.get_by_text("face_vs_house", exact=True).first.click()
        for figure, filename in REPORT_FIGURES.items():
            page.locator("tr", has=page.get_by_text(figure, exact=True)).locator("a[iconname=eye]").click()
            image = page.locator(f"img[src*='filename={filename}']")
            image.wait_for(timeout=10_000)
            assert image.evaluate("img => img.complete && img.naturalWidth > 100"), figure
        page.locator("tr", has=page.get_by_text("clusters", exact=True)).locator("a[iconname=eye]").click()
        clusters = page.frame_locator("iframe").locator("body")
        assert "Clusters of spheres scoring above" in clusters.inner_text()
        browser.close()
    assert outside == []


def test_changing_radius_reruns_only_searchlight_merge_and_figures(workdir, tmp_path):
    workdir = shutil.copytree(workdir, tmp_path / "run", symlinks=True)
    fscores = workdir / OUT / "fscores.nii.gz"
    before = fscores.stat().st_mtime_ns
    config = {**TINY_CONFIG, "searchlight": {**TINY_CONFIG["searchlight"], "radius": 4.0}}
    result = run_snakemake(workdir, "--cores", "2", "--configfile", write_config(workdir, config))
    assert job_counts(result.stdout) == {
        "searchlight_chunk": 3,
        "merge": 1,
        "figures": 1,
        "summary": 1,
        "analysis_config": 1,  # records the new configuration
        "all": 1,
    }
    assert fscores.stat().st_mtime_ns == before
    # Up to date now: nothing to do.
    again = run_snakemake(workdir, "--cores", "2", "--configfile", str(workdir / "config.yaml"))
    assert "Nothing to be done" in again.stdout


def test_auto_chunks_plan_once_and_give_the_same_map(tiny_run, tmp_path):
    """n_chunks: auto plans one chunk for the tiny run's ~100 spheres, writes the map of
    three chunks byte for byte, and another --cores reruns nothing."""
    config = {**TINY_CONFIG, "searchlight": {**TINY_CONFIG["searchlight"], "n_chunks": "auto"}}
    result = run_snakemake(tmp_path, "--cores", "2", "--configfile", write_config(tmp_path, config))
    # The chunks are not in the job stats Snakemake prints before the checkpoint has run.
    started = re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):$", result.stdout, re.M)
    assert [started.count(rule) for rule in ("chunk_plan", "searchlight_chunk", "merge")] == [1, 1, 1]
    assert (tmp_path / OUT / "chunks.txt").read_text().strip() == "1"
    for name in ("searchlight.nii.gz", "searchlight_folds.nii.gz"):
        assert (tmp_path / OUT / name).read_bytes() == (tiny_run / OUT / name).read_bytes(), name
    again = run_snakemake(tmp_path, "--cores", "1", "--configfile", str(tmp_path / "config.yaml"))
    assert "Nothing to be done" in again.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"searchlight": {"radius": -1}},
            "config key searchlight.radius: -1 is less than or equal to the minimum of 0",
        ),
        ({"searchlight": {"n_chunks": 0}}, "config key searchlight.n_chunks: 0 is less than the minimum of 1"),
        ({"searchlight": {"estimator": "forest"}}, "config key searchlight.estimator: 'forest' is not one of"),
        ({"contrasts": {"fh": ["face", "houses"]}}, "config key contrasts.fh: unknown condition 'houses'"),
        ({"process_mask": {"roi": "nowhere.nii.gz"}}, "config key process_mask.roi: file not found: 'nowhere.nii.gz'"),
        ({"serchlight": {}}, "Additional properties are not allowed ('serchlight' was unexpected)"),
    ],
)
def test_bad_config_stops_before_any_job(tmp_path, change, message):
    result = run_snakemake(
        tmp_path, "--cores", "1", "--configfile", write_config(tmp_path, {**TINY_CONFIG, **change}), check=False
    )
    assert result.returncode != 0
    assert [line for line in result.stdout.splitlines() if message in line]
    assert not (tmp_path / "results").exists()


def test_seed_config_shows_the_whole_dag(tmp_path):
    result = run_snakemake(tmp_path, "-n", "--configfile", str(REPO / "config/haxby2001.yaml"))
    assert job_counts(result.stdout) == {
        "fetch": 1,
        "select_conditions": 1,
        "process_mask": 1,
        "searchlight_chunk": 4,
        "merge": 1,
        "fscores": 1,
        "figures": 1,
        "summary": 1,
        "analysis_config": 1,
        "all": 1,
    }
    assert "results/haxby2001/sub-02/face_vs_house/searchlight.nii.gz" in result.stdout


def test_dag_fans_out_over_subjects_and_contrasts(tmp_path):
    config = {
        **TINY_CONFIG,
        "subjects": [1, 2],
        "contrasts": {"face_vs_house": ["face", "house"], "cat_chair_shoe": ["cat", "chair", "shoe"]},
    }
    result = run_snakemake(tmp_path, "-n", "--configfile", write_config(tmp_path, config))
    assert job_counts(result.stdout) == {
        "synthetic_mask": 1,
        "synthetic_subject": 2,
        "fetch": 2,
        "process_mask": 2,
        "select_conditions": 4,
        "searchlight_chunk": 12,
        "merge": 4,
        "fscores": 4,
        "figures": 4,
        "summary": 4,
        "analysis_config": 1,
        "all": 1,
    }
    for subject in ("01", "02"):
        for contrast in config["contrasts"]:
            assert f"results/config/sub-{subject}/{contrast}/searchlight.png" in result.stdout


def test_lint_is_clean(tmp_path):
    result = run_snakemake(REPO, "--lint")
    assert "Congratulations, your workflow is in a good condition!" in result.stdout


def test_subject_is_spelled_one_way(tmp_path):
    """sub-2 or sub-002 would build a second tree beside sub-02: no rule makes them."""
    config = write_config(tmp_path, TINY_CONFIG)
    for subject in ("2", "002"):
        target = f"results/config/sub-{subject}/face_vs_house/searchlight.nii.gz"
        result = run_snakemake(tmp_path, "-n", target, "--configfile", config, check=False)
        assert result.returncode != 0
        assert f"No rule to produce {target}" in result.stdout
    result = run_snakemake(
        tmp_path, "-n", "results/config/sub-12/face_vs_house/searchlight.nii.gz", "--configfile", config
    )
    assert job_counts(result.stdout)["fetch"] == 1


def test_the_report_of_an_analysis_that_never_ran_says_what_to_run(tmp_path):
    config = write_config(tmp_path, TINY_CONFIG)
    result = run_snakemake(tmp_path, "--configfile", config, "--report", "report.html", check=False)
    assert result.returncode != 0 and "Report created" not in result.stdout
    assert not (tmp_path / "report.html").exists()
    assert (
        "snakelight: analysis 'config' has no results to report (results/config/config.yaml, "
        f"results/config/sub-02/face_vs_house/searchlight.nii.gz, {OUT}/searchlight_folds.nii.gz and 6 more): "
        f"run `snakemake --cores all --configfile {config}` first, then the report again"
    ) in result.stdout


def test_the_report_of_a_failed_run_names_what_is_missing(tiny_run, tmp_path):
    workdir = shutil.copytree(tiny_run, tmp_path / "run", symlinks=True)
    for name in ("searchlight.png", "fscores.png"):  # as a failed figures job leaves them
        (workdir / OUT / name).unlink()
    (workdir / "report.html").unlink(missing_ok=True)  # another test's
    config = str(workdir / "config.yaml")
    result = run_snakemake(workdir, "--configfile", config, "--report", "report.html", check=False)
    assert result.returncode != 0 and not (workdir / "report.html").exists()
    assert (
        f"snakelight: analysis 'config' lacks 2 of its 9 results to report ({OUT}/searchlight.png, "
        f"{OUT}/fscores.png): its run failed or did not finish (its log says why); "
        f"run `snakemake --cores all --configfile {config}` first, then the report again"
    ) in result.stdout
    # A run that made everything: no word about it.
    result = run_snakemake(tiny_run, "--configfile", str(tiny_run / "config.yaml"), "--report", "report.html")
    assert "snakelight: analysis" not in result.stdout.replace("snakelight: analysis 'config' in", "")


@pytest.mark.parametrize(
    ("argv", "requested"),
    [
        (["snakemake", "--report", "r.html"], True),
        (["snakemake", "--report=r.html"], True),
        (["snakemake", "--reporter", "html"], True),
        (["snakemake", "--report", "r.html", "--report-after-run", "--cores", "2"], False),
        (["snakemake", "--cores", "2", "results/config/report.html"], False),
    ],
)
def test_report_requested(argv, requested):
    from snakelight.workflow.report_check import report_requested

    assert report_requested(argv) == requested
