"""Sphinx configuration of snakelight's documentation (``make docs`` builds it offline)."""

import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "tools"))  # gallery.py's hooks

# The reference pages that come from the code (docs/tools/reference.py) are written before
# Sphinx reads any page; in a process of their own, as Snakemake parses the workflow there.
command = [sys.executable, str(DOCS / "tools" / "reference.py"), "--docs-only"]
generated = subprocess.run(command, capture_output=True, text=True)
if generated.returncode:
    raise RuntimeError(f"docs/tools/reference.py failed:\n{generated.stdout}{generated.stderr}")

project = "snakelight"
author = "snakelight's authors"
copyright = "snakelight's authors"
release = version = "0.1.0"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated", "tools", "auto_examples/*.ipynb", "**.ipynb_checkpoints"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

# Furo ships its fonts and scripts: a page loads nothing from the network.
html_theme = "furo"
html_title = "snakelight"
html_static_path = []
html_show_sourcelink = False

autodoc_member_order = "bysource"
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_validation_checks = set()

# Gallery: examples/plot_*.py run when the docs build, on generated data; with
# SNAKELIGHT_DOCS_QUICK=1 (CI) each runs as `--quick`, on a small volume (docs/tools/gallery.py).
sphinx_gallery_conf = {
    "examples_dirs": str(DOCS.parent / "examples"),
    "gallery_dirs": str(DOCS / "auto_examples"),
    "filename_pattern": r"/plot_",
    "reset_argv": "gallery.reset_argv",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "show_memory": False,
    "show_signature": False,
    # Its execution-times page loads DataTables from a CDN: left out, nothing is fetched.
    "write_computation_times": False,
}
