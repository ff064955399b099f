"""The API profile (mappings/sisumaker.toml): the shipped file loads, broken copies are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.config.profile import LETTER_FIELDS, PROFILE_FILE, load_profile
from bridge.domain.items import ListKind
from bridge.errors import MappingError

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SHIPPED = (MAPPINGS / PROFILE_FILE).read_text(encoding="utf-8")


def write_profile(directory: Path, text: str) -> Path:
    (directory / PROFILE_FILE).write_text(text, encoding="utf-8")
    return directory / PROFILE_FILE


def replaced(old: str, new: str) -> str:
    assert old in SHIPPED, old
    return SHIPPED.replace(old, new, 1)


def test_shipped_profile_loads() -> None:
    profile = load_profile(MAPPINGS)
    assert profile.timezone == "Asia/Jakarta"
    assert profile.zone.key == "Asia/Jakarta"
    assert profile.auth.header_format == "{token}"
    assert profile.auth.header_name == "Authorization"
    surat = profile.lists[ListKind.SURAT]
    assert surat.path == "{dir}/api/suratmasuk/filter"
    assert (surat.page_param, surat.per_page_param, surat.per_page) == ("page", "per_page", 100)
    assert surat.total_items_key == "Total Surat"
    assert surat.fields["received_at"] == "tgl_diterimaTU"
    assert profile.lists[ListKind.DISPOSISI].total_items_key == "Total Disposisi"


def test_unchanged_copy_loads(tmp_path: Path) -> None:
    write_profile(tmp_path, SHIPPED)
    assert load_profile(tmp_path) == load_profile(MAPPINGS)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="file not found") as caught:
        load_profile(tmp_path)
    assert str(tmp_path / PROFILE_FILE) in str(caught.value)


def test_unknown_key_names_file_and_dotted_key(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path, replaced('token_key = "id_token"', 'token_key = "id_token"\ntoken_kee = "x"')
    )
    with pytest.raises(MappingError) as caught:
        load_profile(tmp_path)
    message = str(caught.value)
    assert str(path) in message
    assert "auth.token_kee" in message
    assert "unknown key" in message


def test_unknown_key_in_a_list_is_named(tmp_path: Path) -> None:
    write_profile(
        tmp_path,
        replaced(
            'total_items_key = "Total Disposisi"',
            'total_items_key = "Total Disposisi"\npage_parm = "p"',
        ),
    )
    with pytest.raises(MappingError, match=r"lists\.disposisi\.page_parm: unknown key"):
        load_profile(tmp_path)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write_profile(tmp_path, SHIPPED + "\n[auth\nbroken = \n")
    with pytest.raises(MappingError, match="not valid TOML") as caught:
        load_profile(tmp_path)
    assert str(path) in str(caught.value)


def test_missing_disposisi_list(tmp_path: Path) -> None:
    text = SHIPPED[: SHIPPED.index("[lists.disposisi]")]
    path = write_profile(tmp_path, text)
    with pytest.raises(MappingError, match=r"lists\.disposisi is missing") as caught:
        load_profile(tmp_path)
    assert str(path) in str(caught.value)


def test_field_not_in_the_canonical_list(tmp_path: Path) -> None:
    write_profile(tmp_path, replaced('perihal = "perihal"', 'perihal = "perihal"\nsubjek = "x"'))
    with pytest.raises(MappingError) as caught:
        load_profile(tmp_path)
    message = str(caught.value)
    assert "lists.surat.fields.subjek" in message
    assert "valid:" in message
    valid = message.split("valid:", 1)[1]
    for name in LETTER_FIELDS:
        assert name in valid


def test_required_field_missing(tmp_path: Path) -> None:
    write_profile(tmp_path, replaced('surat_id = "id_persuratan"\n', ""))
    with pytest.raises(MappingError, match=r"lists\.disposisi\.fields\.surat_id is required"):
        load_profile(tmp_path)


def test_date_format_without_percent(tmp_path: Path) -> None:
    write_profile(
        tmp_path,
        replaced('sent_on = ["%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y"]', 'sent_on = ["dd-mm-YYYY"]'),
    )
    with pytest.raises(MappingError, match="has no % directive") as caught:
        load_profile(tmp_path)
    assert "lists.surat.date_formats" in str(caught.value)
    assert "dd-mm-YYYY" in str(caught.value)


def test_date_field_without_formats(tmp_path: Path) -> None:
    write_profile(tmp_path, replaced('sent_on = ["%d-%m-%Y", "%Y-%m-%d", "%d/%m/%Y"]\n', ""))
    with pytest.raises(MappingError, match=r"lists\.surat\.date_formats\.sent_on is required"):
        load_profile(tmp_path)


def test_header_format_without_token(tmp_path: Path) -> None:
    write_profile(tmp_path, replaced('header_format = "{token}"', 'header_format = "Bearer"'))
    with pytest.raises(MappingError, match=r"auth\.header_format: .*\{token\}"):
        load_profile(tmp_path)


def test_header_format_with_bearer_is_accepted(tmp_path: Path) -> None:
    write_profile(
        tmp_path, replaced('header_format = "{token}"', 'header_format = "Bearer {token}"')
    )
    assert load_profile(tmp_path).auth.header_format == "Bearer {token}"


def test_unknown_timezone(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path, replaced('timezone = "Asia/Jakarta"', 'timezone = "Asia/Tangsel"')
    )
    with pytest.raises(MappingError, match="unknown time zone 'Asia/Tangsel'") as caught:
        load_profile(tmp_path)
    assert str(path) in str(caught.value)
    assert "timezone" in str(caught.value)


def test_list_path_without_dir(tmp_path: Path) -> None:
    write_profile(
        tmp_path, replaced('path = "{dir}/api/disposisi/filter"', 'path = "/api/disposisi/filter"')
    )
    with pytest.raises(MappingError, match=r"lists\.disposisi\.path"):
        load_profile(tmp_path)
