"""One epoch's training windows: where they start in the text, how stateful streams are laid
out, which part of the text a short epoch takes, and the batches Keras is fed (built one batch at
a time, so that a teacher's targets never exist for a whole epoch at once, by two threads in
order)."""
from __future__ import annotations

import keras
import numpy as np

from training.distill import mixed_targets


def window_positions(length: int, seq_len: int, batch: int, stateful: bool,
                     rng: np.random.Generator) -> np.ndarray:
    """Positions (windows × seq_len) into a text of `length` ids for one epoch, from a random
    offset; the target of position p is the id at p + 1.

    Stateful: `batch` contiguous streams, laid out so that row b of batch i+1 continues row b of
    batch i (the hidden state carries over between them).
    """
    offset = int(rng.integers(0, seq_len))
    usable = length - offset - 1
    if stateful:
        stream = usable // batch // seq_len * seq_len
        if stream == 0:
            raise ValueError("demasiado poco texto para este tamaño de lote")
        starts = offset + np.arange(batch) * stream
        n = stream // seq_len
        # [window i][row b][t] = starts[b] + i·seq_len + t
        grid = (starts[None, :, None] + np.arange(n)[:, None, None] * seq_len
                + np.arange(seq_len)[None, None, :])
        return grid.reshape(-1, seq_len)
    n = usable // seq_len
    n -= n % batch
    if n == 0:
        raise ValueError("demasiado poco texto para este tamaño de lote")
    return offset + np.arange(n * seq_len).reshape(n, seq_len)


def epoch_part(positions: np.ndarray, epoch: int, chars: int, batch: int) -> np.ndarray:
    """Epoch `epoch`'s share of the windows when an epoch is about `chars` characters: the text
    cut into equal parts of whole batches (the last part no shorter than the others), taken in
    turn, so that successive epochs cover all of it."""
    batches = len(positions) // batch
    parts = max(1, batches // max(1, chars // (positions.shape[1] * batch)))
    bounds = np.linspace(0, batches, parts + 1).astype(int) * batch
    part = (epoch - 1) % parts
    return positions[bounds[part]:bounds[part + 1]]


class EpochBatches(keras.utils.PyDataset):
    """The epoch's batches in order: inputs ids[positions], targets the next ids, or those mixed
    with the teacher's distributions when there is a teacher."""

    def __init__(self, ids: np.ndarray, positions: np.ndarray, batch: int,
                 teacher: np.ndarray | None = None, teacher_weight: float = 0.0):
        # Two threads put Keras on its ordered enqueuer, which turns tf.data's autotuning off:
        # with one worker Keras prefetches with AUTOTUNE, and the end of fit() then waits for
        # the autotuner's next tick, its period doubling up to a minute (docs/models.md).
        super().__init__(workers=2, use_multiprocessing=False)
        self.ids, self.positions, self.batch = ids, positions, batch
        self.teacher, self.teacher_weight = teacher, teacher_weight

    def __len__(self) -> int:
        return len(self.positions) // self.batch

    def __getitem__(self, index: int):
        rows = self.positions[index * self.batch:(index + 1) * self.batch]
        x, y = self.ids[rows], self.ids[rows + 1]
        if self.teacher is not None:
            y = mixed_targets(self.teacher, rows, y, self.teacher_weight)
        return x, y
