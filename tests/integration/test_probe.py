"""`bridge probe` as a real process against both deployment shapes, right and wrong profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.simulator import SimServer, SimState, generate
from bridge.simulator.state import DEFAULT_PASSWORD
from tests.integration.conftest import MAPPINGS, SHAPES, bridge_env, run_bridge

pytestmark = pytest.mark.integration

# What the contract's profile gets wrong about the alt shape, one key each (the probe names
# the key, and says what the answer shows instead).
ALT_MISMATCHES = (
    "auth.login_body: the server refused the login as 'json' and took it as 'form'",
    "auth.token_path: no token at 'id_token'; the login answer has one at 'data.access_token'",
    "auth.token_lifetime: 'jwt', but the token is no JWT with an exp claim",
    "auth.header_name/header_format: the server refused the token as 'Authorization: {token}' "
    "and took it as 'X-Auth-Token: {token}'",
    "lists.surat.items_path: no list at 'data'; the items are at 'result.items'",
    "lists.surat.total_pages_path: 'total_page' is not in the answer",
    "lists.surat.paging: the server sends a 'Link: rel=next' header",
    "lists.surat.paging: page 2 repeats page 1",
    "http.status_path: 'status' is not in the lists.surat answer; it has 'meta.status' = "
    "'success'",
    "lists.surat.date_formats.created_at: 0 of",
    "lists.disposisi.items_path: no list at 'data'; the items are at 'result.items'",
    "lists.disposisi.paging: page 2 repeats page 1",
    "lists.disposisi.date_formats.created_at: 0 of",
    "push.note_list: ref look-up: the answer has no 'data' list; the answer has a list at "
    "'result.items'",
    "push.letter_lookup: GET /surattangsel",
)


def probe(sim: SimServer, tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    done = run_bridge(["probe", *args], bridge_env(sim, tmp_path / "data", **env), tmp_path)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize("shape", SHAPES)
def test_the_right_profile_fits(sim: SimServer, sim_state: SimState, shape: str,
                                tmp_path: Path) -> None:
    generate(sim_state, letters=260, seed=31)
    sim_state.reset_stats()
    code, out, err = probe(sim, tmp_path, "--json")
    assert code == 0, out + err
    report = json.loads(out)
    assert report["fits"] is True and report["problems"] == []
    lists = {entry["name"].split()[1]: entry for year in report["years"]
             for entry in year["lists"]}
    assert set(lists) == {"lists.surat", "lists.disposisi", "push.note_list",
                          "push.letter_lookup"}
    for name in ("lists.surat", "lists.disposisi"):
        entry = lists[name]
        assert entry["pages"] == 2 and entry["items"] == entry["parsed"] > 0
        assert any("page 2 continues page 1" in line for line in entry["paging"])
        dates = [f for f in entry["fields"] if f["dates_tried"]]
        assert dates and all(f["dates_parsed"] == f["dates_tried"] for f in dates)
    assert all(t["seconds"] >= 0 for t in report["requests"])
    # Read-only: the login is the only POST.
    posts = {name: n for name, n in sim_state.request_counts().items() if name.startswith("POST")}
    assert set(posts) == {"POST {dir}/api/auth"}, posts
    assert sim_state.pushed()["counts_by_ref"] == {}


def test_the_contract_profile_against_the_alt_shape_names_every_mismatch(
        sim_state: SimState, tmp_path: Path) -> None:
    generate(sim_state, letters=120, seed=32)
    with SimServer(sim_state, shape="alt") as sim:
        code, out, err = probe(sim, tmp_path, BRIDGE_MAPPINGS_DIR=str(MAPPINGS))
        _, as_json, _ = probe(sim, tmp_path, "--json", BRIDGE_MAPPINGS_DIR=str(MAPPINGS))
    assert code == 1, out + err
    assert "the profile does not fit" in out
    problems = json.loads(as_json)["problems"]
    for expected in ALT_MISMATCHES:
        assert any(expected in problem for problem in problems), (expected, problems)
        assert expected.split(":")[0] in out
    assert DEFAULT_PASSWORD not in out + err + as_json
    assert "eyJ" not in out + as_json  # no token, however it is shaped


def test_the_alt_profile_against_the_contract_shape_does_not_fit(
        sim: SimServer, sim_state: SimState, tmp_path: Path) -> None:
    generate(sim_state, letters=60, seed=33)
    alt = tmp_path / "alt-mappings"
    alt.mkdir()
    for name in ("push.toml", "recognition.toml", "sop.toml"):
        (alt / name).write_bytes((MAPPINGS / name).read_bytes())
    (alt / "sisumaker.toml").write_bytes((MAPPINGS / "profiles/alt/sisumaker.toml").read_bytes())
    code, out, _ = probe(sim, tmp_path, "--json", BRIDGE_MAPPINGS_DIR=str(alt))
    assert code == 1
    problems = json.loads(out)["problems"]
    for expected in ("auth.login_body", "auth.token_path: no token at 'data.access_token'; "
                     "the login answer has one at 'id_token'", "auth.header_name",
                     "lists.surat.items_path", "lists.disposisi.paging: page 2 repeats page 1",
                     "lists.surat.date_formats.created_at", "push.letter_lookup"):
        assert any(expected in problem for problem in problems), (expected, problems)
