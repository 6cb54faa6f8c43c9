"""Where an int8 step's time goes inside ONNX Runtime: its own profiler, per operator type.

    python -m bench.int8_profile [--weights weights/gru] [--rows 1 256] [--repeats 50]

Builds the same step graph the int8 kernel runs (`engine.quantized.Int8Model`, the graph that
quantizes the state itself), runs it `--repeats` times per batch size with ONNX Runtime's
profiling on, and prints each operator type's share of the node time and the total per step.
"""
from __future__ import annotations

import argparse
import collections
import json
import tempfile
from pathlib import Path

import numpy as np

from engine.kernel import NumpyKernel
from engine.quantized import THREADS, Int8Model
from engine.weights import REPO_WEIGHTS, load_model_folder


def profile(model, feeds: dict, repeats: int) -> tuple[collections.Counter, float]:
    """(microseconds per step by operator type, total ms per step)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        options.profile_file_prefix = str(Path(tmp) / "step")
        session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                               providers=["CPUExecutionProvider"])
        for _ in range(repeats):
            session.run(None, feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    by_op = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"] / repeats
    return by_op, sum(by_op.values()) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=str(REPO_WEIGHTS / "gru"))
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 256])
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    kernel = NumpyKernel(load_model_folder(Path(args.weights)))
    model = Int8Model.step_graph(kernel.cell, kernel.dense_w, kernel.dense_b, carried=False)
    for rows in args.rows:
        feeds = {"ids": np.zeros(rows, np.int64), "states": kernel.start_states(rows)}
        by_op, total = profile(model, feeds, args.repeats)
        shares = " · ".join(f"{op} {us / total / 10:.0f} %" for op, us in by_op.most_common(8))
        print(f"{rows} filas: {total:.2f} ms por paso · {shares}")


if __name__ == "__main__":
    main()
