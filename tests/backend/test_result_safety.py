"""Result folders: checked before computing, saved atomically and exclusively, read back
only after their schema is checked, never followed out of the folder."""
import errno
import json
import multiprocessing
import os
import signal
import time

import pytest

from brainviz.backend import DecodingJob, load_result, save_result
from brainviz.backend import decoding as dec
from brainviz.backend import results
from brainviz.cli import main
from brainviz.exceptions import OutputExistsError, ResultError


@pytest.fixture(scope="module")
def result(decoding_data):
    return DecodingJob(classes=["face", "house"], memory=False).run(
        decoding_data["img"], decoding_data["labels"], runs=decoding_data["runs"],
        mask=decoding_data["mask"])


@pytest.fixture
def cli_files(decoding_data, tmp_path):
    import nibabel as nib

    bold = tmp_path / "bold.nii.gz"
    nib.save(decoding_data["img"], bold)
    tsv = tmp_path / "events.tsv"
    tsv.write_text("trial_type\trun\n" + "".join(
        f"{lab}\t{run}\n" for lab, run in zip(decoding_data["labels"], decoding_data["runs"])))
    return ["decode", str(bold), "--labels", str(tsv), "--classes", "face,house", "--no-cache",
            "-q"]


@pytest.fixture
def masking_calls(monkeypatch):
    calls = []
    real = dec._mask_image

    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(dec, "_mask_image", counted)
    return calls


# --- saving -----------------------------------------------------------------------------
def test_result_folder_and_files_get_the_users_umask(result, tmp_path):
    old = os.umask(0o022)
    try:
        folder = save_result(result, tmp_path / "shared" / "res")
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o755  # a lab's shared server can read it
    assert (folder / "result.json").stat().st_mode & 0o777 == 0o644


def test_two_saves_to_one_folder_one_wins_and_the_other_fails(result, decoding_data, tmp_path,
                                                               monkeypatch):
    import nibabel as nib

    other = DecodingJob(classes=["face", "house"], memory=False, C=0.01)
    other_result = other.run(decoding_data["img"], decoding_data["labels"],
                             runs=decoding_data["runs"], mask=decoding_data["mask"])
    folder = tmp_path / "res"
    real_save = nib.save
    state = {"raced": False}

    def save_while_another_process_saves(img, path):
        if not state["raced"]:
            state["raced"] = True
            save_result(other_result, folder)  # the other process finishes first
        return real_save(img, path)

    monkeypatch.setattr(nib, "save", save_while_another_process_saves)
    with pytest.raises(OutputExistsError, match=r"filled by another process"):
        save_result(result, folder)
    monkeypatch.setattr(nib, "save", real_save)
    assert load_result(folder) == other_result  # not silently replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def _slow_save_child(result, folder, flag):
    import nibabel as nib

    real = nib.save

    def slow(img, path):
        real(img, path)
        open(flag, "w").close()
        time.sleep(60)

    nib.save = slow
    save_result(result, folder)


def test_killed_save_leaves_nothing_and_its_temporary_folder_is_removed_next_time(
        result, tmp_path):
    flag = tmp_path / "writing"
    proc = multiprocessing.get_context("fork").Process(
        target=_slow_save_child, args=(result, tmp_path / "res", str(flag)))
    proc.start()
    deadline = time.time() + 60
    while not flag.exists() and time.time() < deadline and proc.is_alive():
        time.sleep(0.05)
    assert flag.exists()
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(10)
    flag.unlink()
    left = [p.name for p in tmp_path.iterdir()]
    assert "res" not in left and len(left) == 1 and left[0].startswith(".res.bvtmp_")
    save_result(result, tmp_path / "res")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]
    assert load_result(tmp_path / "res") == result


