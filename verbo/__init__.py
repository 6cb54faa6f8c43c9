"""verbo's command line and its settings: the one place that wires serving, fronts and training."""
