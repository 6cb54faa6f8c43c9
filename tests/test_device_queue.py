"""The inference queue on a device that keeps states (`engine.device_batch`), against the
simulated device (`engine.simulated_device`: the fake kernel's arithmetic, a latency model, a
virtual clock): the same texts as the host path, host round trips per character, admission
within 50 ms, a piece to every stream at least 10 times a second, and a device that never waits
for the host. Every time here is the virtual clock's: nothing depends on this machine's speed."""
import asyncio
import threading

import numpy as np

from engine.scheduler import Job, Scheduler
from engine.simulated_device import LatencyModel, SimulatedDevice
from tests.helpers.fake_kernel import FakeKernel

# a slow device: 64 steps would take 130 ms, so the calls must be shorter to admit in 50 ms
SLOW = LatencyModel(call=0.0005, step=0.002, copy=0.0005, host=0.0005)
# the host's work as long as a call of 10 steps: a device that waits for it idles half the time
BUSY_HOST = LatencyModel(call=0.0002, step=0.00005, copy=0.0002, host=0.0005)


def job(generate: int, prompt: int = 0, seed: int = 0, **kwargs) -> Job:
    return Job(inputs=np.arange(prompt) % 7, state=np.zeros(1, np.float32), generate=generate,
               temperature=0.9, seed=seed, **kwargs)


async def serve(kernel, jobs, **options):
    scheduler = Scheduler(kernel, max_batch=16, **options)
    scheduler.start()
    tickets = [scheduler.submit(j) for j in jobs]
    results = await asyncio.gather(*(t.result() for t in tickets))
    await scheduler.close()
    return scheduler, results


async def test_seeded_texts_and_states_are_the_host_paths_with_prompts_and_any_lengths():
    mix = [job(300, 0, 1), job(100, 5, 2), job(7, 130, 3), job(640, 2, 4), job(0, 9, 5),
           job(50, 3, 6, top_k=2), job(60, 1, 7, stop_after=frozenset({3}), min_length=5)]
    _, host = await serve(FakeKernel(), mix)
    device = SimulatedDevice(FakeKernel())
    scheduler, served = await serve(device, mix)
    for expected, result in zip(host, served):
        assert result.generated == expected.generated
        np.testing.assert_array_equal(result.state, expected.state)
    assert scheduler.round_trips < scheduler.steps / 8  # the resident batch served them


async def test_at_most_one_round_trip_per_32_characters_while_nobody_waits():
    scheduler, results = await serve(SimulatedDevice(FakeKernel()),
                                     [job(640, seed=s) for s in range(16)])
    assert all(len(r.generated) == 640 for r in results)
    assert scheduler.steps == 640
    assert scheduler.round_trips * 32 <= scheduler.steps
    # the former path (states copied in and out, 8 characters a call) for contrast
    former, _ = await serve(SimulatedDevice(FakeKernel(), resident_states=False),
                            [job(640, seed=s) for s in range(16)])
    assert former.round_trips * 8 == former.steps


async def test_a_request_that_arrives_mid_generation_joins_within_50_ms():
    device = SimulatedDevice(FakeKernel(), SLOW)
    scheduler = Scheduler(device, max_batch=16)
    holding, release = threading.Event(), threading.Event()

    def hook(batch):  # hold the worker just after an admission, before its 6th call
        if len(device.calls) == 5:
            holding.set()
            release.wait(30)

    scheduler.step_hook = hook
    scheduler.start()
    first = scheduler.submit(job(2000))
    await asyncio.to_thread(holding.wait, 30)
    second = scheduler.submit(job(20, prompt=3))  # stamped with the virtual clock
    release.set()
    await asyncio.gather(first.result(), second.result())
    await scheduler.close()
    joined = next(c for c in device.calls if c.rows == 2)  # the first call that stepped both
    assert joined.start - second.submitted <= 0.05
    assert max(c.end - c.start for c in device.calls) > 0.01  # the calls were not all tiny


async def test_every_stream_gets_a_piece_at_least_ten_times_a_second():
    device = SimulatedDevice(FakeKernel(), SLOW)
    scheduler = Scheduler(device, max_batch=16)
    pieces: dict = {}

    def post(now, events):
        for event in events:
            if event.ids:
                pieces.setdefault(event.ticket, []).append(now)

    scheduler.post_hook = post
    scheduler.start()
    tickets = [scheduler.submit(job(400 + 37 * s, seed=s)) for s in range(16)]
    await asyncio.gather(*(t.result() for t in tickets))
    await scheduler.close()
    for ticket in tickets:
        times = [ticket.submitted] + pieces[ticket]
        assert np.diff(times).max() <= 0.1


async def test_the_next_call_is_queued_before_the_host_works_on_the_last():
    device = SimulatedDevice(FakeKernel(), BUSY_HOST)
    await serve(device, [job(2000, seed=s) for s in range(4)])
    steady = device.calls[2:-1]  # the first calls are queued before any is known
    gaps = [b.start - a.end for a, b in zip(steady, steady[1:])]
    assert len(gaps) > 10 and max(gaps) == 0  # back to back: the device never waited


async def test_a_cancelled_request_leaves_with_the_state_of_what_it_was_given():
    device = SimulatedDevice(FakeKernel(), SLOW)
    scheduler = Scheduler(device, max_batch=16)
    scheduler.start()
    ticket = scheduler.submit(job(5000, prompt=4))
    other = scheduler.submit(job(300))
    async for _ in ticket.stream():
        ticket.cancel()
    result = await ticket.result()
    assert result.cancelled and 0 < len(result.generated) < 5000
    assert result.state[0] == 4 + len(result.generated)  # the fake state counts what it read
    assert len((await other.result()).generated) == 300
    await scheduler.close()