def test_a_write_error_mid_save_is_one_line_and_leaves_nothing(result, tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    # every table goes through one of these (headed tables or bare ones)
    monkeypatch.setattr(results.np, "savetxt", no_space)
    monkeypatch.setattr(results, "_write_table", no_space)
    with pytest.raises(ResultError, match=r"Could not save the result to .*res: No space left"):
        save_result(result, tmp_path / "res")
    assert list(tmp_path.iterdir()) == []


# --- checked before computing -------------------------------------------------------------
def _one_line(capsys):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_output_under_a_file_fails_before_computing(cli_files, tmp_path, capsys, masking_calls):
    (tmp_path / "afile").write_text("x")
    assert main(cli_files + ["-o", str(tmp_path / "afile" / "out")]) == 1
    line = _one_line(capsys)
    assert "afile is a file, not a folder" in line and masking_calls == []


def test_output_on_a_read_only_file_system_fails_before_computing(
        cli_files, tmp_path, capsys, masking_calls, tmpfs, monkeypatch):
    where = tmpfs("ro", ro=True)
    if where is None:  # no tmpfs here: a file system that refuses every new entry
        where = tmp_path / "ro"
        real_mkdir = os.mkdir

        def read_only(path, *a, **k):
            if str(path).startswith(str(where)):
                raise OSError(errno.EROFS, "Read-only file system")
            return real_mkdir(path, *a, **k)

        monkeypatch.setattr(os, "mkdir", read_only)
    assert main(cli_files + ["-o", str(where / "out")]) == 1
    line = _one_line(capsys)
    assert "is not writable (the file system is read-only)" in line and masking_calls == []


def test_output_on_a_full_disk_fails_before_computing(cli_files, tmp_path, capsys, masking_calls,
                                                      tmpfs, monkeypatch):
    where = tmpfs("full", size="64k")
    if where is None:
        from brainviz import _files

        where = tmp_path / "full"
        monkeypatch.setattr(_files.shutil, "disk_usage",
                            lambda p: type("U", (), {"free": 1000})())
    else:
        (where / "filler").write_bytes(b"0" * 60_000)
    assert main(cli_files + ["-o", str(where / "out")]) == 1
    line = _one_line(capsys)
    assert "Not enough free space for the result folder" in line and masking_calls == []


def test_bad_environment_setting_fails_before_masking(cli_files, decoding_data, tmp_path, capsys,
                                                      masking_calls, monkeypatch):
    monkeypatch.setenv("BRAINVIZ_CACHE_MAX_BYTES", "abc")
    assert main(cli_files + ["-o", str(tmp_path / "out")]) == 1
    assert "cache size cap must be a whole number" in _one_line(capsys)
    assert masking_calls == []
    # the library checks it first too, whoever calls it
    with pytest.raises(ValueError, match="cache size cap"):
        DecodingJob(memory=False).run(decoding_data["img"], decoding_data["labels"],
                                      runs=decoding_data["runs"])
    assert masking_calls == []


def test_cli_says_overwrite_in_its_own_words(cli_files, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    real_run = DecodingJob.run

    def run_while_someone_fills_the_folder(self, *a, **k):
        res = real_run(self, *a, **k)
        out.mkdir()
        (out / "theirs.txt").write_text("x")
        return res

    monkeypatch.setattr(DecodingJob, "run", run_while_someone_fills_the_folder)
    assert main(cli_files + ["-o", str(out)]) == 1
    line = _one_line(capsys)
    assert "--overwrite" in line and "overwrite=True" not in line
    assert (out / "theirs.txt").read_text() == "x"


# --- reading back -------------------------------------------------------------------------
def _tampered(result, tmp_path, name, edit):
    folder = save_result(result, tmp_path / name)
    doc = json.loads((folder / "result.json").read_text())
    out = edit(doc, folder)
    if isinstance(out, (str, dict, list)):  # a replacement document
        doc = out
    if isinstance(doc, (dict, list)):
        (folder / "result.json").write_text(json.dumps(doc))
    else:
        (folder / "result.json").write_text(doc)
    return folder


def _drop(doc, key):
    del doc[key]


def _deep(n):
    return "[" * n + "]" * n


TAMPERED = {
    "wrong score type": (lambda d, f: d["fields"].update(mean_score_="high"),
                         r"fields\.mean_score_: expected a number"),
    "classes not a list": (lambda d, f: d["fields"].update(classes_={"a": 1}),
                           r"fields\.classes_: expected a list"),
    "missing files": (lambda d, f: _drop(d, "files"),
                      r"files: expected a value \(the key is missing\)"),
    "missing kind": (lambda d, f: _drop(d, "kind"), r"not a brainviz result"),
    "unknown kind": (lambda d, f: d.update(kind="pickle"), r"not a brainviz result"),
    "huge shape": (lambda d, f: d["files"]["scores_"].update(shape=[10**12]),
                   r"files\.scores_\.shape\[0\]: expected a whole number in \[0, 2\.14748e\+09\]"),
    "shape product": (lambda d, f: d["files"]["scores_"].update(shape=[2**31, 2**31]),
                      r"files\.scores_\.shape: expected at most"),
    "huge number": (lambda d, f: d["fields"].update(n_voxels_=10**400),
                    r"fields\.n_voxels_: expected a number of magnitude at most 1e\+300; got"),
    "infinite number": (lambda d, f: '{"format": "brainviz-result", "format_version": 1, '
                        '"kind": "decoding", "fields": {"n_samples_": 1e999}, "files": {}}',
                        r"fields\.n_samples_: expected a whole number"),
    "deep parameters": (lambda d, f: d.update(parameters={"a": json.loads(_deep(100))}),
                        r"parameters\.a.*nesting at most 32 deep"),
    "deeper than json": (lambda d, f: json.dumps(d)[:-1] + ', "x": ' + _deep(100_000) + "}",
                         r"nesting too deep"),
    "dotdot file": (lambda d, f: d["files"]["mask_img_"].update(file="../bold.nii.gz"),
                    r"files\.mask_img_\.file: expected a plain file name inside the folder"),
    "absolute file": (lambda d, f: d["files"]["mask_img_"].update(file="/etc/passwd"),
                      r"files\.mask_img_\.file: expected a plain file name"),
    "void dtype": (lambda d, f: d["files"]["scores_"].update(dtype="V16"),
                   r"files\.scores_\.dtype: expected a numeric data type"),
    "object dtype": (lambda d, f: d["files"]["scores_"].update(dtype="O"),
                     r"files\.scores_\.dtype: expected a numeric data type"),
    "items not a list": (lambda d, f: d["files"]["weight_maps_"].update(items="x"),
                         r"files\.weight_maps_\.items: expected a list"),
    "missing item file": (lambda d, f: _drop(d["files"]["weight_maps_"]["items"][0], "file"),
                          r"weight_maps_\.items\[0\]\.file: expected a value"),
    "files count": (lambda d, f: d["files"]["scores_"].update(shape=[2, 2, 1]),
                    r"files\.scores_\.files: expected 2 file\(s\)"),
    "wrong shape for the table": (lambda d, f: d["files"]["scores_"].update(shape=[5, 7]),
                                  r"scores\.tsv: expected a table of shape \[5, 7\]"),
    "garbage table": (lambda d, f: (f / "scores.tsv").write_text("x\ty\n"),
                      r"scores\.tsv: expected a table"),
    "garbage image": (lambda d, f: (f / "mask_img.nii.gz").write_bytes(b"garbage"),
                      r"mask_img\.nii\.gz: not a readable NIfTI image"),
    "document is a list": (lambda d, f: [1, 2], r"not a brainviz result"),
    "versions not text": (lambda d, f: d.update(versions={"numpy": [1]}),
                          r"versions\.numpy: expected text"),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_tampered_result_gives_one_line_naming_file_and_key(result, tmp_path, case):
    edit, message = TAMPERED[case]
    folder = _tampered(result, tmp_path, "res", edit)
    with pytest.raises(ResultError, match=message) as info:
        load_result(folder)
    text = str(info.value)
    assert "\n" not in text and str(folder) in text


def test_a_symlink_out_of_the_result_folder_is_not_followed(result, tmp_path):
    folder = save_result(result, tmp_path / "res")
    secret = tmp_path / "secret.nii.gz"
    os.replace(folder / "mask_img.nii.gz", secret)
    os.symlink(secret, folder / "mask_img.nii.gz")
    with pytest.raises(ResultError, match=r"mask_img\.nii\.gz is a symbolic link"):
        load_result(folder)
    os.unlink(folder / "mask_img.nii.gz")
    os.symlink("../secret.nii.gz", folder / "mask_img.nii.gz")  # relative, pointing out
    with pytest.raises(ResultError, match=r"is a symbolic link"):
        load_result(folder)


def test_untampered_result_still_loads(result, tmp_path):
    folder = save_result(result, tmp_path / "res")
    assert load_result(folder) == result
