#!/usr/bin/env bash
# The GPU path on a machine with a GPU, in a few minutes: which framework and device the device
# kernel gets (TensorFlow, or JAX where TensorFlow is missing: KERAS_BACKEND=jax) and how long
# its compilations take, the kernel against NumPy (tests: one step, padded batches, k characters
# per call sampling what single steps do), validation bits per character of both (equal within
# 1e-3), and the throughput table of float32 NumPy, int8 and the device kernel beside the
# tutorial's OneStep (tf.function, or jax.jit under JAX), all in one run; then the inference
# queue on the device (`verbo bench device`: host round trips per character, states on the
# device against 8 characters a call, the peer ratio and the CPU's int8 path) and the model's
# load in two fresh processes, one after the other: the second reads JAX's compilation cache.
#   pip install -e '.[gpu,test]'  (or Keras + JAX with CUDA) ; bash bench/gpu_check.sh
# Each part runs even if one before it failed; the exit status says whether all passed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONUNBUFFERED=1
if ! "$PY" -c 'import tensorflow' 2>/dev/null; then export KERAS_BACKEND=jax; fi
failed=0
part() {
    local name=$1 started=$SECONDS
    shift
    echo "== $name"
    "$@" || { echo "!! $name failed (exit $?)"; failed=1; }
    echo "   ($name: $((SECONDS - started)) s)"
}

part "framework and bits" "$PY" - <<'PYTHON'
import math
import time

import keras
from engine.batch import score_sequences
from engine.arithmetic import resolve
from engine.device import framework, gpu_present
from engine.loading import load_kernel
from engine.weights import REPO_WEIGHTS
from training.corpus import load_corpus, train_validation_split

name = framework()
print(f"Keras {keras.__version__} on {name}; GPU: {'yes' if gpu_present(name) else 'no'}; "
      f"VERBO_BACKEND=auto gives {resolve('auto')}")
chapters = [c.text for c in train_validation_split(load_corpus()).validation][:40]
bits = {}
for backend in ("numpy", "device"):
    started = time.perf_counter()
    kernel = load_kernel(REPO_WEIGHTS / "gru", backend)
    print(f"{backend:>10}: {kernel.label}, {kernel.steps_per_call} "
          f"car./llamada, loaded (and compiled) in {time.perf_counter() - started:.1f} s")
    encoded = [kernel.vocab.encode(text)[0] for text in chapters]
    logprobs = score_sequences(kernel, encoded)
    bits[backend] = -sum(float(lp.sum()) for lp in logprobs) / math.log(2) / sum(map(len, encoded))
    print(f"{backend:>10}: {bits[backend]:.5f} bits/car. on 40 validation chapters")
assert abs(bits["numpy"] - bits["device"]) < 1e-3, bits
PYTHON

part "tests" "$PY" -m pytest -q -p no:cacheprovider tests/test_device_kernel.py \
    tests/test_kernel_contract.py

part "bench" "$PY" -m bench.tree_ab --backends numpy int8 device --rounds 1 --channels 1 64 256

part "device queue" "$PY" -m bench.device_bench --channels 1 64 256

# a fresh cache folder (unless one is given), so the first load compiles and the second reads
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$(mktemp -d)}
for start in first second; do
    part "model load, $start start" "$PY" - "$start" <<'PYTHON'
import sys
import time

started = time.perf_counter()
from engine.loading import load_kernel
from engine.weights import REPO_WEIGHTS

kernel = load_kernel(REPO_WEIGHTS / "gru", "device")
print(f"{sys.argv[1]} start: {kernel.label} loaded, warm-up included, in "
      f"{time.perf_counter() - started:.1f} s (imports included)")
PYTHON
done
exit $failed
