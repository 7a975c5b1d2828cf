"""Atomic writes."""

import numpy as np
import pytest

from snakelight.io import atomic_path, read_chunk, write_chunk


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "map.nii.gz") as tmp:
        tmp.write_bytes(b"half a map")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_the_next_writer_removes_a_killed_writers_temporary(tmp_path):
    # What SIGKILL leaves: the temporary of a writer whose clean-up never ran.
    (tmp_path / ".0.npz.4242.tmp.npz").write_bytes(b"partial")
    (tmp_path / ".1.npz.4242.tmp.npz").write_bytes(b"another output's")
    write_chunk(tmp_path / "0.npz", np.arange(3), np.ones((3, 4)))
    assert sorted(p.name for p in tmp_path.iterdir()) == [".1.npz.4242.tmp.npz", "0.npz"]
    seeds, scores = read_chunk(tmp_path / "0.npz")
    assert seeds.tolist() == [0, 1, 2] and scores.shape == (3, 4)
