"""Coordinate atlases, label images with their tables, region centroids in mm."""
import nibabel as nib
import numpy as np
import pytest

from brainviz.data.atlases import (
    CoordinateAtlas,
    LabelImage,
    load_coordinate_atlas,
    load_label_image,
    read_label_table,
    region_centroids,
)
from brainviz.exceptions import (
    DataValueError,
    DimensionError,
    EmptyFileError,
    ImageNotFoundError,
    ParameterError,
    ShapeMismatchError,
    UnsupportedFormatError,
)


# --- coordinate atlases ------------------------------------------------------
def test_csv_with_labels_and_networks_any_case(tmp_path):
    path = tmp_path / "nodes.csv"
    path.write_text("Label,X,Y,Z,Network\nPCC,-5,-52,17,default\nM1 L,-38,-15,59,motor\n")
    atlas = load_coordinate_atlas(path)
    np.testing.assert_allclose(atlas.coords, [[-5, -52, 17], [-38, -15, 59]])
    assert atlas.labels == ["PCC", "M1 L"]
    assert atlas.networks == ["default", "motor"]
    assert atlas.name == "nodes" and len(atlas) == 2
    assert atlas.select("motor").labels == ["M1 L"]


def test_tsv_without_labels_gets_numbered_names(tmp_path):
    path = tmp_path / "seeds.tsv"
    path.write_text("x\ty\tz\n1.5\t2\t3\n-4\t5\t6\n10\t11\t12\n")
    atlas = load_coordinate_atlas(path)
    assert atlas.coords.shape == (3, 3)
    assert atlas.labels == ["seeds 1", "seeds 2", "seeds 3"]
    assert atlas.networks is None
    assert atlas.network_names == []


def test_name_column_and_sniffed_delimiter(tmp_path):
    path = tmp_path / "coords.txt"
    path.write_text("name\tx\ty\tz\nleft amygdala\t-24\t-4\t-20\n")
    atlas = load_coordinate_atlas(path, name="mine")
    assert atlas.labels == ["left amygdala"] and atlas.name == "mine"


