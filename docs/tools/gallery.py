"""sphinx-gallery's hooks, importable by name (a configuration value Sphinx can cache)."""

import os


def reset_argv(gallery_conf, script_vars):
    """Each example's command line: ``--quick`` (a small volume) with SNAKELIGHT_DOCS_QUICK=1."""
    return ["--quick"] if os.environ.get("SNAKELIGHT_DOCS_QUICK") == "1" else []
