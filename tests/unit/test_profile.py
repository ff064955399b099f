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
    assert surat.paging.style == "page"
    assert (surat.paging.page_param, surat.paging.size_param, surat.paging.size) == (
        "page", "per_page", 100)
    assert (surat.paging.first_page, surat.end) == (1, "total_pages")
    assert surat.total_items_path == "Total Surat"
    assert surat.fields["received_at"] == "tgl_diterimaTU"
    assert profile.lists[ListKind.DISPOSISI].total_items_path == "Total Disposisi"
    assert (profile.http.status_style, profile.auth.login_body) == ("flag", "json")
    assert (profile.auth.token_path, profile.auth.token_lifetime) == ("id_token", "jwt")
    assert profile.push.letter_lookup.ref_param == "ref"
    assert profile.push.note_list.paging is None


def test_unchanged_copy_loads(tmp_path: Path) -> None:
    write_profile(tmp_path, SHIPPED)
    assert load_profile(tmp_path) == load_profile(MAPPINGS)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="file not found") as caught:
        load_profile(tmp_path)
    assert str(tmp_path / PROFILE_FILE) in str(caught.value)


def test_unknown_key_names_file_and_dotted_key(tmp_path: Path) -> None:
    path = write_profile(
        tmp_path, replaced('token_path = "id_token"', 'token_path = "id_token"\ntoken_kee = "x"')
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
            'total_items_path = "Total Disposisi"',
            'total_items_path = "Total Disposisi"\npage_parm = "p"',
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


# -- paging, envelopes, login, look-ups: impossible combinations name the key and options -----

SURAT_PAGING = '''[lists.surat.paging]
style = "page"
page_param = "page"
first_page = 1
size_param = "per_page"
size = 100
# The server clamps per_page to at most 100 (ASSUMED).
max_size = 100
'''


def refused(tmp_path: Path, text: str) -> str:
    path = write_profile(tmp_path, text)
    with pytest.raises(MappingError) as caught:
        load_profile(tmp_path)
    message = str(caught.value)
    assert str(path) in message
    return message


def with_surat_paging(table: str) -> str:
    return replaced(SURAT_PAGING, "[lists.surat.paging]\n" + table)


def test_an_unknown_paging_style_names_the_valid_ones(tmp_path: Path) -> None:
    message = refused(tmp_path, with_surat_paging('style = "pages"\n'))
    assert "lists.surat.paging" in message
    for style in ("page", "offset", "cursor", "next_link"):
        assert f"'{style}'" in message


def test_a_paging_table_without_style_names_the_valid_ones(tmp_path: Path) -> None:
    message = refused(tmp_path, with_surat_paging('page_param = "page"\n'))
    assert "lists.surat.paging: style is required; valid: page, offset, cursor, next_link" in message


def test_a_key_of_another_paging_style_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, with_surat_paging('style = "offset"\npage_param = "page"\n'))
    assert "lists.surat.paging.offset.page_param: unknown key" in message


def test_a_size_over_the_servers_maximum_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, with_surat_paging('style = "page"\nsize = 200\nmax_size = 100\n'))
    assert "lists.surat.paging.page" in message
    assert "size: 200 is over max_size 100" in message


def test_no_next_with_numbered_paging_is_refused(tmp_path: Path) -> None:
    text = replaced('end = "total_pages"', 'end = "no_next"')
    message = refused(tmp_path, text)
    assert "lists.surat: end: 'no_next' needs paging.style 'cursor' or 'next_link'" in message
    assert "total_pages, total_items, has_more, short_page" in message


def test_an_unknown_end_signal_names_the_valid_ones(tmp_path: Path) -> None:
    message = refused(tmp_path, replaced('end = "total_pages"', 'end = "last_page"'))
    assert "lists.surat.end" in message
    for end in ("total_pages", "total_items", "has_more", "no_next", "short_page"):
        assert end in message


def test_an_end_signal_without_its_key_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, replaced('end = "total_pages"', 'end = "has_more"'))
    assert "lists.surat: has_more_path: required with end = 'has_more'" in message


