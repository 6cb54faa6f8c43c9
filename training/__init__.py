"""verbo's training: the corpus and its split, the Keras models, `verbo train`, `verbo evaluate`
and the classic baselines. Training itself needs the `train` extra (TensorFlow and Keras); the
serving core never imports this package."""
