"""Training on one's own text: a corpus with characters the Bible never uses trains, loads,
generates and scores; its split is stable; a fine-tune extends the vocabulary and keeps the old
rows; `verbo models` lists shipped and own models; the learning curve is a PNG; bad corpora are
refused clearly."""
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.commands import Commands, Context
from engine import Engine
from engine.weights import load_model_folder
from tests.helpers.models import TINY
from training.config import TrainConfig
from training.corpus import CorpusError
from training.text_corpus import cut_blocks, load_text_corpus, split_blocks
from training.train import TrainingError, train

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("die Straße ist groß und grün über dem Fluss ich grüße dich schreib mir an "
         "hola@correo.es am 24. Mai 2023 um 18:45 Uhr kostet es 3,50 müde Füße Bäume").split()
NEW = "ß@ä"  # characters the Bible never uses (and digits in new places)


def own_text(paragraphs: int = 120, seed: int = 7) -> str:
    rng = random.Random(seed)
    return "\n\n".join(
        " ".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 12))).capitalize() + "."
                 for _ in range(rng.randint(2, 5)))
        for _ in range(paragraphs)) + "\n"


@pytest.fixture(scope="module")
def own_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    (root / "mio.txt").write_text(own_text(), encoding="utf-8")
    cfg = TrainConfig(corpus=str(root / "mio.txt"), name="mio", out_dir=str(root / "models" / "mio"),
                      checkpoint_dir=str(root / "ck"), **(TINY | {"batch_size": 16}))
    train(cfg, say=lambda *_: None)
    return root


def test_the_corpus_keeps_its_own_characters(tmp_path):
    (tmp_path / "mio.txt").write_text(own_text(), encoding="utf-8")
    corpus = load_text_corpus(tmp_path / "mio.txt")
    assert set(NEW) <= set(corpus.vocab.chars) and corpus.unit == "párrafos"
    text = "Grüß dich, hola@correo.es: 18:45 Uhr, Straße 2023, Bäume"
    ids, report = corpus.vocab.encode(text)
    assert corpus.vocab.decode(ids) == text and not report.changed


def test_rare_characters_are_folded_and_reported(tmp_path):
    (tmp_path / "mio.txt").write_text(own_text() + "Ein Café.\n", encoding="utf-8")
    corpus = load_text_corpus(tmp_path / "mio.txt", min_count=5)
    assert "é" not in corpus.vocab.chars and "é" not in corpus.text
    assert "«é»→«e»" in corpus.folded.describe()


async def test_a_model_of_own_text_loads_generates_and_scores(own_model):
    metrics = json.loads((own_model / "models" / "mio" / "metrics.json").read_text())
    assert metrics["corpus"]["name"] == "mio" and metrics["corpus"]["characters"] > 10_000
    assert len(metrics["corpus_sha256"]) == 64
    async with Engine(own_model / "db.sqlite3", models_root=own_model / "models") as engine:
        assert "mio" in engine.available_models() and "gru" in engine.available_models()
        layer, ctx = Commands(engine), Context(channel="c")
        assert "modelo: mio" in (await layer.handle(ctx, "!modelo mio")).text
        await engine.update("c", length=60, seed=1)
        assert len(await engine.generate("c", "Die Straße")) == 60
        reply = await layer.handle(ctx, "!probabilidad Grüß dich: hola@correo.es, 18:45")
        assert not reply.error and reply.note == ""  # every character is in its vocabulary
        assert reply.data["bits_per_char"] < 6


