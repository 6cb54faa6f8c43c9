"""Which Discord gateway shards this process holds.

One process holds every shard by default (`VERBO_SHARDED=1`: discord.py's AutoShardedBot asks
Discord how many). Several processes split them: a list or ranges (`--shards 0-3,8`) out of
`--shard-count`, or one cluster of several (`--cluster 1/4`: shards 1, 5, 9 … of the count).
Discord sends a server's events to shard `(guild_id >> 22) % shard_count`, and direct messages to
shard 0; every process must use the same shard count.
"""
from __future__ import annotations

from dataclasses import dataclass


class ShardError(ValueError):
    """A shard setting that cannot work; the message says why (Spanish)."""


@dataclass(frozen=True)
class ShardPlan:
    shard_ids: list[int] | None  # None: all of them
    shard_count: int | None  # None: the count Discord recommends

    def describe(self) -> str:
        if self.shard_ids is None:
            return "todos los shards" + (f" de {self.shard_count}" if self.shard_count else "")
        return f"shards {','.join(map(str, self.shard_ids))} de {self.shard_count}"


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends a server's events to."""
    return (guild_id >> 22) % shard_count


def parse_ids(text: str) -> list[int]:
    """"0-3,8" → [0, 1, 2, 3, 8]."""
    ids = set()
    for part in text.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise ShardError(f"«{part}» no es un shard ni un rango (p. ej. 0-3,8)") from None
        if low < 0 or high < low:
            raise ShardError(f"«{part}» no es un rango válido")
        ids.update(range(low, high + 1))
    return sorted(ids)


def plan(sharded: bool, shards: str = "", shard_count: int | None = None,
         cluster: str = "") -> ShardPlan | None:
    """The shards to hold, or None for an unsharded bot."""
    if shards and cluster:
        raise ShardError("usa --shards o --cluster, no los dos")
    if shard_count is not None and shard_count < 1:
        raise ShardError("el número de shards debe ser positivo")
    if cluster:
        index, _, clusters = cluster.partition("/")
        try:
            index, clusters = int(index), int(clusters)
        except ValueError:
            raise ShardError(f"«{cluster}» no es un grupo: usa índice/total, p. ej. 1/4") from None
        if not 0 <= index < clusters:
            raise ShardError(f"el grupo {index} no existe entre {clusters} (se cuentan desde 0)")
        if shard_count is None:
            raise ShardError("--cluster necesita --shard-count: todos los procesos deben usar "
                             "el mismo número de shards")
        return ShardPlan([s for s in range(shard_count) if s % clusters == index], shard_count)
    if shards:
        ids = parse_ids(shards)
        if shard_count is None:
            raise ShardError("--shards necesita --shard-count")
        if ids[-1] >= shard_count:
            raise ShardError(f"el shard {ids[-1]} no existe entre {shard_count} (0 a "
                             f"{shard_count - 1})")
        return ShardPlan(ids, shard_count)
    if sharded or shard_count is not None:
        return ShardPlan(None, shard_count)
    return None
