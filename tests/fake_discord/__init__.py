"""The project's own fake Discord: REST v10 and a gateway websocket on a local port, for tests that
run the real `verbo discord` and the real discord.py over real sockets."""
from tests.fake_discord.server import FakeDiscord

__all__ = ["FakeDiscord"]