def test_a_cursor_list_cannot_echo_a_page_number(tmp_path: Path) -> None:
    text = with_surat_paging('style = "cursor"\ncursor_path = "meta.next"\n')
    message = refused(tmp_path, text.replace('end = "total_pages"', 'end = "no_next"', 1))
    assert "lists.surat: page_path: a 'cursor' list has no page number to echo" in message


def test_a_next_link_needs_exactly_one_place(tmp_path: Path) -> None:
    text = with_surat_paging('style = "next_link"\nnext_path = "links.next"\nlink_header = true\n')
    message = refused(tmp_path, text)
    assert "lists.surat.paging.next_link: give exactly one of next_path" in message


def test_a_bad_dotted_path_is_refused(tmp_path: Path) -> None:
    message = refused(tmp_path, replaced('items_path = "data"', 'items_path = "result..items"'))
    assert "lists.surat.items_path: 'result..items' is not a dotted path" in message


def test_a_word_status_needs_its_words(tmp_path: Path) -> None:
    message = refused(tmp_path, replaced('status_style = "flag"', 'status_style = "word"'))
    assert "http: ok_words: give the words meaning success" in message
    message = refused(tmp_path, replaced('status_style = "flag"', 'status_style = "yes"'))
    assert "http.status_style" in message and "'flag', 'word' or 'none'" in message


def test_login_options_are_checked(tmp_path: Path) -> None:
    message = refused(tmp_path, replaced('login_body = "json"', 'login_body = "xml"'))
    assert "auth.login_body" in message and "'json' or 'form'" in message
    message = refused(tmp_path, replaced('token_lifetime = "jwt"', 'token_lifetime = "expires_in"'))
    assert "auth: expires_in_path: give it exactly when token_lifetime = 'expires_in'" in message
    assert "jwt, expires_in, none" in message


def test_a_look_up_with_the_ref_twice_is_refused(tmp_path: Path) -> None:
    text = replaced('path = "{dir}/api/suratkeluar/filter"', 'path = "{dir}/api/suratkeluar/{ref}"')
    message = refused(tmp_path, text)
    assert "push.letter_lookup: ref_param: the path already holds {ref}" in message
    text = replaced('ref_param = "ref"\n', "")
    message = refused(tmp_path, text)
    assert "push.letter_lookup: give ref_param" in message


def test_a_paged_note_list_is_checked_like_a_list(tmp_path: Path) -> None:
    text = replaced('id_field = "id_tindaklanjut"\n',
                    'id_field = "id_tindaklanjut"\nend = "no_next"\n'
                    '[push.note_list.paging]\nstyle = "page"\nsize = 10\n')
    message = refused(tmp_path, text)
    assert "push.note_list: end: 'no_next' needs paging.style 'cursor' or 'next_link'" in message


def test_the_alternative_deployments_profile_loads() -> None:
    profile = load_profile(MAPPINGS / "profiles" / "alt")
    surat = profile.lists[ListKind.SURAT]
    assert (surat.paging.style, surat.end, surat.items_path) == ("next_link", "no_next",
                                                                 "result.items")
    assert profile.lists[ListKind.DISPOSISI].paging.style == "offset"
    assert (profile.auth.login_body, profile.auth.token_lifetime) == ("form", "expires_in")
    assert profile.push.note_list.paging is not None
    assert "{ref}" in profile.push.letter_lookup.path


def test_ids_are_written_as_the_profile_says(tmp_path: Path) -> None:
    assert load_profile(MAPPINGS).push.written_id("88121") == "88121"
    write_profile(tmp_path, replaced('ids_as = "string"', 'ids_as = "number"'))
    push = load_profile(tmp_path).push
    assert push.written_id("88121") == 88121
    assert push.written_id("A-7") == "A-7"  # not a number: sent as it is
    write_profile(tmp_path, replaced('ids_as = "string"', 'ids_as = "integer"'))
    with pytest.raises(MappingError, match=r"push\.ids_as: .*'string' or 'number'"):
        load_profile(tmp_path)
