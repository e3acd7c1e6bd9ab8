"""save_result / load_result: NIfTI + TSV + JSON, equal on reload, atomic, no pickle."""
import json

import numpy as np
import pytest

from brainviz.backend import ConnectivityJob, DecodingJob, RegionJob, load_result, save_result
from brainviz.exceptions import ResultError


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_decoding_result_roundtrip(decoding_data, tmp_path):
    import nibabel as nib

    img_path = tmp_path / "bold.nii.gz"
    nib.save(decoding_data["img"], img_path)
    res = DecodingJob(classes=["face", "house"], n_permutations=3, memory=False).run(
        img_path, decoding_data["labels"], runs=decoding_data["runs"], mask=decoding_data["mask"])
    out = save_result(res, tmp_path / "res")
    names = _files(out)
    assert "result.json" in names and "scores.tsv" in names and "confusion.tsv" in names
    assert any(n.startswith("weight_maps_") and n.endswith("_face.nii.gz") for n in names)
    assert all(n.endswith((".json", ".tsv", ".nii.gz")) for n in names)  # never a pickle
    doc = json.loads((out / "result.json").read_text())
    assert doc["kind"] == "decoding" and doc["parameters"]["estimator"] == "svc"
    assert doc["fields"]["mean_score_"] == res.mean_score_
    assert doc["inputs"][0]["name"] == str(img_path) and len(doc["inputs"][0]["sha256"]) == 64
    assert {"nilearn", "sklearn", "brainviz"} <= set(doc["versions"])
    back = load_result(out)
    assert back == res
    assert back.classes_ == ["face", "house"] and back.confusion_.dtype.kind == "i"
    np.testing.assert_array_equal(back.scores_, res.scores_)
    with pytest.raises(ResultError, match="already exists and is not empty"):
        save_result(res, out)
    save_result(res, out, overwrite=True)
    assert load_result(out) == res


def test_region_and_connectivity_results_roundtrip(resting_data, tmp_path):
    reg = RegionJob(n_components=3, smoothing_fwhm=None, memory=False).run(
        resting_data["imgs"], mask=resting_data["mask"])
    assert load_result(save_result(reg, tmp_path / "reg")) == reg
    con = ConnectivityJob(kind="tangent", memory=False).run(reg)
    out = save_result(con, tmp_path / "con")
    assert "matrix.tsv" in _files(out) and "matrices_000.tsv" in _files(out)
    back = load_result(out)
    assert back == con and back.matrices_.shape == (3, 3, 3) and back.kind_ == "tangent"
    # a changed value makes results unequal
    back.matrix_ = back.matrix_ + 1e-9
    assert back != con


def test_interrupted_save_leaves_nothing(decoding_data, tmp_path, monkeypatch):
    import nibabel as nib

    res = DecodingJob(classes=["face", "house"], memory=False).run(
        decoding_data["img"], decoding_data["labels"], runs=decoding_data["runs"])
    calls = []

    def failing_save(img, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(img, path)

    real = nib.save
    monkeypatch.setattr(nib, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        save_result(res, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a temporary one


def test_load_result_errors(tmp_path):
    with pytest.raises(ResultError, match="not a brainviz result folder"):
        load_result(tmp_path)
    (tmp_path / "result.json").write_text("{broken")
    with pytest.raises(ResultError, match="not valid JSON"):
        load_result(tmp_path)


def test_a_saved_result_keeps_its_images_in_memory(tmp_path):
    """save_result writes into a temporary folder renamed into place; nibabel's save
    pointed the result's own images at the temporary folder's files, which are gone
    after the rename (a job given such a map, keyed by its file, then failed)."""
    import nibabel as nib

    from brainviz.backend.decoding import DecodingResult

    affine = np.eye(4)
    maps = {c: nib.Nifti1Image(np.full((3, 3, 3), k + 1.0, np.float32), affine)
            for k, c in enumerate(["a", "b", "c"])}
    mask = nib.Nifti1Image(np.ones((3, 3, 3), np.uint8), affine)
    result = DecodingResult(params={}, scores_=np.array([0.5]), mean_score_=0.5,
                            chance_level_=1 / 3, classes_=list(maps),
                            confusion_=np.eye(3, dtype=int), weight_maps_=maps,
                            mask_img_=mask)
    save_result(result, tmp_path / "res")
    assert [img.get_filename() for img in maps.values()] == [None, None, None]
    assert mask.get_filename() is None
    back = load_result(tmp_path / "res")
    assert np.array_equal(back.weight_maps_["c"].get_fdata(), maps["c"].get_fdata())
