#!/usr/bin/env bash
# The GPU path on a machine with a GPU, in a few minutes: which framework and device the device
# kernel gets (TensorFlow, or JAX where TensorFlow is missing: KERAS_BACKEND=jax), the kernel
# against NumPy (tests: one step, and k characters per call sampling what single steps do),
# validation bits per character of both (equal within 1e-3), and the throughput table of both
# beside the tutorial's OneStep (when TensorFlow is there to run it).
#   pip install -e '.[gpu,test]'  (or Keras + JAX with CUDA) ; bash bench/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
export TF_CPP_MIN_LOG_LEVEL=2
if ! "$PY" -c 'import tensorflow' 2>/dev/null; then export KERAS_BACKEND=jax; fi
"$PY" - <<'PYTHON'
import keras
from engine.device_kernel import framework, gpu_present
name = framework()
print(f"Keras {keras.__version__} on {name}; GPU: {'yes' if gpu_present(name) else 'no, the CPU runs it'}")
PYTHON
"$PY" -m pytest -q -p no:cacheprovider tests/test_device_kernel.py
"$PY" - <<'PYTHON'
import math
from pathlib import Path
from engine.batch import score_sequences
from engine.loading import load_kernel
from engine.weights import REPO_WEIGHTS
from training.corpus import load_corpus, train_validation_split

chapters = [c.text for c in train_validation_split(load_corpus()).validation][:40]
bits = {}
for backend in ("numpy", "tensorflow"):
    kernel = load_kernel(REPO_WEIGHTS / "gru", backend)
    encoded = [kernel.vocab.encode(text)[0] for text in chapters]
    logprobs = score_sequences(kernel, encoded)
    bits[backend] = -sum(float(lp.sum()) for lp in logprobs) / math.log(2) / sum(map(len, encoded))
    print(f"{backend:>10}: {bits[backend]:.5f} bits/car. ({type(kernel).__name__}, "
          f"{getattr(kernel, 'device', 'CPU')}, {getattr(kernel, 'steps_per_call', 1)} car./llamada)")
assert abs(bits["numpy"] - bits["tensorflow"]) < 1e-3, bits
PYTHON
"$PY" -m bench.tree_ab --backends numpy tensorflow --rounds 1 --channels 1 64 256
