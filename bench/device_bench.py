"""The inference queue on a device: host round trips per character and how close to the device's
ideal the scheduler comes, with the states kept on the device (the queue's path) beside the
former fixed 8 characters a call with every state copied in and out.

    verbo bench device [-- --simulated] [--channels 1 64 256] [--length 300] [--model gru]

`--simulated` (what runs where no GPU is present): the model's arithmetic on the CPU behind
`engine.simulated_device`'s latency model and virtual clock; the ideal is every step back to
back (steps × the model's cost per step), and the fraction is the ideal over the virtual time the
run took. On a GPU (or `--real`: the device kernel wherever it runs, 8 characters a call as on a
GPU): chars/s, round trips per character and p99 of a request, both ways, then the `jax.jit` /
`tf.function` peer (`bench.onestep`) and the CPU's int8 path at the same channel counts.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time

import numpy as np

from engine.arithmetic import resolve, unavailable_reason
from engine.batch import Job
from engine.loading import load_kernel
from engine.scheduler import Scheduler
from engine.simulated_device import LatencyModel, SimulatedDevice
from engine.weights import REPO_WEIGHTS


async def serve(kernel, channels: int, length: int, resident: bool = True) -> dict:
    """`channels` seeded requests of `length` characters (after a short prompt) at once."""
    clock = getattr(kernel, "clock", None) or time.perf_counter
    scheduler = Scheduler(kernel, max_batch=256, max_waiting=4096, resident=resident)
    scheduler.start()
    prompt = np.asarray(kernel.vocab.encode("Dios dijo:")[0]) if kernel.vocab else np.zeros(1)
    started = clock()
    tickets = [scheduler.submit(Job(inputs=prompt, state=kernel.start_state, generate=length,
                                    temperature=0.8, seed=c)) for c in range(channels)]

    async def latency(ticket) -> float:
        await ticket.result()
        return clock() - ticket.submitted

    ends = await asyncio.gather(*(latency(t) for t in tickets))
    elapsed = clock() - started
    await scheduler.close()
    return {"rate": channels * length / elapsed, "p99": float(np.percentile(ends, 99)),
            "trips": scheduler.round_trips / scheduler.steps, "steps": scheduler.steps,
            "elapsed": elapsed}


def simulated(args) -> None:
    model = LatencyModel()
    inner = load_kernel(REPO_WEIGHTS / args.model, "numpy")
    print(f"dispositivo simulado ({args.model} en NumPy para los números; el tiempo es el del "
          f"modelo de latencias): llamada {model.call * 1e3:.2f} ms, paso {model.step * 1e3:.3f} "
          f"ms, copia al host {model.copy * 1e3:.2f} ms, trabajo del host {model.host * 1e3:.2f} "
          f"ms por ida y vuelta; {args.length} car. por petición\n")
    print("| canales | idas y vueltas por car. (estados en el dispositivo) | fracción del ideal | "
          "idas y vueltas por car. (8 por llamada, estados copiados) | fracción del ideal |")
    print("|---|---|---|---|---|")
    for channels in args.channels:
        cells = []
        for resident in (True, False):
            device = SimulatedDevice(inner, model, resident_states=resident)
            out = asyncio.run(serve(device, channels, args.length, resident))
            ideal = out["steps"] * model.step
            cells += [f"1/{1 / out['trips']:.0f}", f"{ideal / out['elapsed']:.2f}"]
        print(f"| {channels} | " + " | ".join(cells) + " |")


def real(args) -> None:
    kernel = load_kernel(REPO_WEIGHTS / args.model, "device")
    if kernel.steps_per_call < 2:  # the device kernel on a CPU: as on a GPU, for a dry run
        kernel.steps_per_call = 8
    print(f"núcleo: {kernel.label}; {args.length} car. por petición\n")
    print("| canales | estados en el dispositivo: car./s · idas y vueltas por car. · p99 | "
          "8 por llamada: car./s · idas y vueltas por car. · p99 | pareja (car./s) | "
          "motor / pareja | int8 en CPU (car./s) | motor / int8 |")
    print("|---|---|---|---|---|---|---|")
    from bench import onestep

    int8 = None if unavailable_reason("int8") else load_kernel(REPO_WEIGHTS / args.model, "int8")
    for channels in args.channels:
        for resident in (True, False):  # compilations a GPU makes at load, a CPU on first use
            asyncio.run(serve(kernel, channels, 20, resident))
        ways = [asyncio.run(serve(kernel, channels, args.length, resident))
                for resident in (True, False)]
        peer = onestep.chars_per_second(channels, steps=args.length)
        cpu = asyncio.run(serve(int8, channels, args.length))["rate"] if int8 else float("nan")
        cells = [f"{w['rate']:,.0f} · 1/{1 / w['trips']:.0f} · {w['p99']:.2f} s" for w in ways]
        print(f"| {channels} | " + " | ".join(cells) + f" | {peer:,.0f} | "
              f"{ways[0]['rate'] / peer:.2f}× | {cpu:,.0f} | {ways[0]['rate'] / cpu:.2f}× |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--simulated", action="store_true",
                        help="the simulated device (the default where no GPU is present)")
    parser.add_argument("--real", action="store_true",
                        help="the device kernel even without a GPU (a dry run of the GPU table)")
    parser.add_argument("--channels", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--length", type=int, default=300)
    parser.add_argument("--model", default="gru", help="a model of weights/ (default gru)")
    args = parser.parse_args(argv)
    gpu = unavailable_reason("device") is None and resolve("auto") == "device"
    if args.simulated or not (gpu or args.real):
        simulated(args)
    else:
        real(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
