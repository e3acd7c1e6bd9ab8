"""The headless commands: brainviz decode | regions | connectivity | cache."""
import numpy as np
import pytest

from brainviz.backend import load_result
from brainviz.cli import main


@pytest.fixture
def files(decoding_data, tmp_path):
    import nibabel as nib

    bold = tmp_path / "bold.nii.gz"
    nib.save(decoding_data["img"], bold)
    mask = tmp_path / "mask.nii.gz"
    nib.save(decoding_data["mask"], mask)
    tsv = tmp_path / "events.tsv"
    rows = ["trial_type\trun"] + [f"{lab}\t{run}" for lab, run in
                                  zip(decoding_data["labels"], decoding_data["runs"])]
    tsv.write_text("\n".join(rows) + "\n")
    return {"bold": bold, "mask": mask, "tsv": tsv, "dir": tmp_path}


@pytest.mark.shared_data
def test_decode_haxby_attributes_file(haxby_slice, tmp_path, capsys):
    out = tmp_path / "res"
    status = main(["decode", str(haxby_slice / "bold.nii.gz"), "--labels",
                   str(haxby_slice / "attributes_literal.txt"), "--mask",
                   str(haxby_slice / "mask.nii.gz"), "--classes", "face,house", "--C", "0.01",
                   "-o", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "%|" not in captured.err  # no progress bar when stderr is not a terminal
    assert "12 folds" in captured.out and str(out) in captured.out
    res = load_result(out)
    assert res.mean_score_ >= 0.9 and res.classes_ == ["face", "house"]
    # the result's views are written beside it
    for name in ("scores.png", "scores.svg", "confusion.png", "confusion.svg"):
        assert (out / name).stat().st_size > 0


def test_decode_tsv_labels_exclude_and_cache_commands(files, capsys):
    cache_dir = files["dir"] / "cache"
    args = ["decode", str(files["bold"]), "--labels", str(files["tsv"]), "--exclude", "rest",
            "--mask", str(files["mask"]), "--cache-dir", str(cache_dir), "-q"]
    assert main(args + ["-o", str(files["dir"] / "r1")]) == 0
    res = load_result(files["dir"] / "r1")
    assert res.classes_ == ["face", "house"] and len(res.scores_) == 4
    capsys.readouterr()
    assert main(["cache", "size", "--cache-dir", str(cache_dir)]) == 0
    assert "in 3 entries" in capsys.readouterr().out
    assert main(["cache", "list", "--cache-dir", str(cache_dir)]) == 0
    listing = capsys.readouterr().out
    assert "decoding: fit" in listing and "decoding: masking" in listing
    assert "estimator=svc" in listing
    assert main(["cache", "clear", "--cache-dir", str(cache_dir)]) == 0
    assert "cleared" in capsys.readouterr().out
    main(["cache", "list", "--cache-dir", str(cache_dir)])
    assert "is empty" in capsys.readouterr().out


def test_decode_writes_the_confusion_in_shares_when_asked(files, capsys):
    """``--confusion true`` (scikit-learn's normalize) writes confusion.png/.svg in each
    true class's share, as the window's "Confusion" choice and result.plot() do; by
    default the counts. A choice it does not know is one line naming it."""
    base = ["decode", str(files["bold"]), "--labels", str(files["tsv"]), "--mask",
            str(files["mask"]), "--no-cache", "-q"]
    assert main(base + ["-o", str(files["dir"] / "counts")]) == 0
    assert main(base + ["--confusion", "true", "-o", str(files["dir"] / "shares")]) == 0
    counts = (files["dir"] / "counts" / "confusion.svg").read_text()
    shares = (files["dir"] / "shares" / "confusion.svg").read_text()
    assert "confusion (summed over folds)" in counts and "share of" not in counts
    assert "confusion: share of true class" in shares
    result = load_result(files["dir"] / "shares")
    rows = result.confusion_ / result.confusion_.sum(axis=1, keepdims=True)
    for value in np.diag(rows):  # each class's recall, written in two digits
        assert f">{value:.2g}<" in shares
    assert (files["dir"] / "shares" / "confusion.png").stat().st_size > 0
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(base + ["--confusion", "rows", "-o", str(files["dir"] / "bad")])
    err = capsys.readouterr().err
    assert "--confusion" in err and "'rows'" in err and "counts" in err
    assert not (files["dir"] / "bad").exists()


def test_decode_bad_input_one_line_reason(files, capsys):
    short = files["dir"] / "short.txt"
    short.write_text("face 0\nhouse 1\n")
    status = main(["decode", str(files["bold"]), "--labels", str(short), "--no-cache",
                   "-o", str(files["dir"] / "bad")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert err[-1] == ("brainviz decode: error: There are 2 labels but 48 volumes in "
                       f"{files['bold']}: give one label per volume.")
    assert not (files["dir"] / "bad").exists()
    with pytest.raises(SystemExit) as exit_info:  # argparse refuses it, listing the choices
        main(["decode", str(files["bold"]), "--labels", str(files["tsv"]),
              "--estimator", "svm", "--no-cache", "-o", str(files["dir"] / "bad")])
    assert exit_info.value.code == 2
    assert "invalid choice: 'svm' (choose from 'svc', 'logistic_l1'" in capsys.readouterr().err
    assert not (files["dir"] / "bad").exists()


def test_regions_then_connectivity(resting_data, tmp_path, capsys):
    import nibabel as nib

    paths = []
    for i, img in enumerate(resting_data["imgs"]):
        paths.append(str(tmp_path / f"sub-{i}.nii.gz"))
        nib.save(img, paths[-1])
    mask = tmp_path / "mask.nii.gz"
    nib.save(resting_data["mask"], mask)
    capsys.readouterr()
    # without a mask nilearn's EPI mask is empty on this synthetic data: a one-line error
    assert main(["regions", *paths, "--n-components", "3", "--no-cache", "-q",
                 "-o", str(tmp_path / "reg")]) == 1
    assert "regions failed: The mask is invalid as it is empty" in capsys.readouterr().err
    assert main(["regions", *paths, "--n-components", "3", "--smoothing", "0", "--no-cache",
                 "--mask", str(mask), "-q", "-o", str(tmp_path / "reg")]) == 0
    reg = load_result(tmp_path / "reg")
    assert reg.components_img_.shape[3] == 3 and len(reg.timeseries_) == 3
    assert (tmp_path / "reg" / "regions.png").is_file() and (tmp_path / "reg" / "regions.svg").is_file()
    assert main(["connectivity", "--from-regions", str(tmp_path / "reg"), "--kind",
                 "partial correlation", "-q", "-o", str(tmp_path / "con")]) == 0
    con = load_result(tmp_path / "con")
    assert con.matrix_.shape == (3, 3) and con.kind_ == "partial correlation"
    assert (tmp_path / "con" / "matrix.png").is_file() and (tmp_path / "con" / "matrix.svg").is_file()
    labels = np.zeros((10, 11, 9), np.int16)
    for i, m in enumerate(resting_data["maps"]):
        labels[m > 0.3] = i + 1
    atlas = tmp_path / "atlas.nii.gz"
    nib.save(nib.Nifti1Image(labels, resting_data["affine"]), atlas)
    assert main(["connectivity", *paths, "--atlas", str(atlas), "--no-cache", "-q",
                 "-o", str(tmp_path / "con2")]) == 0
    assert load_result(tmp_path / "con2").labels_ == ["region 1", "region 2", "region 3"]
    capsys.readouterr()
    assert main(["connectivity", *paths, "--atlas", str(tmp_path / "nope.nii.gz"), "--no-cache",
                 "-o", str(tmp_path / "con3")]) == 1
    assert "nope.nii.gz" in capsys.readouterr().err
