"""The scheduler against a fake kernel: how batches form, join, leave, wait and cancel.

The worker is held at a chosen step (`HoldAt`) while the test acts, and every step records the
batch's size, so each test reads exactly which rows stepped together."""
import asyncio
import sys

import numpy as np
import pytest

from engine import StateMismatchError
from engine.linalg import log_softmax
from engine.scheduler import WORKER_SWITCH_INTERVAL, Job, Scheduler
from tests.helpers.fake_kernel import FakeKernel
from tests.helpers.pacing import HoldAt, wait_for


def greedy_job(generate: int, inputs=(), **kwargs) -> Job:
    return Job(inputs=np.array(inputs, np.int64), state=np.zeros(1, np.float32),
               generate=generate, temperature=0.0, **kwargs)


@pytest.fixture
async def scheduler():
    instance = Scheduler(FakeKernel(), max_batch=2, max_waiting=8)
    instance.sizes = []
    instance.hold = HoldAt(at=3)

    def hook(batch):
        instance.sizes.append(len(batch))
        instance.hold(batch)

    instance.step_hook = hook
    instance.start()
    yield instance
    instance.hold.release()
    await instance.close()


async def test_a_request_joins_the_running_batch_at_the_next_step_and_leaves_when_done(scheduler):
    first = scheduler.submit(greedy_job(10))
    await asyncio.to_thread(scheduler.hold.reached.wait, 10)  # held before step 3, one row
    second = scheduler.submit(greedy_job(4))
    scheduler.hold.release()
    one, two = await asyncio.gather(first.result(), second.result())
    # the second row stepped with the first from step 4 to 7, then left; the first went on alone
    assert scheduler.sizes == [1, 1, 1, 2, 2, 2, 2, 1, 1, 1]
    assert one.generated == FakeKernel().greedy(0, 10)
    assert two.generated == FakeKernel().greedy(0, 4)
    assert one.state[0] == 10 and two.state[0] == 4


async def test_requests_beyond_the_batch_size_wait_for_a_free_row(scheduler):
    tickets = [scheduler.submit(greedy_job(3)) for _ in range(3)]
    scheduler.hold.release()
    results = await asyncio.gather(*(t.result() for t in tickets))
    assert max(scheduler.sizes) == 2  # max_batch
    assert sum(scheduler.sizes) == 9  # three rows of three steps each
    assert all(r.generated == FakeKernel().greedy(0, 3) for r in results)


async def test_a_cancelled_request_leaves_at_the_next_step_with_its_state_so_far(scheduler):
    ticket = scheduler.submit(greedy_job(100))
    await asyncio.to_thread(scheduler.hold.reached.wait, 10)
    ticket.cancel()
    scheduler.hold.release()
    result = await ticket.result()
    assert result.cancelled and len(result.generated) == 3  # step 3 ran, then it left
    assert result.state[0] == 3
    await asyncio.sleep(0)
    await wait_for(lambda: scheduler.active_count == 0)


async def test_a_request_cancelled_while_it_waits_leaves_at_its_first_step(scheduler):
    """Cancelled before it has a row (the batch full, the worker held): once it joins it leaves
    at the next step, though nothing was cancelled since the worker last looked."""
    running = [scheduler.submit(greedy_job(100)) for _ in range(2)]  # max_batch rows
    await asyncio.to_thread(scheduler.hold.reached.wait, 10)
    waiting = scheduler.submit(greedy_job(100))
    waiting.cancel()
    running[0].cancel()  # frees a row for it at the next step
    scheduler.hold.release()
    result = await waiting.result()
    assert result.cancelled and len(result.generated) <= 1
    assert (await running[0].result()).cancelled
    await running[1].result()


async def test_the_switch_interval_is_lowered_while_a_scheduler_runs_and_restored_after():
    before = sys.getswitchinterval()
    running = Scheduler(FakeKernel())
    running.start()
    assert sys.getswitchinterval() == min(before, WORKER_SWITCH_INTERVAL)
    await running.close()
    assert sys.getswitchinterval() == before


async def test_streamed_ids_arrive_in_order_and_add_up_to_the_result(scheduler):
    scheduler.hold.release()
    ticket = scheduler.submit(greedy_job(40))
    streamed = [i async for chunk in ticket.stream() for i in chunk]
    assert streamed == (await ticket.result()).generated == FakeKernel().greedy(0, 40)


async def test_reading_inputs_records_each_character_and_then_samples_after_them(scheduler):
    scheduler.hold.release()
    kernel = FakeKernel()
    inputs = [3, 1, 4, 1]
    result = await scheduler.submit(greedy_job(2, inputs, record=True)).result()
    states = kernel.zero_states(1) + np.arange(len(inputs))[:, None]  # the state before each
    expected = log_softmax(kernel.readout(states))[np.arange(len(inputs)), inputs]
    np.testing.assert_allclose(result.logprobs, expected)
    assert result.generated == kernel.greedy(len(inputs), 2)


async def test_a_state_of_another_model_is_refused_and_the_rest_is_served(scheduler):
    scheduler.hold.release()
    wrong = scheduler.submit(Job(inputs=np.zeros(0, np.int64), state=np.zeros(3, np.float32),
                                 generate=5))
    right = scheduler.submit(greedy_job(5))
    with pytest.raises(StateMismatchError):
        await wrong.result()
    assert len((await right.result()).generated) == 5
