"""The bot's budget of requests to Discord, shared by every channel.

Discord allows a bot 50 requests a second in all (the global limit) and counts every 429 towards
the invalid-request limit (10,000 in 10 minutes, then the IP is banned for a while), so the bot
stays under it on its own side instead of learning from 429s: every REST call waits for a token of
one leaky bucket (aiolimiter; `bot.discord_seams.route_requests_through` routes discord.py's
requests through it). Streaming edits space out as more messages stream at once, an edit in the
middle of a stream is skipped while the bucket is empty (the next one shows the text), the
typing indicator likewise; the last edit of a message always waits its turn.

Interaction responses do not count towards Discord's global limit, and go through discord.py's
webhook adapter, which this does not wrap.
"""
from __future__ import annotations

from aiolimiter import AsyncLimiter

# tokens refill every fifth of a second: in any one-second window at most 1.2 × the rate
# go out, so a rate of 40 stays under Discord's 50 whatever the bursts
PERIOD = 0.2
# streaming edits may use this share of the budget; posts, final edits and commands the rest
EDIT_SHARE = 0.5


class RequestBudget:
    def __init__(self, per_second: int):
        self.per_second = per_second
        self.limiter = AsyncLimiter(max(1.0, per_second * PERIOD), PERIOD)
        self.streaming = 0  # messages streaming right now

    def spare(self) -> bool:
        """Whether a request could go now without waiting (for the ones that may be skipped)."""
        return self.limiter.has_capacity()

    def edit_interval(self, shortest: float) -> float:
        """Seconds between edits of one streaming message at the current load: the edits of
        all the other streaming messages share EDIT_SHARE of the budget."""
        return max(shortest, (self.streaming - 1) / (self.per_second * EDIT_SHARE))
