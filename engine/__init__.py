"""verbo's engine: models, fast inference, sessions and the inference queue.

Knows nothing of Discord or terminals; the front-ends in `bot/` call `engine.engine.Engine`.
"""
