"""What the benches share: the engine set-up (a throw-away store, the limits of a busy server,
the arithmetic asked for, and the model's first generation done before anything is timed: its
caches warm, its worker's threads started), and a child process that answers one JSON line."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from engine import Engine, Limits
from engine.int8 import CORES
from engine.weights import REPO_WEIGHTS

BENCH_LIMITS = Limits(max_batch=256, max_waiting=2048)
# the CPU flags that decide which int8 and bfloat16 kernels the libraries pick
MATRIX_FLAGS = {"amx_int8": "AMX int8", "amx_bf16": "AMX bf16", "avx512_vnni": "AVX-512 VNNI",
                "avx512_bf16": "AVX-512 BF16", "avx_vnni": "AVX-VNNI"}


def machine() -> str:
    """The machine as the benches' headers name it: the CPU's model, its cores, and its matrix
    instructions (from /proc/cpuinfo; the core count alone where that file is missing)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return f"{CORES} CPU"
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    matrix = ", ".join(name for flag, name in MATRIX_FLAGS.items() if flag in flags) or "sin AMX ni VNNI"
    return f"{fields.get('model name', 'CPU')}, {CORES} CPU ({matrix})"


@contextlib.asynccontextmanager
async def bench_engine(weights_root: Path = REPO_WEIGHTS, arithmetic: str = "auto",
                       warm_model: str | None = "gru", limits: Limits = BENCH_LIMITS):
    """`async with bench_engine(...) as engine:` an engine on a temporary SQLite store, with
    `warm_model` loaded (and the channels' default) and one short generation done (None:
    nothing loaded, the default model `gru`)."""
    with tempfile.TemporaryDirectory() as tmp:
        async with Engine(Path(tmp) / "bench.sqlite3", weights_root=weights_root,
                          arithmetic=arithmetic, limits=limits,
                          default_model=warm_model or "gru") as engine:
            if warm_model is not None:
                await engine.update("warm", model=warm_model, length=50)
                await engine.generate("warm", "Dios")
            yield engine


def json_child(module: str, *args) -> dict | list | float | None:
    """`python -m module args…` in a fresh process: the JSON of its last line of output, or None
    (what it wrote to stderr printed) where it failed."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    out = subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True,
                         text=True, env=env)
    if out.returncode:
        print(f"{module} {' '.join(map(str, args))} falló:\n{out.stderr.strip()[-1500:]}",
              file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])
