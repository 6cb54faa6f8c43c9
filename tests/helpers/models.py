"""Tiny models trained for real on the start of the corpus, for tests that need trained weights."""
from __future__ import annotations

from training.config import TrainConfig
from training.train import train

# a fixed recipe, float32 whatever the CPU: the tests' models depend neither on `verbo train`'s
# defaults nor on the machine's bfloat16 units
TINY = dict(units=32, embedding_dim=16, epochs=1, batch_size=32, seq_len=50, max_chars=120_000,
            mixed_precision=False, warmup=0, learning_rate=1e-3)


def train_tiny(tmp_path_factory, cell: str, **overrides):
    root = tmp_path_factory.mktemp(f"tiny_{cell}")
    cfg = TrainConfig(cell=cell, out_dir=str(root / "weights"),
                      checkpoint_dir=str(root / "ckpt"), **(TINY | overrides))
    state = train(cfg, say=lambda *_: None)
    return cfg, state
