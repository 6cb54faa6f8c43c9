"""The serving install needs no TensorFlow: the console answers, and `verbo train` names the extra.

The environment without TensorFlow is real: a folder that links every installed package except
tensorflow and keras, used as the only site directory of a fresh interpreter (`python -S`)."""
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HIDDEN = ("tensorflow", "keras", "tf_keras", "tensorboard")
ONNX = ("onnxruntime", "onnx")


def site_without(tmp_path_factory, hidden: tuple[str, ...]) -> str:
    """PYTHONPATH for a site-packages holding everything installed but `hidden`."""
    site = tmp_path_factory.mktemp("site")
    installed = Path(sysconfig.get_paths()["purelib"])
    for entry in installed.iterdir():
        if not entry.name.lower().startswith(hidden):
            (site / entry.name).symlink_to(entry)
    return os.pathsep.join([str(ROOT), str(site)])


@pytest.fixture(scope="module")
def without_tensorflow(tmp_path_factory):
    return site_without(tmp_path_factory, HIDDEN)


@pytest.fixture(scope="module")
def without_onnxruntime(tmp_path_factory):
    """A platform without ONNX Runtime wheels (nor TensorFlow)."""
    return site_without(tmp_path_factory, HIDDEN + ONNX)


def run(args, pythonpath, tmp_path, **env):
    environment = dict(os.environ, PYTHONPATH=pythonpath, VERBO_DB=str(tmp_path / "db.sqlite3"),
                       VERBO_HISTORY=str(tmp_path / "h"), **env)
    return subprocess.run([sys.executable, "-S", *args], capture_output=True, text=True,
                          env=environment, cwd=tmp_path, timeout=120)


def test_tensorflow_is_really_hidden(without_tensorflow, tmp_path):
    result = run(["-c", "import tensorflow"], without_tensorflow, tmp_path)
    assert result.returncode != 0 and "No module named 'tensorflow'" in result.stderr


def test_the_console_serves_the_shipped_model_without_tensorflow(without_tensorflow, tmp_path):
    check = ("import sys, engine, bot.commands, bot.repl, bot.discord_bot, verbo.cli; "
             "assert not {'tensorflow', 'keras'} & set(sys.modules), 'serving imported Keras'")
    result = run(["-c", check], without_tensorflow, tmp_path)
    assert result.returncode == 0, result.stderr
    result = run(["-m", "verbo", "ask", "!probabilidad dios"], without_tensorflow, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "bits/carácter" in result.stdout


def test_the_console_serves_in_int8_and_says_so(without_tensorflow, tmp_path):
    result = run(["-m", "verbo", "ask", "!estado"], without_tensorflow, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cálculo: int8 (ONNX Runtime + Numba)" in result.stdout


def test_without_onnxruntime_auto_serves_in_float32_and_int8_names_the_package(
        without_onnxruntime, tmp_path):
    result = run(["-c", "import onnxruntime"], without_onnxruntime, tmp_path)
    assert "No module named 'onnxruntime'" in result.stderr
    result = run(["-m", "verbo", "ask", "!estado"], without_onnxruntime, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cálculo: float32 (NumPy)" in result.stdout
    result = run(["-m", "verbo", "ask", "!estado"], without_onnxruntime, tmp_path,
                 VERBO_BACKEND="int8")
    assert result.returncode != 0
    assert "ONNX Runtime" in result.stderr and "Traceback" not in result.stderr


def test_train_without_the_extra_names_it(without_tensorflow, tmp_path):
    result = run(["-m", "verbo", "train", "--epochs", "1"], without_tensorflow, tmp_path)
    assert result.returncode == 2
    assert "verbo[train]" in result.stderr and "Traceback" not in result.stderr


def test_the_engine_names_no_front_end_command():
    # the prefix is the front-ends' business: the engine's messages say what happened, the fronts
    # add which of their commands helps
    import re

    for path in (ROOT / "engine").glob("*.py"):
        assert not re.search(r"!(para|reinicia|modelo|continua|temperatura)\b", path.read_text()), \
            path.name
