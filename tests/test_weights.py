"""Model folders written by training: round trip and file permissions."""
import os
import stat

import numpy as np

from engine.weights import FILES, load_model_folder, save_model_folder


def test_saved_folder_loads_back_identically(tiny_models, tmp_path):
    original = load_model_folder(tiny_models["lstm"])
    copy = tmp_path / "lstm"
    save_model_folder(copy, original.spec, original.vocab, original.arrays, original.metrics)
    again = load_model_folder(copy)
    assert again.spec == original.spec and again.vocab.chars == original.vocab.chars
    assert again.metrics == original.metrics
    for key, array in original.arrays.items():
        np.testing.assert_array_equal(again.arrays[key], array)
    assert not [p.name for p in copy.iterdir() if p.name.startswith(".tmp-")]


def test_exported_files_get_ordinary_permissions(tiny_models, tmp_path):
    # temporary files are created 0600; shipped weights must be readable like any other file
    original = load_model_folder(tiny_models["gru"])
    previous = os.umask(0o022)
    try:
        save_model_folder(tmp_path / "gru", original.spec, original.vocab, original.arrays, {})
    finally:
        os.umask(previous)
    for name in FILES + ("metrics.json",):
        assert stat.S_IMODE((tmp_path / "gru" / name).stat().st_mode) == 0o644, name
