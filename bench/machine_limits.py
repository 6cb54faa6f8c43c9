"""What this machine can do at most for one step of the shipped GRU: the fastest int8 matrix
product it measures at each batch size, and the bandwidth at which one core pair reads the int8
weights at one row.

    python -m bench.machine_limits [--rows 1 64 256] [--rounds 3]

The product is the step's own: rows x units times units x (gates x units + vocabulary), the
recurrent weights and the output layer side by side (from the model's spec, never a constant).
Each library's product runs in its own child process (all cores, its default threads), the
libraries alternating, and the best median over the rounds is the limit:
- `ort_matmulinteger`: ONNX Runtime's MatMulInteger, uint8 rows x int8 weights (the engine's
  product, rows quantized beforehand);
- `ort_dynamicquantize`: ONNX Runtime's DynamicQuantizeMatMul (float32 rows, quantized inside);
- `torch_int8_x86` / `torch_int8_onednn`: PyTorch's dynamic int8 Linear on its two backends;
- `openvino_int8`: FakeQuantize on rows and weights, which OpenVINO's CPU plugin turns into one
  oneDNN int8 product.
The bandwidth is NumPy reading a buffer the size of those int8 weights again and again, one half
per core (a reduction releases the GIL), the best of a few ways to read it.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from bench.common import json_child, machine

NEEDS = {"ort_matmulinteger": ("onnxruntime", "onnx"), "ort_dynamicquantize": ("onnxruntime", "onnx"),
         "torch_int8_x86": ("torch",), "torch_int8_onednn": ("torch",), "openvino_int8": ("openvino",)}
MIN_SECONDS = 0.3  # of repeated products per measurement, after a warm-up


def step_shape(spec) -> tuple[int, int]:
    """(inner, output width) of the one product a step of this recurrent model needs."""
    from engine.cells import CELLS

    return spec.units, CELLS[spec.cell].gates * spec.units + spec.vocab_size


def multiply_adds_per_row(spec) -> int:
    inner, width = step_shape(spec)
    return inner * width


def repeat_rate(call, work: float) -> float:
    """work / seconds per call, timed over at least MIN_SECONDS after three calls of warm-up."""
    for _ in range(3):
        call()
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < MIN_SECONDS or count < 5:
        call()
        count += 1
    return work * count / elapsed


def onnx_session(nodes, inputs, initializers, output: str, domain_ops: bool = False):
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes, "limit", [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
        [numpy_helper.from_array(v, n) for n, v in initializers.items()])
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("com.microsoft", 1)]
                                               if domain_ops else [])
    model = helper.make_model(graph, opset_imports=opsets, ir_version=8)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model.SerializeToString(), options,
                                        providers=["CPUExecutionProvider"])


def product(library: str, rows: int, inner: int, width: int):
    """A call that computes one (rows x inner) @ (inner x width) int8 product."""
    rng = np.random.default_rng(0)
    weights = rng.integers(-127, 128, (inner, width), dtype=np.int8)
    x = rng.standard_normal((rows, inner)).astype(np.float32)
    if library == "ort_matmulinteger":
        from onnx import TensorProto, helper

        node = helper.make_node("MatMulInteger", ["a", "w", "a_zero"], ["y32"])
        cast = helper.make_node("Cast", ["y32"], ["y"], to=TensorProto.FLOAT)
        session = onnx_session([node, cast], [("a", TensorProto.UINT8, [None, inner])],
                               {"w": weights, "a_zero": np.uint8(128)}, "y")
        feeds = {"a": rng.integers(0, 256, (rows, inner), dtype=np.uint8)}
        return lambda: session.run(None, feeds)
    if library == "ort_dynamicquantize":
        from onnx import TensorProto, helper

        node = helper.make_node("DynamicQuantizeMatMul", ["x", "w", "w_scale", "w_zero"], ["y"],
                                domain="com.microsoft")
        session = onnx_session([node], [("x", TensorProto.FLOAT, [None, inner])],
                               {"w": weights, "w_scale": np.full(width, 0.01, np.float32),
                                "w_zero": np.zeros(width, np.int8)}, "y", domain_ops=True)
        return lambda: session.run(None, {"x": x})
    if library.startswith("torch_int8"):
        import torch

        torch.backends.quantized.engine = library.removeprefix("torch_int8_")
        linear = torch.ao.nn.quantized.dynamic.Linear(inner, width, dtype=torch.qint8)
        tensor = torch.from_numpy(x)

        def call():
            with torch.inference_mode():
                linear(tensor)
        return call
    if library == "openvino_int8":
        import openvino as ov
        import openvino.opset13 as ops

        def fake_quantize(node, low, high, levels):
            return ops.fake_quantize(node, ops.constant(np.float32(low)), ops.constant(np.float32(high)),
                                     ops.constant(np.float32(low)), ops.constant(np.float32(high)),
                                     levels)

        a = ops.parameter([-1, inner], ov.Type.f32, name="x")
        w = fake_quantize(ops.constant(weights.astype(np.float32)), -127, 127, 255)
        y = ops.matmul(fake_quantize(a, -4.0, 4.0, 256), w, False, False)
        compiled = ov.Core().compile_model(ov.Model([y], [a]), "CPU")
        request = compiled.create_infer_request()
        return lambda: request.infer({"x": x})
    raise ValueError(library)


def read_bandwidth(size: int, threads: int = 0) -> tuple[float, str]:
    """(bytes read a second, how) for a `size`-byte buffer read repeatedly: the best of a few
    NumPy reductions, each over the whole buffer and over one share per core in threads."""
    threads = threads or os.cpu_count() or 1
    floats = np.ones(size // 4 // 1024 * 1024, np.float32)
    matrix, vector = floats.reshape(1024, -1), np.ones(len(floats) // 1024, np.float32)
    ways = {"max (uint8)": (lambda b: b.max(), floats.view(np.uint8)),
            "dot (float32)": (lambda b: b @ b, floats)}
    best = (repeat_rate(lambda: matrix @ vector, floats.nbytes), "matriz @ vector (BLAS)")
    with ThreadPoolExecutor(threads) as pool:
        for how, (read, buffer) in ways.items():
            shares = np.array_split(buffer, threads)
            whole = repeat_rate(lambda r=read, b=buffer: r(b), buffer.nbytes)
            shared = repeat_rate(lambda r=read, s=shares: list(pool.map(r, s)), buffer.nbytes)
            best = max(best, (whole, how), (shared, f"{how}, {threads} hilos"))
    return best


# -- the children and the parent -----------------------------------------------------------------
def child(library: str, rows: int, inner: int, width: int) -> None:
    call = product(library, rows, inner, width)
    print(json.dumps({"macs": repeat_rate(call, rows * inner * width)}))


def run_child(library: str, rows: int, inner: int, width: int) -> float:
    """Multiply-adds a second, NaN where the library failed (the others' figures stand)."""
    answer = json_child("bench.machine_limits", "--child", library, rows, inner, width)
    return float("nan") if answer is None else answer["macs"]


def available() -> list[str]:
    return [name for name, needs in NEEDS.items()
            if all(importlib.util.find_spec(n) is not None for n in needs)]


def measure(spec, rows_list, rounds: int) -> dict:
    """{"products": {rows: {library: MAC/s}}, "best": {rows: (library, MAC/s)},
    "bandwidth": (bytes/s, how), "bytes": the int8 weights' size}."""
    inner, width = step_shape(spec)
    libraries = available()
    runs = {(rows, lib): [] for rows in rows_list for lib in libraries}
    for round_ in range(rounds):
        for rows in rows_list:
            for lib in libraries if round_ % 2 == 0 else libraries[::-1]:
                runs[rows, lib].append(run_child(lib, rows, inner, width))
    products = {rows: {lib: statistics.median(runs[rows, lib]) for lib in libraries}
                for rows in rows_list}
    best = {rows: max(((lib, v) for lib, v in products[rows].items() if v == v),
                      key=lambda item: item[1], default=("—", float("nan")))
            for rows in rows_list}
    return {"products": products, "best": best, "bandwidth": read_bandwidth(inner * width),
            "bytes": inner * width}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(argv[1], *(int(a) for a in argv[2:5]))
        return 0
    from engine.weights import REPO_WEIGHTS, load_model_folder

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=str(REPO_WEIGHTS / "gru"))
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    spec = load_model_folder(args.weights).spec
    limits = measure(spec, args.rows, args.rounds)
    inner, width = step_shape(spec)
    print(f"producto del paso: filas × {inner} · {inner} × {width} "
          f"({multiply_adds_per_row(spec):,} multiplicaciones-sumas por fila), int8, "
          f"{machine()}\n")
    print("| filas | " + " | ".join(available()) + " | mejor |")
    print("|---" * (len(available()) + 2) + "|")
    for rows in args.rows:
        cells = [f"{v / 1e9:,.0f} G/s" for v in limits["products"][rows].values()]
        lib, v = limits["best"][rows]
        print(f"| {rows} | " + " | ".join(cells) + f" | {lib}: {v / 1e9:,.0f} G/s |")
    rate, how = limits["bandwidth"]
    print(f"\nlectura de {limits['bytes'] / 1e6:.1f} MB una y otra vez: {rate / 1e9:,.0f} GB/s ({how})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
