"""verbo's front-ends: the shared command layer, the terminal REPL and the Discord bot."""
