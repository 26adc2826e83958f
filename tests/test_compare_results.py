"""benchmarks/compare_results.py: the before/after check of a refactor sees every change but the timings."""

import json
import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "compare_results.py"


def _main(argv):
    return runpy.run_path(str(SCRIPT))["main"](argv)


def _write(path, claims, **top):
    path.write_text(json.dumps({"schema": "theorycheck.results/1", "seconds": 1.0, "date": "x", "claims": claims, **top}))
    return str(path)


def test_equal_apart_from_timings_and_only_then(tmp_path, capsys):
    claim = {"name": "c", "verdict": "verified", "seconds": 0.5, "statistic": {"value": 1.25, "threshold": 5.0},
             "statement": "a = b", "derivation": {"proven": True, "seconds": 0.1}}
    before = _write(tmp_path / "a.json", [claim])
    same = _write(tmp_path / "b.json", [dict(claim, seconds=9.0, derivation={"proven": True, "seconds": 3.0})],
                  date="y", seconds=7.0)
    assert _main([before, same]) == 0
    moved = _write(tmp_path / "c.json", [dict(claim, statistic={"value": 1.26, "threshold": 5.0}, statement="a = c")])
    assert _main([before, moved]) == 1
    out = capsys.readouterr().out
    assert "results.claims.c.statistic.value: 1.25 -> 1.26" in out and "statement" in out
    assert _main([before, moved, "--ignore", "statement"]) == 1      # the statistic still differs
    gone = _write(tmp_path / "d.json", [])
    assert _main([before, gone]) == 1
    assert "results.claims.c: only in before" in capsys.readouterr().out
