#!/usr/bin/env bash
# The GPU checks of the training experiments in one short run, for a machine with a CUDA device:
#   1. the CUDA tests (every experiment's smoke preset runs and resumes with --device cuda; the teacher-student
#      estimators keep CUDA inputs on CUDA);
#   2. bench_experiments.py on the full presets: time per task on the GPU, measured or projected (--budget).
# Usage: bash benchmarks/device_check.sh [BUDGET_SECONDS] [OUT_DIR]   (defaults: 15, reports/device-check)
# Everything it writes goes to OUT_DIR: pytest.log, bench.log, bench-experiments.json, nvidia-smi.txt.
# With the default budget it takes about 56 arms x 15 s plus set-up and the tests: ~16 minutes; pass a smaller
# budget (8 s fits a 15-minute lease), or name experiments in BENCH_NAMES (space-separated), to fit a shorter lease.
# Runs from the source tree, no install; needs torch, numpy, scipy, sympy, matplotlib, scikit-learn, hypothesis,
# pytest, statsmodels (not Dask: tasks run in-process). Wheels of missing packages in .whl/ are installed first if present.
set -uo pipefail
cd "$(dirname "$0")/.."
budget=${1:-15}
out=${2:-reports/device-check}
mkdir -p "$out"
py=${PYTHON:-python3}
[ -x .venv/bin/python ] && py=${PYTHON:-.venv/bin/python}
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
(nvidia-smi || echo "no nvidia-smi") > "$out/nvidia-smi.txt" 2>&1
"$py" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
          torch.cuda.get_device_name() if torch.cuda.is_available() else "")' | tee "$out/torch.txt"
rc=0
"$py" -m pytest -q -p no:cacheprovider -p no:theorycheck -o addopts="" tests/test_experiments.py \
  tests/test_teacher_student.py -k "cuda or worker_without" 2>&1 | tee "$out/pytest.log" || rc=1
# shellcheck disable=SC2086
"$py" benchmarks/bench_experiments.py ${BENCH_NAMES:-} --preset full --budget "$budget" --workers 1 \
  --out "$out/bench-experiments.json" 2>&1 | tee "$out/bench.log" || rc=1
echo "device_check: exit $rc; files in $out"
exit "$rc"
