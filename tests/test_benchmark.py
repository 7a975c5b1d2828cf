"""benchmarks/searchlight.py runs end to end on a small volume, and the agreements it
prints hold: the exact engine equals nilearn, the closed forms equal scikit-learn."""

import importlib.util
import re

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
