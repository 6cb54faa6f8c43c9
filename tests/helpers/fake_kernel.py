"""A kernel with arithmetic a test can predict: the state counts the characters a row has
consumed, and the likeliest next id is that count modulo the vocabulary size."""
from __future__ import annotations

import numpy as np


class FakeKernel:
    """An `engine.kernel.Kernel` (its vocabulary only a size)."""

    state_size = 1
    steps_per_call = 1
    label = "fake"
    metrics: dict = {}

    def __init__(self, vocab_size: int = 7):
        self.vocab_size = vocab_size
        self.start_state = np.zeros(1, np.float32)
        self.start_state.flags.writeable = False

    def zero_states(self, batch: int) -> np.ndarray:
        return np.zeros((batch, 1), np.float32)

    def start_states(self, batch: int) -> np.ndarray:
        return self.zero_states(batch)

    def transition(self, ids: np.ndarray, states: np.ndarray) -> np.ndarray:
        return states + 1

    def readout(self, states: np.ndarray) -> np.ndarray:
        logits = np.full((len(states), self.vocab_size), -5.0, np.float32)
        logits[np.arange(len(states)), states[:, 0].astype(int) % self.vocab_size] = 5.0
        return logits

    def step(self, ids: np.ndarray, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        states = self.transition(ids, states)
        states.flags.writeable = False  # the kernel protocol's returned-states rule
        return self.readout(states), states

    def greedy(self, start: int, n: int) -> list[int]:
        """What a greedy row that has consumed `start` characters samples next, n times."""
        return [(start + i) % self.vocab_size for i in range(n)]
