"""The CLI's enumerated options come from the backend through argparse choices; progress; warnings."""
import io
import os
import subprocess
import sys

import pytest

from brainviz.cli import build_parser, main

# command -> (module of its job under brainviz.backend, job class)
_JOBS = {"decode": ("decoding", "DecodingJob"), "regions": ("regions", "RegionJob"),
         "connectivity": ("connectivity", "ConnectivityJob")}


def _subparser(command):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sub.choices[command]


@pytest.mark.parametrize("command", sorted(_JOBS))
def test_every_enumerated_job_parameter_is_an_argparse_choice(command):
    import importlib

    module, name = _JOBS[command]
    job = getattr(importlib.import_module(f"brainviz.backend.{module}"), name)
    options = {a.dest: a for a in _subparser(command)._actions}
    offered = [p for p in job._choices if p in options]
    assert offered, f"brainviz {command} offers none of {sorted(job._choices)}"
    for parameter in offered:
        assert options[parameter].choices is not None, f"--{parameter} of {command} is free text"
        assert list(options[parameter].choices) == list(job._choices[parameter])
    from brainviz.backend._parallel import _BACKENDS

    assert list(options["backend"].choices) == list(_BACKENDS)


def test_invalid_estimator_lists_the_allowed_values(capsys):
    from brainviz.backend import DecodingJob

    with pytest.raises(SystemExit) as exit_info:
        main(["decode", "bold.nii.gz", "--labels", "labels.txt", "-o", "out", "--estimator", "svm"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --estimator: invalid choice: 'svm'" in err
    for name in DecodingJob._choices["estimator"]:
        assert repr(name) in err or f" {name}" in err, (name, err)


def test_help_lists_the_choices(capsys):
    with pytest.raises(SystemExit):
        main(["connectivity", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "one of: correlation, partial correlation, tangent, covariance, sparse inverse" in out


def test_building_the_parser_imports_no_scikit_learn():
    code = ("import sys; from brainviz.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'nilearn')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_shows_rate_and_time_left_on_a_terminal():
    from brainviz.cli._jobs import _Bar

    stream = _Terminal()
    bar = _Bar("decode", stream=stream)
    for i in range(5):
        bar(i / 4, f"fold {i}/4")
    bar.close()
    last = stream.getvalue().rstrip("\n").split("\r")[-1]
    # e.g. "decode: 100%|##########| [00:00<00:00, 81.20%/s], fold 4/4"
    assert last.startswith("decode: 100%|"), last
    assert "%/s]" in last and "<" in last and last.endswith("fold 4/4"), last


@pytest.mark.parametrize("quiet, stream", [(False, io.StringIO()), (True, _Terminal())])
def test_progress_bar_silent_off_a_terminal_or_when_quiet(quiet, stream):
    from brainviz.cli._jobs import _Bar

    bar = _Bar("decode", quiet=quiet, stream=stream)
    bar(0.5, "half")
    bar(1.0, "done")
    bar.close()
    assert stream.getvalue() == ""


_TRAITS_HOME = ("import warnings; warnings.simplefilter('default'); {imp}"
                "from traits.etsconfig.api import ETSConfig; ETSConfig.application_data")


@pytest.mark.parametrize("imp, warned", [("", True), ("import brainviz; ", False)])
def test_traits_home_warning_silenced(imp, warned, tmp_path):
    """traits takes HOME=/root for no home; brainviz keeps its warning off the user's screen."""
    env = dict(os.environ, HOME="/root", USER=f"brainviz-test-{os.getpid()}", TMPDIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", _TRAITS_HOME.format(imp=imp)], env=env,
                         capture_output=True, text=True, check=True)
    assert ('Environment variable "HOME" not set' in out.stderr) is warned, out.stderr
