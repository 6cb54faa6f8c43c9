"""`verbo bench peers`: the engine's side runs, a peer whose library is missing is listed as not
installed (never a crash), and each installed peer computes the engine's own model; `verbo
bench` puts the best installed peer beside the engine.

The peers' libraries (the `peers` extra) are not part of the test install: their tests skip
where they are missing.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from bench import engine_bench, peers, peers_bench
from bench.engine_bench import PEER_CHANNELS, peers_table
from engine.kernel import CellKernel
from engine.weights import REPO_WEIGHTS, load_model_folder

WEIGHTS = REPO_WEIGHTS / "gru"


class GhostPeer(peers.Peer):
    label = "Ghost runtime"
    needs = ("verbo_no_such_library",)


def test_a_missing_peer_is_listed_and_the_engine_still_measured(monkeypatch, capsys):
    monkeypatch.setitem(peers.PEERS, "ghost", GhostPeer)
    code = peers_bench.main(["--peers", "ghost", "--rows", "2", "--steps", "5", "--no-limits"])
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"\| Ghost runtime \| no instalado \(verbo_no_such_library\) \|", out)
    engine_row = next(line for line in out.splitlines() if "motor de verbo" in line)
    assert float(engine_row.split("|")[2].replace(",", "")) > 0, engine_row
    # no peer ran, so there is no ratio to the best one
    ratio_row = next(line for line in out.splitlines() if "motor / mejor par" in line)
    assert ratio_row.split("|")[2].strip() == "—"


def test_the_engine_child_generates_the_requested_characters():
    answer = peers_bench.time_engine(WEIGHTS, rows=3, steps=7, arithmetic="numpy")
    assert answer["rate"] > 0 and answer["p99"] >= answer["p50"] > 0
    assert answer["computed_by"] == CellKernel(load_model_folder(WEIGHTS), "numpy").label


def test_log_probabilities_follow_the_kernels_scoring():
    """The check's trace is the kernel's own scoring: its bits/char on a text are the batch
    scorer's."""
    from engine.batch import score_sequences

    folder = load_model_folder(WEIGHTS)
    kernel = CellKernel(folder, "numpy")
    ids = folder.vocab.encode("en el principio era el verbo")[0].astype(np.int64)
    traced = peers_bench.log_probabilities(kernel.step, ids, kernel.zero_states(1),
                                           folder.vocab.start_id)
    scored = score_sequences(kernel, [ids])[0]
    np.testing.assert_allclose(traced, scored, atol=1e-4)


@pytest.mark.parametrize("name,library", [("torch_fp32", "torch"), ("openvino_fp32", "openvino")])
def test_a_float32_peer_computes_the_engines_model(name, library):
    pytest.importorskip(library)
    answer = peers_bench.check(name, WEIGHTS, 60)
    assert answer["precision"] == "fp32"
    assert answer["max_difference"] < peers_bench.FLOAT_TOLERANCE
    assert answer["bits"] == pytest.approx(answer["fp32_bits"], abs=1e-4)


@pytest.mark.parametrize("name,library", [("torch_int8", "torch"), ("openvino", "openvino")])
def test_a_reduced_precision_peer_runs_its_loop(name, library):
    pytest.importorskip(library)
    peer = peers.PEERS[name](load_model_folder(WEIGHTS))
    assert peer.loop(rows=2, steps=3) > 0
    logits, states = peer.step(np.array([1, 2]), np.zeros((2, peer.spec.units), np.float32))
    assert logits.shape == (2, peer.spec.vocab_size) and states.shape == (2, peer.spec.units)



def table_row(table: str, channels: int) -> list[str]:
    line = next(line for line in table.splitlines() if line.startswith(f"| {channels} |"))
    return [cell.strip() for cell in line.split("|")[1:-1]]


def test_verbo_bench_says_no_peer_is_installed(monkeypatch):
    monkeypatch.setattr(peers_bench, "PEERS", {"ghost": GhostPeer})
    measured = {channels: (1000.0, 0.1, 0.2) for channels in PEER_CHANNELS}
    table = peers_table(WEIGHTS, measured, quick=True)
    for channels in PEER_CHANNELS:
        assert table_row(table, channels) == [str(channels), "no instalado", "1,000", "—"]
    assert "Ghost runtime: no instalado (verbo_no_such_library)" in table


def test_verbo_bench_puts_the_best_installed_peer_beside_the_engine(monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setattr(peers_bench, "PEERS", {"ghost": GhostPeer, "torch_fp32": peers.TorchFloat32})
    monkeypatch.setattr(engine_bench, "PEER_CHANNELS", (2,))
    table = peers_table(WEIGHTS, {2: (1000.0, 0.1, 0.2)}, quick=True)
    _, peer, ours, ratio = table_row(table, 2)
    rate = float(peer.split(" (")[0].replace(",", ""))
    assert peer.endswith(f"({peers.TorchFloat32.label})") and rate > 0 and ours == "1,000"
    # the ratio of the unrounded rate, to two decimals; the table shows the rate rounded to a unit
    assert ratio.endswith("×")
    assert abs(float(ratio[:-1]) - 1000.0 / rate) <= 0.005 + 1000.0 * 0.5 / rate**2
