"""The benchmarks run end to end on small data, and the agreements they print hold:
benchmarks/searchlight.py: the exact engine equals nilearn, the closed forms equal
scikit-learn; benchmarks/seed.py: the workflow's map equals nilearn's seed script's."""

import importlib.util
import re

import pytest

from .conftest import REPO, TINY


def test_benchmark_runs_and_its_agreements_hold(tmp_path, monkeypatch, capsys):
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(variable, "1")  # the script sets them; restored afterwards
    spec = importlib.util.spec_from_file_location("benchmark", REPO / "benchmarks" / "searchlight.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    monkeypatch.setattr(benchmark, "WORK", tmp_path)
    monkeypatch.setattr(benchmark, "SHAPE", TINY["shape"])
    benchmark.main(["--quick"])
    rows = {
        line[:12].strip(): line[12:]
        for line in capsys.readouterr().out.splitlines()
        if line.startswith(("nilearn ", "exact ", "SearchLight ", "fast "))
    }
    assert set(rows) == {"nilearn svc", "exact svc", "SearchLight", "fast svc", "fast gnb", "fast lda"}
    assert rows["exact svc"].endswith("np.array_equal with nilearn: True")
    assert rows["SearchLight"].endswith("np.array_equal with nilearn: True")
    assert re.search(r"identical to nilearn on \d+\.\d% of spheres", rows["fast svc"])
    for estimator in ("gnb", "lda"):
        assert re.search(r"identical to scikit-learn's on (\d+) of \1 spheres checked$", rows[f"fast {estimator}"])


def test_measures_benchmark_runs_and_the_accuracy_maps_agree(capsys):
    """benchmarks/measures.py --quick: a row per engine, with its ratio, and the accuracy
    map of the two-scorer pass equal to the one-scorer pass's."""
    spec = importlib.util.spec_from_file_location("measures_benchmark", REPO / "benchmarks" / "measures.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    benchmark.main(["--quick", "--repeats", "1"])
    out = capsys.readouterr().out
    rows = re.findall(r"^(exact|fast) (\w+)\s+[\d.]+\s+[\d.]+\s+([\d.]+)x  (True|False)$", out, re.M)
    assert [f"{engine} {estimator}" for engine, estimator, _, _ in rows] == [
        "exact svc",
        "fast svc",
        "fast gnb",
        "fast lda",
    ]
    assert re.search(
        r"^cross-classification \(exact svc\) [\d.]+ s, leave-one-run-out [\d.]+ s: ratio [\d.]+x$", out, re.M
    )
    assert all(same == "True" and float(ratio) > 0 for _, _, ratio, same in rows)


def test_signflip_benchmark_runs_and_prints_its_ratios(capsys):
    """benchmarks/signflip.py --quick: the three measurements, each with a ratio, and the
    exact TFCE's maxima close to the stepped one's."""
    spec = importlib.util.spec_from_file_location("signflip_benchmark", REPO / "benchmarks" / "signflip.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    benchmark.main(["--quick"])
    out = capsys.readouterr().out
    # The quick run's ratios are noisy (one nilearn flip, 50 of ours): printed, not judged.
    ratios = re.findall(r"ratio [a-z ]+/ [a-z]+(?: \(1,000 flips\))?: ([\d.]+)", out)
    assert len(ratios) == 3 and all(float(ratio) > 0 for ratio in ratios)
    assert float(re.search(r"largest relative difference of the maxima: ([\d.e-]+)", out)[1]) < 0.02


@pytest.mark.workflow
def test_seed_benchmark_runs_and_the_maps_agree(tmp_path, capsys):
    """benchmarks/seed.py --quick times make run, nilearn's seed script and the workflow
    on the tiny configuration, and the workflow's map equals nilearn's scores_."""
    spec = importlib.util.spec_from_file_location("seed_benchmark", REPO / "benchmarks" / "seed.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    benchmark.main(["--quick", "--work", str(tmp_path)])
    out = capsys.readouterr().out
    times = dict(re.findall(r"^(make run|nilearn|workflow)\b.*?:\s+([\d.]+) s$", out, re.M))
    assert set(times) == {"make run", "nilearn", "workflow"}
    ratio = float(re.search(r"^ratio workflow / nilearn:\s+([\d.]+)$", out, re.M)[1])
    assert ratio == pytest.approx(float(times["workflow"]) / float(times["nilearn"]), rel=0.05)
    assert "np.array_equal with nilearn's scores_: True" in out


def test_scale_benchmark_runs_and_its_agreements_hold(tmp_path, monkeypatch, capsys):
    """benchmarks/scale.py --quick: every engine at 4, 6 and 8 mm on a 2 mm grid against
    nilearn, the exact engine equal to nilearn, the fast svc too past 4 mm (its spheres
    go to liblinear there), and a chunk job's peak memory."""
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(variable, "1")
    spec = importlib.util.spec_from_file_location("scale_benchmark", REPO / "benchmarks" / "scale.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    monkeypatch.setattr(benchmark, "WORK", tmp_path)
    benchmark.main(["--quick", "--centres", "8"])
    out = capsys.readouterr().out
    for radius in (4, 6, 8):
        assert f"radius {radius} mm: 8 centres" in out  # one run of 8 consecutive seeds
    rows = re.findall(r"^(nilearn svc|exact svc|fast svc|newton svc|fast gnb|fast lda) .*$", out, re.M)
    assert len(rows) == 3 * 6 + 4  # 6 rows per radius, then 4 chunk jobs (not the newton run)
    assert out.count("np.array_equal with nilearn: True") == 3
    assert len(re.findall(r"identical to nilearn on \d+\.\d% of spheres", out)) == 6
    fast_svc = re.findall(r"^fast svc .*identical to nilearn on (\d+\.\d)% of spheres", out, re.M)
    assert fast_svc[1:] == ["100.0", "100.0"]  # 6 and 8 mm spheres are past FAST_SVC_MAX_VOXELS
    assert len(re.findall(r"identical to scikit-learn's on (\d+) of \1 spheres$", out, re.M)) == 6
    assert len(re.findall(r"peak +\d+ MB$", out, re.M)) == 4


def test_rsa_benchmark_runs_and_agrees_with_rsatoolbox(capsys):
    """benchmarks/rsa.py --quick: every step timed against rsatoolbox with a ratio, the
    results equal to rsatoolbox's on the spheres both computed."""
    spec = importlib.util.spec_from_file_location("rsa_benchmark", REPO / "benchmarks" / "rsa.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    benchmark.main(["--quick"])
    rows = re.findall(
        r"^(\S.{25}) rsatoolbox .* ratio +([\d.]+) +largest difference ([\d.e+-]+)$", capsys.readouterr().out, re.M
    )
    assert [step.strip() for step, _, _ in rows] == [
        "neighbourhoods",
        "correlation RDMs",
        "Spearman fits",
        "correlation + Spearman",
        "crossnobis univariate",
        "crossnobis shrinkage_diag",
    ]
    assert all(float(ratio) > 0 and float(difference) < 1e-10 for _, ratio, difference in rows)
