"""The configuration as the user wrote it: what Snakemake's own reading lets pass.

Snakemake reads each ``--configfile`` before the Snakefile runs (JSON, else YAML) and
parses each ``--config key=value``. Its YAML reading keeps the last of two equal keys
(a second ``contrasts:`` block replaces the first) and its ``--config`` reads the
values inside a mapping as strings (``--config 'searchlight={radius: 4}'`` gives the
radius ``'4'``). :func:`read_user_config` reads the files again, refusing a key given
twice, and merges the ``--config`` values again, read as YAML (:func:`config_entries`).

Run as ``python -m snakelight.workflow.config_files FILE...`` it checks files so (one
line per problem, exit status 1): Snakemake's own message for a file that is not YAML
names neither the file nor the line.
"""

import json
import sys
from pathlib import Path

import yaml

from snakelight.workflow.config import ConfigError, relative_to_workdir

DEFAULT_CONFIGFILE = "config/config.yaml"


def check_config_file(path):
    """Check the JSON or YAML config file ``path`` as Snakemake reads it (JSON first), or
    raise ConfigError naming the file and the line: a file not found, not valid YAML, a
    key given twice in one mapping (Snakemake would silently keep the last), or no
    mapping at its top level."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} not found{relative_to_workdir(path)}") from None
    try:
        mapping = isinstance(json.loads(text, object_pairs_hook=lambda pairs: _json_object(path, pairs)), dict)
    except ValueError as error:
        if isinstance(error, ConfigError):
            raise
        mapping = isinstance(_yaml_node(path, text), yaml.MappingNode)
    if not mapping:
        raise ConfigError(f"config file {path}: its top level must be keys (e.g. contrasts:), not a list or a value")


def _json_object(path, pairs):
    keys = [key for key, _ in pairs]
    twice = next((key for i, key in enumerate(keys) if key in keys[:i]), None)
    if twice is not None:
        raise ConfigError(
            f"config file {path}: key {twice!r} is given twice in one object; Snakemake would silently keep "
            "the last: keep one"
        )
    return dict(pairs)


def _yaml_node(path, text):
    """The file's YAML document as nodes, or ConfigError: not YAML, or a key given twice."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"config file {path}{where}: not valid YAML ({error.problem or error.context})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path}: not valid YAML ({error})") from None
    twice = _key_twice(node, [])
    if twice is not None:
        key, line, first = twice
        raise ConfigError(
            f"config file {path}, line {line}: key {key!r} is given twice (first on line {first}); "
            "Snakemake would silently keep the last: keep one"
        )
    return node


def _key_twice(node, path):
    """(dotted key, line, first line) of the first key given twice in a mapping under
    ``node``, else None."""
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name is not None and key.tag != "tag:yaml.org,2002:merge":
                line = key.start_mark.line + 1
                if name in seen:
                    return ".".join([*path, name]), line, seen[name]
                seen[name] = line
            found = _key_twice(value, [*path, str(name)])
            if found is not None:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found = _key_twice(item, [*path, str(index)])
            if found is not None:
                return found
    return None


def check_default_configfile(path=DEFAULT_CONFIGFILE):
    """:func:`check_config_file` for the Snakefile's default config file, before its
    ``configfile:`` reads it; a problem stops Snakemake with one line (:func:`stop`)."""
    if not Path(path).is_file():
        stop(
            f"config file {path!r} not found{relative_to_workdir(path)}: run snakemake in the folder holding "
            "config/ (or give --directory), or give --configfile"
        )
    try:
        check_config_file(path)
    except ConfigError as error:
        stop(error)


def read_user_config(config, configfiles, config_args):
    """Check each config file Snakemake read (``workflow.configfiles``: the
    ``--configfile``s, else the default) with :func:`check_config_file`, and merge the
    ``--config`` entries (``workflow.config_settings.config_args``) into ``config``
    again, read as YAML (:func:`config_entries`): ``--config`` still wins over the files,
    key by key, as in Snakemake."""
    for path in configfiles:
        check_config_file(path)
    _merge(config, config_entries(config_args))


def config_entries(config_args):
    """The ``--config key=value`` entries as a dict, each value read as YAML
    (``searchlight={radius: 4}`` gives the number 4, where Snakemake's own parsing gives
    the string '4' inside a mapping). A value that is not YAML stays a string, as in
    Snakemake; an empty one is null."""
    entries = {}
    for entry in config_args or ():
        key, _, value = entry.partition("=")
        try:
            entries[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            entries[key] = value
    return entries


def _merge(config, entries):
    """Snakemake's merge (snakemake.utils.update_config): mappings key by key, recursively;
    anything else replaced. Not imported from Snakemake: the package imports only what the
    jobs' conda environment holds (tests/test_layout.py)."""
    for key, value in entries.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            _merge(config[key], value)
        else:
            config[key] = value


def stop(error):
    """Stop Snakemake as it reads the workflow, showing ``error: <message>`` alone.

    Snakemake 9 shows a WorkflowError raised there on three lines (``WorkflowError in
    file …/common.smk, line 26:``, the message, a ``File …`` line); a SystemExit's
    message is printed as it is, and Snakemake exits with status 1.
    """
    raise SystemExit(f"error: {error}")


def main(paths):
    """Check config files; one line per problem on stderr; exit status 1 if any."""
    failed = False
    for path in paths:
        try:
            check_config_file(path)
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            failed = True
        else:
            print(f"{path}: valid YAML, no key given twice")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
