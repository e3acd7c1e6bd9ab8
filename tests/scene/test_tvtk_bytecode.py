"""TVTK's wrapper classes from kept bytecode (brainviz.scene._tvtk_bytecode)."""
import os
import subprocess
import sys

import pytest

_CODE = """
import sys, zipimport
compiled = []
original = zipimport._compile_source
zipimport._compile_source = lambda path, source: compiled.append(path) or original(path, source)
from brainviz.scene._tvtk_bytecode import keep_tvtk_bytecode
assert keep_tvtk_bytecode() and not keep_tvtk_bytecode()
from tvtk.api import tvtk
image = tvtk.ImageData(dimensions=(2, 3, 4))
helper = sys.modules["tvtk.tvtk_classes.tvtk_helper"]
print(type(helper.__loader__).__name__, helper.__file__.endswith("tvtk_helper.py"),
      image.number_of_points, sum(p.endswith("tvtk_helper.py") for p in compiled))
"""


def _run(data_dir):
    env = dict(os.environ, BRAINVIZ_DATA_DIR=str(data_dir))
    proc = subprocess.run([sys.executable, "-c", _CODE], capture_output=True, text=True,
                          env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[-4:]


def test_tvtk_classes_are_compiled_once_and_loaded_from_kept_bytecode(tmp_path):
    pytest.importorskip("tvtk")
    # first process: compiled by us, kept; the zip importer compiles none of them
    assert _run(tmp_path) == ["_Loader", "True", "24", "0"]
    kept = list((tmp_path / "tvtk_bytecode").glob("*/tvtk_helper.pyc"))
    assert len(kept) == 1
    # second process: the same classes from the kept files
    stamp = kept[0].stat().st_mtime_ns
    assert _run(tmp_path) == ["_Loader", "True", "24", "0"]
    assert kept[0].stat().st_mtime_ns == stamp
    # a damaged file counts as absent: compiled again and rewritten
    kept[0].write_bytes(b"not bytecode")
    assert _run(tmp_path) == ["_Loader", "True", "24", "0"]
    assert kept[0].read_bytes()[:4] != b"not "
