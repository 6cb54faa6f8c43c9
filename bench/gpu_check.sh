#!/usr/bin/env bash
# The GPU path on a machine with an NVIDIA GPU, in a few minutes (pip install -e '.[gpu,test]'):
# which device TensorFlow sees, the device kernel (k characters per call) against the NumPy
# kernel, bits per character with the TensorFlow backend against NumPy's (equal within 1e-3),
# and the throughput table of both backends beside the tutorial's OneStep.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
export TF_CPP_MIN_LOG_LEVEL=2
"$PY" -c 'import tensorflow as tf; print("TensorFlow", tf.__version__, "· GPU:", tf.config.list_physical_devices("GPU") or "none: the CPU runs it")'
"$PY" -m pytest -q tests/test_tf_kernel.py
"$PY" -m verbo evaluate weights/gru --no-baselines --max-chars 400000 | tail -1
"$PY" -m verbo evaluate weights/gru --no-baselines --max-chars 400000 --backend tensorflow | tail -1
"$PY" -m bench.tree_ab --backends numpy tensorflow --rounds 1 --channels 1 64 256
