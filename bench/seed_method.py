"""The seed notebook's own inference, on our weights: the baseline every benchmark compares to.

`generate_text` calls a stateful batch-1 Keras model once per character and samples with
`tf.random.categorical`; `log_likelihood` calls `model.predict` once per character on a batch of
64 with the character in row 0 (both as in the notebook, only the model comes from a weights
folder instead of a download).
"""
from __future__ import annotations

import numpy as np


def keras_model(folder, batch_size: int):
    from training.keras_model import build_model, set_weight_arrays

    model = build_model(folder.spec, batch_size=batch_size,
                        stateful=folder.spec.recurrent)
    set_weight_arrays(model, folder.arrays)
    return model


def generate_text(model, vocab, start_string: str, text_len: int, temperature: float) -> str:
    import tensorflow as tf

    input_eval = tf.expand_dims([vocab.index[s] for s in start_string], 0)
    generated = []
    for layer in model.layers:
        if hasattr(layer, "reset_states") and getattr(layer, "stateful", False):
            layer.reset_states()
    for _ in range(text_len):
        predictions = tf.squeeze(model(input_eval), 0) / temperature
        predicted_id = tf.random.categorical(predictions, num_samples=1)[-1, 0].numpy()
        input_eval = tf.expand_dims([predicted_id], 0)
        generated.append(vocab.chars[predicted_id])
    return start_string + "".join(generated)


def log_likelihood(model, vocab, text: str) -> float:
    import tensorflow as tf

    res = []
    for i, char in enumerate(text[:-1]):
        text_int = np.zeros((64, 1))
        text_int[0] = vocab.index[char]
        probs = tf.nn.softmax(model.predict(text_int, batch_size=64, verbose=False)[0, -1])
        res.append(probs[vocab.index[text[i + 1]]].numpy())
    return float(np.log(res).sum())
