import hashlib

import pytest

from helpers.errors import InputError
from helpers.sources import Source, fetch, load_sources


def _source(name, content: bytes, file=None) -> Source:
    return Source(
        name=name,
        file=file or f"{name}.csv",
        title="t",
        publisher="p",
        url="https://example.org",
        licence="OGL",
        sha256=hashlib.sha256(content).hexdigest(),
    )


@pytest.fixture
def mirror(tmp_path):
    folder = tmp_path / "mirror"
    folder.mkdir()
    (folder / "a.csv").write_bytes(b"x,y\n1,2\n")
    return folder


def test_fetch_copies_verifies_and_makes_read_only(mirror, tmp_path):
    raw = tmp_path / "raw"
    [path] = fetch(mirror, raw, {"a": _source("a", b"x,y\n1,2\n")})
    assert path.read_bytes() == b"x,y\n1,2\n"
    assert oct(path.stat().st_mode & 0o777) == "0o444"


def test_missing_file_names_the_file_and_the_mirror(mirror, tmp_path):
    with pytest.raises(InputError, match=r"source 'b': file b\.csv not found in the mirror folder .*mirror"):
        fetch(mirror, tmp_path / "raw", {"b": _source("b", b"")})


def test_wrong_checksum_stops_and_leaves_nothing(mirror, tmp_path):
    raw = tmp_path / "raw"
    with pytest.raises(InputError, match=r"a\.csv has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}"):
        fetch(mirror, raw, {"a": _source("a", b"something else", file="a.csv")})
    assert list(raw.iterdir()) == []


def test_a_verified_file_is_not_copied_again(mirror, tmp_path):
    raw = tmp_path / "raw"
    sources = {"a": _source("a", b"x,y\n1,2\n")}
    fetch(mirror, raw, sources)
    (mirror / "a.csv").unlink()  # the mirror is no longer needed once fetched
    assert fetch(mirror, raw, sources)[0].read_bytes() == b"x,y\n1,2\n"


def test_a_corrupted_raw_file_is_replaced_from_the_mirror(mirror, tmp_path):
    raw = tmp_path / "raw"
    sources = {"a": _source("a", b"x,y\n1,2\n")}
    [path] = fetch(mirror, raw, sources)
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    assert fetch(mirror, raw, sources)[0].read_bytes() == b"x,y\n1,2\n"


def test_sources_file_declares_every_field(tmp_path):
    path = tmp_path / "sources.yml"
    path.write_text("sources:\n  - name: a\n    file: a.csv\n    title: t\n")
    with pytest.raises(InputError, match=r"source 1 \(a\) lacks publisher, url, licence, sha256"):
        load_sources(path)


def test_project_sources_are_complete():
    sources = load_sources()
    assert len(sources) == 8
    assert all(len(s.sha256) == 64 and s.url.startswith("https://") for s in sources.values())