def test_coordinate_atlas_errors(tmp_path):
    with pytest.raises(ImageNotFoundError, match=r"nodes\.csv.*x, y, z"):
        load_coordinate_atlas(tmp_path / "nodes.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(EmptyFileError, match=r"empty\.csv"):
        load_coordinate_atlas(empty)
    no_z = tmp_path / "no_z.csv"
    no_z.write_text("x,y,label\n1,2,a\n")
    with pytest.raises(DataValueError, match=r"no_z\.csv.*no z column.*\['x', 'y', 'label'\]"):
        load_coordinate_atlas(no_z)
    text = tmp_path / "text.csv"
    text.write_text("x,y,z\n1,2,3\n4,five,6\n")
    with pytest.raises(DataValueError, match=r"text\.csv.*row 2.*'y'.*'five'.*not a finite number"):
        load_coordinate_atlas(text)
    header_only = tmp_path / "header.csv"
    header_only.write_text("x,y,z\n")
    with pytest.raises(DataValueError, match=r"header\.csv.*no rows"):
        load_coordinate_atlas(header_only)
    comments = tmp_path / "comments.csv"
    comments.write_text("# only a comment\n\n")
    with pytest.raises(DataValueError, match=r"comments\.csv.*holds no table"):
        load_coordinate_atlas(comments)


def test_coordinate_atlas_validation():
    with pytest.raises(DimensionError, match=r"\(n, 3\)"):
        CoordinateAtlas(np.zeros((3, 2)))
    with pytest.raises(ShapeMismatchError, match="3 coordinates but 2 labels"):
        CoordinateAtlas(np.zeros((3, 3)), labels=["a", "b"])
    with pytest.raises(DataValueError, match="non-finite"):
        CoordinateAtlas([[0, 0, np.nan]])
    atlas = CoordinateAtlas(np.zeros((2, 3)), networks=["a", "b"], name="t")
    with pytest.raises(ParameterError, match=r"Unknown network.*\['c'\].*allowed: \['a', 'b'\]"):
        atlas.select("c")


# --- label images -----------------------------------------------------------
@pytest.fixture
def label_img(tmp_path):
    """Two boxes on a (7, 8, 9) grid with a 2 mm LAS affine (x flipped)."""
    data = np.zeros((7, 8, 9), dtype=np.int16)
    data[1:3, 1:3, 1:3] = 1  # centre voxel (1.5, 1.5, 1.5)
    data[4:7, 5:8, 6:9] = 3  # centre voxel (5, 6, 7)
    affine = np.diag([-2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [10.0, -20.0, -30.0]
    path = tmp_path / "parc.nii.gz"
    nib.save(nib.Nifti1Image(data, affine), path)
    return path


def test_centroids_in_mm_through_the_affine(label_img):
    ids, xyz = region_centroids(label_img)
    assert ids.tolist() == [1, 3]
    np.testing.assert_allclose(xyz, [[10 - 3.0, -20 + 3.0, -30 + 3.0], [10 - 10.0, -20 + 12.0, -30 + 14.0]])
    parc = load_label_image(label_img, labels={1: "left box", 3: "right box"})
    assert isinstance(parc, LabelImage)
    assert parc.region_ids == [1, 3]
    assert parc.region_names == ["left box", "right box"]
    np.testing.assert_allclose(parc.centroids(), xyz)


def test_regions_without_a_name_get_a_default(label_img):
    parc = load_label_image(label_img, labels={1: "one"})
    assert parc.region_names == ["one", "region 3"]
    assert load_label_image(label_img).region_names == ["region 1", "region 3"]


def test_label_table_tsv_with_header_and_bids_colours(label_img, tmp_path):
    table = tmp_path / "parc.tsv"
    table.write_text("index\tname\tcolor\n1\tLeft Box\t#ff0000\n3\tRight Box\t#00ff80\n")
    parc = load_label_image(label_img, labels=table)
    assert parc.labels == {1: "Left Box", 3: "Right Box"}
    assert parc.colors == {1: (255, 0, 0, 255), 3: (0, 255, 128, 255)}


def test_label_table_headerless_csv_and_txt(tmp_path):
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("1,Frontal pole\n2,Insula\n")
    assert read_label_table(csv_path) == ({1: "Frontal pole", 2: "Insula"}, None)
    txt = tmp_path / "t.txt"
    txt.write_text("1 Frontal pole\n2 Insular cortex\n")
    assert read_label_table(txt)[0] == {1: "Frontal pole", 2: "Insular cortex"}


def test_label_table_freesurfer_lut(tmp_path):
    lut = tmp_path / "FreeSurferColorLUT.txt"
    lut.write_text(
        "#$Id: FreeSurferColorLUT.txt $\n\n"
        "#No. Label Name:                            R   G   B   A\n"
        "0   Unknown                                 0   0   0   0\n"
        "17  Left-Hippocampus                        220 216 20  0\n"
        "53  Right-Hippocampus                       220 216 20  0\n"
    )
    table, colors = read_label_table(lut)
    assert table == {0: "Unknown", 17: "Left-Hippocampus", 53: "Right-Hippocampus"}
    assert colors[17] == (220, 216, 20, 0)


def test_label_table_fsl_xml(tmp_path):
    xml = tmp_path / "HarvardOxford-Sub.xml"
    xml.write_text(
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<atlas version="1.0"><header>'
        "<name>Test</name><type>Label</type></header><data>"
        '<label index="0" x="1" y="2" z="3">Left Box</label>'
        '<label index="2" x="1" y="2" z="3">Right Box</label>'
        '<label index="7" value="42">Explicit value</label>'
        "</data></atlas>\n"
    )
    table, colors = read_label_table(xml)
    # FSL label atlases: image value = index + 1, unless a value attribute says otherwise
    assert table == {1: "Left Box", 3: "Right Box", 42: "Explicit value"}
    assert colors is None


def test_label_table_errors(tmp_path, label_img):
    bad_index = tmp_path / "bad.tsv"
    bad_index.write_text("1\tone\nx\ttwo\n")
    with pytest.raises(UnsupportedFormatError, match=r"bad\.tsv.*row 2.*'x' is not a whole number"):
        read_label_table(bad_index)
    dup = tmp_path / "dup.tsv"
    dup.write_text("1\tone\n1\tagain\n")
    with pytest.raises(DataValueError, match=r"dup\.tsv.*index 1 appears twice"):
        read_label_table(dup)
    broken = tmp_path / "broken.xml"
    broken.write_text("<atlas><data><label index='0'>x</data>")
    with pytest.raises(UnsupportedFormatError, match=r"broken\.xml.*XML"):
        read_label_table(broken)
    only_comments = tmp_path / "none.txt"
    only_comments.write_text("# nothing\n")
    with pytest.raises(DataValueError, match=r"none\.txt.*no labels"):
        read_label_table(only_comments)
    with pytest.raises(ImageNotFoundError, match=r"missing\.tsv.*label table"):
        load_label_image(label_img, labels=tmp_path / "missing.tsv")
    with pytest.raises(ParameterError, match="'labels'.*dict.*got list"):
        load_label_image(label_img, labels=["a", "b"])


def test_label_image_rejects_fractions_and_4d(tmp_path):
    frac = tmp_path / "frac.nii.gz"
    nib.save(nib.Nifti1Image(np.full((7, 8, 9), 0.5, dtype=np.float32), np.eye(4)), frac)
    with pytest.raises(DataValueError, match=r"frac\.nii\.gz.*not whole numbers.*0\.5"):
        load_label_image(frac)
    four = tmp_path / "four.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((7, 8, 9, 2), dtype=np.int16), np.eye(4)), four)
    with pytest.raises(DimensionError, match=r"four\.nii\.gz.*3D"):
        load_label_image(four)


def test_empty_parcellation_has_no_regions(tmp_path):
    path = tmp_path / "zeros.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((7, 8, 9), dtype=np.uint8), np.eye(4)), path)
    ids, xyz = region_centroids(path)
    assert ids.size == 0 and xyz.shape == (0, 3)
