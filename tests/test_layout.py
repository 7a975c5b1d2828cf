"""The layout's promises: what the workflow imports while Snakemake parses it, the
deployment as a Snakemake module, and the conda environment's pins."""

import ast
import re
import subprocess
import sys
import tomllib
from importlib import metadata

import pytest
import yaml

import snakelight
from snakelight import _compat

from .conftest import REPO, TINY_CONFIG, job_counts, run_snakemake

WORKFLOW = REPO / "workflow"
HEAVY = ("nilearn", "sklearn", "numba")


def parse_time_imports():
    """The snakelight modules the Snakefile and its rule files import."""
    sources = [WORKFLOW / "Snakefile", *sorted((WORKFLOW / "rules").glob("*.smk"))]
    found = set()
    for source in sources:
        found.update(re.findall(r"^(?:from|import) (snakelight[\w.]*)", source.read_text(), re.M))
    return sorted(found)


def test_parsing_the_workflow_loads_no_nilearn_sklearn_or_numba():
    modules = parse_time_imports()
    assert "snakelight.workflow.config" in modules
    code = (
        f"import sys\nfor name in {modules!r}: __import__(name)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_the_data_steps_load_no_engine():
    """Condition selection checks the folds without the compiled solver."""
    code = "import sys, snakelight.data.conditions\nprint('snakelight.searchlight.engines' in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"


def test_a_chunk_job_loads_no_nilearn():
    """A chunk job of nilearn's LinearSVC reads arrays and scores: nilearn stays unloaded."""
    code = (
        "import sys\nfrom snakelight.searchlight.job import run_chunk\n"
        "from snakelight.searchlight.scoring import make_estimator\nmake_estimator('svc')\n"
        "print('nilearn' in sys.modules)"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"


def test_every_step_pauses_garbage_collection_while_it_imports_snakelight():
    """Each script imports snakelight.step before any other snakelight module, and calls
    to_file, which resumes the collection (the script's imports frozen out of it)."""
    for script in sorted((WORKFLOW / "scripts").glob("*.py")):
        tree = ast.parse(script.read_text())
        imported = [
            node.names[0].name if isinstance(node, ast.Import) else node.module
            for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom)
        ]
        first = next(name for name in imported if name.startswith("snakelight"))
        assert first == "snakelight.step", script.name
        assert "to_file(snakemake.log[0])" in script.read_text(), script.name


def test_collection_pauses_while_a_step_imports_and_resumes_with_its_log(tmp_path):
    code = (
        "import gc\nimport snakelight.step\nprint(gc.isenabled())\nimport snakelight.searchlight.job\n"
        f"from snakelight.logs import to_file\nto_file({str(tmp_path / 'step.log')!r})\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 100_000)"
    )
    states = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert states == ["False", "True", "True"]


def test_a_log_outside_a_step_leaves_collection_alone(tmp_path):
    code = (
        f"import gc\nfrom snakelight.logs import to_file\nto_file({str(tmp_path / 'step.log')!r})\n"
        "print(gc.isenabled(), gc.get_freeze_count())"
    )
    states = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert states == ["True", "0"]


def test_compat_ranges_are_pyprojects():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for name, wanted in _compat.SUPPORTED.items():
        assert any(re.fullmatch(rf"{name}\s*{re.escape(wanted)}", requirement) for requirement in declared), name


def test_compat_says_what_to_install(monkeypatch):
    monkeypatch.setattr(_compat, "SUPPORTED", {"nilearn": ">=0.13,<0.14"})
    with pytest.raises(
        ImportError, match=r"snakelight needs nilearn>=0.13,<0.14 .* nilearn 0.14.1 is installed: pip install"
    ):
        _compat._check_versions()


def locked_versions():
    lines = (REPO / "requirements.lock").read_text().splitlines()
    pins = (line.split("==") for line in lines if "==" in line and not line.startswith("#"))
    return {name.lower(): version for name, version in pins}


# conda-forge names that differ from PyPI's.
CONDA_TO_PYPI = {"matplotlib-base": "matplotlib", "python-isal": "isal"}


def test_conda_environment_pins_are_the_locks():
    env = yaml.safe_load((WORKFLOW / "envs" / "snakelight.yaml").read_text())
    pins = dict(dependency.split("=") for dependency in env["dependencies"])
    assert pins.pop("python") == "3.11"
    locked = locked_versions()
    assert {CONDA_TO_PYPI.get(name, name): version for name, version in pins.items()} == {
        CONDA_TO_PYPI.get(name, name): locked[CONDA_TO_PYPI.get(name, name)] for name in pins
    }


def third_party_imports():
    """Distributions the snakelight package imports, by name."""
    distributions = metadata.packages_distributions()
    found = set()
    for path in (REPO / "snakelight").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "snakelight" and top not in sys.stdlib_module_names:
                    found.update(distribution.lower() for distribution in distributions[top])
    return found


def test_a_conda_job_can_import_the_package(tmp_path):
    """The environment holds every package snakelight imports, and a job finds snakelight
    itself through the link in the script directory, which Snakemake adds to the path of
    every script job (after the environment's own packages)."""
    env = yaml.safe_load((WORKFLOW / "envs" / "snakelight.yaml").read_text())
    provided = {CONDA_TO_PYPI.get(name, name) for name in (d.split("=")[0] for d in env["dependencies"])}
    assert third_party_imports() <= provided
    # -S: no site-packages, so the installed package cannot be found; the link can.
    code = (
        f"import sys\nsys.path.append({str(WORKFLOW / 'scripts')!r})\nimport snakelight.searchlight\n"
        "print(snakelight.searchlight.__file__)"
    )
    found = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert found.stdout.startswith(str(WORKFLOW / "scripts" / "snakelight"))


@pytest.mark.workflow
def test_the_workflow_deploys_as_a_snakemake_module(tmp_path):
    """As the catalogue workflows are deployed: another project's Snakefile uses every rule,
    with its own config; schemas, scripts and report captions are found in workflow/."""
    project = tmp_path / "study"
    (project / "workflow").mkdir(parents=True)
    (project / "config").mkdir()
    (project / "config" / "config.yaml").write_text(yaml.safe_dump(TINY_CONFIG))
    (project / "workflow" / "Snakefile").write_text(
        'configfile: "config/config.yaml"\n\n\n'
        f"module snakelight:\n    snakefile:\n        {str(WORKFLOW / 'Snakefile')!r}\n"
        "    config:\n        config\n\n\nuse rule * from snakelight\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "all"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert job_counts(result.stdout + result.stderr)["searchlight_chunk"] == 3
    assert (project / "results/default/sub-02/face_vs_house/searchlight.nii.gz").is_file()
    report = run_snakemake(project, "--report", "report.html")
    assert report.returncode == 0 and (project / "report.html").is_file()


def schema_keys(schema, prefix=""):
    """Dotted names of every key in the schema, at every depth."""
    for name, sub in schema.get("properties", {}).items():
        yield f"{prefix}{name}"
        yield from schema_keys(sub, f"{prefix}{name}.")


def test_config_readme_documents_every_key():
    """Each key of the schema is documented in config/README.md's table, itself or as a
    whole (``process_mask.slices`` covers its axes), and each documented key exists."""
    keys = set(schema_keys(yaml.safe_load((WORKFLOW / "schemas" / "config.schema.yaml").read_text())))
    table = (REPO / "config" / "README.md").read_text().split("| key | default | accepts | description |", 1)[1]
    documented = set(re.findall(r"^\| `([\w.]+)` \|", table, re.M))
    assert documented <= keys
    parents = {key for key in keys if any(other.startswith(f"{key}.") for other in keys)}
    for key in keys - parents:
        assert any(key == doc or key.startswith(f"{doc}.") for doc in documented), key


def test_the_workflow_profile_applies_wherever_snakemake_runs(tmp_path):
    """Snakemake finds the workflow profile beside the Snakefile, also when run from
    another directory (as the tests and a module deployment do)."""
    result = run_snakemake(tmp_path, "-n", "--configfile", str(REPO / ".test" / "config" / "config.yaml"))
    assert f"Using workflow specific profile {WORKFLOW / 'profiles' / 'default'}" in result.stdout


def test_importing_snakelight_stays_light_and_exports_searchlight_lazily():
    code = (
        "import sys, snakelight\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
        "from snakelight import SearchLight\n"
        "import nilearn.decoding\n"
        "print(issubclass(SearchLight, nilearn.decoding.SearchLight))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == ["[]", "True"]
    with pytest.raises(AttributeError, match="no attribute 'SearchLite'"):
        snakelight.SearchLite  # noqa: B018
