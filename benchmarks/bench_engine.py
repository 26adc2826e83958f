"""Speed and memory of the engine: time per built-in claim, and streaming memory vs sample count.

    .venv/bin/python benchmarks/bench_engine.py [--device auto|cpu|cuda] [--out reports/bench.json]

Prints a table and writes JSON (atomically). Memory is the process's peak resident set size growth
while one claim runs with n samples per example: with streaming it must stay flat as n grows.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time

import torch

from numerics import resolve_device
from verify import check
from verify._results import package_versions, write_json_atomic
from verify.claims import builtin_claims


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB -> MiB


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default="reports/bench.json")
    args = p.parse_args()
    device = resolve_device(args.device)
    claims = builtin_claims()
    rows = []
    for name, claim in claims.items():
        check(dataclasses.replace(claim, examples=1), device=device)          # warm-up (imports, vmap tracing)
        t = time.perf_counter()
        r = check(claim, device=device)
        sec = time.perf_counter() - t
        per = sec / max(r.examples, 1)
        rows.append({"claim": name, "verdict": r.verdict, "examples": r.examples, "samples": r.samples,
                     "seconds": round(sec, 3), "seconds_per_example": round(per, 4),
                     "samples_per_second": round(r.samples * r.examples / sec)})
        print(f"{name:<40} {r.examples:>3} ex x {r.samples} samples  {sec:7.2f} s  {per * 1e3:7.1f} ms/example")
    streaming = []
    base = dataclasses.replace(claims["population-gradient-network-mc"], examples=0, derivation=None)
    for n in (10**5, 10**6, 10**7):
        before = _peak_rss_mib()
        t = time.perf_counter()
        r = check(dataclasses.replace(base, samples=n), device=device)
        streaming.append({"samples": n, "seconds": round(time.perf_counter() - t, 3),
                          "peak_rss_growth_mib": round(_peak_rss_mib() - before, 1), "verdict": r.verdict})
        print(f"streaming n={n:>9}: {streaming[-1]['seconds']:7.2f} s, peak RSS growth {streaming[-1]['peak_rss_growth_mib']:7.1f} MiB")
    doc = {"schema": "theorycheck.bench/1", "device": str(device), "threads": torch.get_num_threads(),
           "versions": package_versions(), "claims": rows, "streaming": streaming}
    write_json_atomic(args.out, doc)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
