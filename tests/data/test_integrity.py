"""Provenance: every bundled file matches its recorded checksum; a tampered copy is refused."""

import hashlib
import shutil

import pytest

from nevsim import data
from nevsim.data._registry import DATA_DIR_ENV, FILES_DIR, registry
from nevsim.errors import DataIntegrityError

DATASETS = [n for n, i in registry().items() if i.group == "dataset"]


@pytest.mark.parametrize("name", DATASETS)
def test_bundled_files_match_provenance(name):
    info = registry()[name]
    path = FILES_DIR / info.file
    assert hashlib.sha256(path.read_bytes()).hexdigest() == info.sha256
    raw_lines = path.read_bytes().decode("utf-8").splitlines()
    assert raw_lines[0].split(",") == list(info.raw_columns)
    assert len(raw_lines) - 1 == info.rows
    assert len(info.origin_commit) == 40 and info.origin_repository and info.origin_path
    assert info.licence == "CC BY 4.0" and info.attribution and info.caveats


def test_gpl_monthly_file_not_shipped():
    assert not (FILES_DIR / "open_ev_charts_monthly.csv").exists()
    assert "not" in (FILES_DIR / "LICENSES.md").read_text(encoding="utf-8").split("open_ev_charts_monthly.csv")[1][:200]


@pytest.fixture
def data_copy(tmp_path):
    for name in DATASETS:
        shutil.copy2(FILES_DIR / registry()[name].file, tmp_path)
    return tmp_path


def test_untampered_copy_loads(data_copy):
    frame = data.load("iea_gevo_2025", region="China", data_dir=data_copy)
    assert len(frame) == len(data.load("iea_gevo_2025", region="China"))


@pytest.mark.parametrize("name", DATASETS)
def test_tampered_copy_is_refused(data_copy, name):
    info = registry()[name]
    path = data_copy / info.file
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(",", ";", 1), encoding="utf-8")
    with pytest.raises(DataIntegrityError) as err:
        data.load(name, data_dir=data_copy)
    msg = str(err.value)
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.file in msg and info.sha256 in msg and actual in msg


def test_env_var_points_the_loader_at_a_copy(data_copy, monkeypatch):
    path = data_copy / "owid_electric_car_sales_share.csv"
    path.write_bytes(path.read_bytes().replace(b"53", b"99"))
    monkeypatch.setenv(DATA_DIR_ENV, str(data_copy))
    with pytest.raises(DataIntegrityError, match=r"owid_electric_car_sales_share\.csv"):
        data.load("owid_electric_car_sales_share")
    with pytest.raises(DataIntegrityError):
        data.history("China")
    monkeypatch.delenv(DATA_DIR_ENV)
    assert len(data.load("owid_electric_car_sales_share")) == 522


def test_file_changed_after_first_load_is_refused(data_copy):
    assert len(data.load("owid_electric_car_sales", data_dir=data_copy)) == 526
    path = data_copy / "owid_electric_car_sales.csv"
    path.write_bytes(path.read_bytes() + b"\nChina,CHN,2026,1")
    with pytest.raises(DataIntegrityError):
        data.load("owid_electric_car_sales", data_dir=data_copy)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(DataIntegrityError, match="missing"):
        data.load("iea_gevo_2024", data_dir=tmp_path)
