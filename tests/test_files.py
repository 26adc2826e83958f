"""Outputs are written with the umask's mode, like any other tool's files (atomic temporaries are 0600/0700)."""

from __future__ import annotations

import os
import stat

import pytest

from numerics._experiment import write_atomic
from numerics._files import chmod_like_new, umask
from verify._results import write_text_atomic


@pytest.fixture(params=[0o022, 0o077, 0o002])
def mask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_umask_is_read_without_changing_it(mask):
    assert umask() == mask and umask() == mask


def test_atomic_writes_get_the_mode_of_a_plain_open(mask, tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    write_text_atomic(tmp_path / "a.json", "{}")
    write_atomic(str(tmp_path / "b.txt"), "y")
    assert _mode(tmp_path / "a.json") == _mode(tmp_path / "b.txt") == _mode(plain) == 0o666 & ~mask


def test_a_report_directory_gets_the_mode_of_a_plain_mkdir(mask, tmp_path):
    from verify._report import render
    from verify._results import results_document

    out = render(results_document([], seed=0, device="cpu", seconds=0.0, command="test"), tmp_path / "latest")
    (tmp_path / "plain").mkdir()
    assert _mode(out) == _mode(tmp_path / "plain") == 0o777 & ~mask
    assert _mode(out / "report.md") == 0o666 & ~mask


def test_chmod_like_new_on_a_directory(mask, tmp_path):
    d = tmp_path / "d"
    d.mkdir(mode=0o700)
    chmod_like_new(d, directory=True)
    assert _mode(d) == 0o777 & ~mask
