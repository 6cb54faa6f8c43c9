"""`python -m verbo`: the same as the `verbo` command."""
import sys

from verbo.cli import main

sys.exit(main())
