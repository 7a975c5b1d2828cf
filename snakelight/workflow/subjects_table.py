"""The subjects table of ``dataset.source: table`` (see :mod:`snakelight.data.table`),
read and checked when the config is: kept free of nilearn, since every Snakemake start
(and every cluster job) reads it."""

from pathlib import Path

import jsonschema
import pandas as pd
import yaml

from snakelight.io import InputError

# The columns that name files, relative to the table.
FILE_COLUMNS = ("bold", "events", "labels", "mask")


def read_subjects_table(path, schema_path):
    """The table with absolute paths, checked: each row against the schema
    (``workflow/schemas/subjects.schema.yaml``), files present, one label source per
    row, one mask per subject. Errors name the file, row and column."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: the subjects table does not exist")
    schema = yaml.safe_load(Path(schema_path).read_text())
    columns = list(schema["properties"])
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    missing = [c for c in schema["required"] if c not in table.columns]
    if missing:
        raise InputError(
            f"{path}: no column {missing[0]!r} (columns: {', '.join(table.columns)}); "
            f"a subjects table has {', '.join(columns)}"
        )
    unknown = [c for c in table.columns if c not in columns]
    if unknown:
        raise InputError(f"{path}: unknown column {unknown[0]!r}; a subjects table has {', '.join(columns)}")
    if table.empty:
        raise InputError(f"{path}: no rows")
    validator = jsonschema.Draft7Validator(schema)
    for row, record in enumerate(table.to_dict("records"), start=1):
        where = f"{path} row {row}"
        error = jsonschema.exceptions.best_match(validator.iter_errors(record))
        if error is not None:
            column = error.path[0]
            raise InputError(
                f"{where}, column {column}: {record[column]!r} is not {schema['properties'][column]['description']}"
            )
        if bool(record.get("events")) == bool(record.get("labels")):
            raise InputError(f"{where}, columns events and labels: give exactly one of them")
        for column in FILE_COLUMNS:
            value = record.get(column)
            if value and not (path.parent / value).is_file():
                raise InputError(f"{where}, column {column}: file not found: {value!r}")
    table = table.reindex(columns=columns, fill_value="")
    table.insert(0, "row", range(1, len(table) + 1))  # for messages about a row
    for column in FILE_COLUMNS:
        table[column] = [str((path.parent / value).resolve()) if value else "" for value in table[column]]
    table["subject"] = table["subject"].astype(int)
    for subject, rows in table.groupby("subject"):
        if rows["mask"].nunique() > 1:
            raise InputError(f"{path}, column mask: subject {subject} has different masks on different rows")
    return table


def subjects(table):
    return sorted(int(s) for s in table["subject"].unique())


def subject_labels(table):
    """Each subject's labels, as its files name them, before any job: the ``trial_type``
    values of its events files and the ``label`` values of its labels tables. Returns
    {subject: (sorted labels, the files read)}; a subject with a file that cannot be read
    so is left out, for collect_subject to name what is wrong with it."""
    labels = {}
    for subject, rows in table.groupby("subject"):
        found, files = set(), []
        for column, label_column in (("events", "trial_type"), ("labels", "label")):
            for path in filter(None, rows[column]):
                try:
                    found |= set(pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)[label_column])
                except (OSError, ValueError, KeyError):
                    break
                files.append(path)
        if len(files) == len(rows):
            labels[subject] = (sorted(found - {"n/a", ""}), files)
    return labels