def test_the_split_is_stable_when_the_text_grows_or_is_cut(tmp_path):
    text = own_text(200)
    blocks = cut_blocks(text, "párrafos")
    validation = {b.text for b in split_blocks(blocks).validation}
    grown = {b.text for b in split_blocks(cut_blocks(text + own_text(50, seed=9), "párrafos"))
             .validation}
    cut = {b.text for b in split_blocks(blocks[: len(blocks) // 2]).validation}
    assert validation and validation <= grown
    assert cut <= validation or len(cut) == 1  # (at least one block is always kept)
    assert {b.text for b in split_blocks(blocks).validation} == validation  # the same again


def test_a_fine_tune_extends_the_vocabulary_and_keeps_the_old_rows(tiny_models, tmp_path):
    (tmp_path / "mio.txt").write_text(own_text(), encoding="utf-8")
    base = load_model_folder(tiny_models["gru"])
    cfg = TrainConfig(corpus=str(tmp_path / "mio.txt"), name="fino",
                      warm_start=str(tiny_models["gru"]), out_dir=str(tmp_path / "fino"),
                      checkpoint_dir=str(tmp_path / "ck"), tensorboard=str(tmp_path / "tb"),
                      **(TINY | {"batch_size": 16, "learning_rate": 0.0}))
    train(cfg, say=lambda *_: None)
    assert list((tmp_path / "tb").rglob("events.out.tfevents.*"))  # --tensorboard wrote its log
    tuned = load_model_folder(tmp_path / "fino")
    assert set(NEW) <= set(tuned.vocab.chars) and not set(NEW) & set(base.vocab.chars)
    for char in "Die Straße":
        if char in base.vocab.index:  # kept: the same embedding row and output column
            new, old = tuned.vocab.index[char], base.vocab.index[char]
            np.testing.assert_array_equal(tuned.arrays["embedding.0"][new],
                                          base.arrays["embedding.0"][old])
            np.testing.assert_array_equal(tuned.arrays["dense.0"][:, new],
                                          base.arrays["dense.0"][:, old])
    np.testing.assert_array_equal(tuned.arrays["rnn.1"], base.arrays["rnn.1"])


def test_verbo_models_lists_shipped_and_own_models(own_model, tmp_path):
    models = own_model / "models"
    (models / "gru").mkdir(exist_ok=True)  # an own model named like a shipped one
    for name in ("spec.json", "metrics.json"):
        (models / "gru" / name).write_text((models / "mio" / name).read_text())
    result = subprocess.run([sys.executable, "-m", "verbo", "models"], capture_output=True,
                            text=True, env=dict(os.environ, VERBO_MODELS=str(models)),
                            timeout=60, cwd=tmp_path)
    rows = {line.split(" | ")[0].strip("| "): line for line in result.stdout.splitlines()
            if line.startswith("| ") and "---" not in line}
    assert "incluido" in rows["lstm"] and "biblia" in rows["lstm"]
    assert "tuyo" in rows["mio"] and "| mio |" in rows["mio"]
    assert "oculto" in result.stdout  # the own "gru" does not silently replace the shipped one


def test_the_learning_curve_is_a_png(own_model):
    import matplotlib.image

    path = own_model / "models" / "mio" / "curva.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert matplotlib.image.imread(path).shape[2] in (3, 4)


@pytest.mark.parametrize("content,message", [
    (b"hola mundo, \xe9sta no es UTF-8\n" * 200, "no es UTF-8"),
    (b"", "vac"),
    ("😀" * 3000, "espacios"),
    ("hola mundo " * 10, "demasiado corto"),
])
def test_bad_corpora_are_refused_clearly(tmp_path, content, message):
    path = tmp_path / "malo.txt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(CorpusError, match=message):
        load_text_corpus(path)


def test_the_cli_names_the_byte_that_is_not_utf8(tmp_path):
    (tmp_path / "malo.txt").write_bytes("línea uno\n".encode() * 3 + b"caf\xe9\n")
    result = subprocess.run([sys.executable, "-m", "verbo", "train", "--corpus",
                             str(tmp_path / "malo.txt")], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "0xe9" in result.stderr and "línea 4" in result.stderr


def test_an_own_model_may_not_take_a_shipped_name(tmp_path):
    (tmp_path / "mio.txt").write_text(own_text(), encoding="utf-8")
    with pytest.raises(TrainingError, match="modelo incluido"):
        train(TrainConfig(corpus=str(tmp_path / "mio.txt"), name="gru", **TINY),
              say=lambda *_: None)


def test_a_fine_tune_needs_the_same_cell_and_sizes(tiny_models, tmp_path):
    (tmp_path / "mio.txt").write_text(own_text(), encoding="utf-8")
    cfg = TrainConfig(corpus=str(tmp_path / "mio.txt"), name="otro", out_dir=str(tmp_path / "o"),
                      checkpoint_dir=str(tmp_path / "ck"), warm_start=str(tiny_models["gru"]),
                      **(TINY | {"units": 48}))
    with pytest.raises(TrainingError, match="units 32 ≠ 48"):
        train(cfg, say=lambda *_: None)
