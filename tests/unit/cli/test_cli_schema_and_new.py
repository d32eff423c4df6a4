"""`botfleet schema` (and the committed schemas/ files) and `botfleet new`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import REPO, Invoke


@pytest.mark.parametrize("kind", ["flow", "tenant", "test"])
def test_the_committed_schema_files_are_up_to_date(invoke: Invoke, kind: str) -> None:
    result = invoke("schema", kind)
    assert result.exit_code == 0, result.output
    committed = REPO / "schemas" / f"{kind}.schema.json"
    assert committed.read_text(encoding="utf-8") == result.stdout, (
        f"regenerate it: botfleet schema {kind} -o schemas/{kind}.schema.json"
    )


def test_schemas_describe_the_files(invoke: Invoke) -> None:
    flow = json.loads(invoke("schema", "flow").stdout)
    assert flow["title"] == "botfleet flow"
    assert {"id", "initial_state", "states"} <= set(flow["required"])
    tenant = json.loads(invoke("schema", "tenant").stdout)
    assert tenant["title"] == "botfleet tenant"
    assert tenant["required"] == ["tenant_id"]
    assert "base_dir" not in tenant["properties"]  # filled in by the loader, never written
    assert tenant["additionalProperties"] is False
    test = json.loads(invoke("schema", "test").stdout)
    assert "steps" in test["properties"]


def test_schema_to_a_file_and_an_unknown_kind(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "out" / "flow.json"
    assert invoke("schema", "flow", "-o", target).exit_code == 0
    assert json.loads(target.read_text())["title"] == "botfleet flow"
    wrong = invoke("schema", "flows")
    assert wrong.exit_code == 2
    assert "'flows' is not one of" in wrong.stderr


def test_new_writes_a_starter_whose_tests_pass(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "my_bot"
    result = invoke("new", "my_bot", "--dir", target)
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.yaml")) == [
        "my_bot.yaml",
        "tenant.yaml",
        "tests/my_bot_menu.yaml",
        "tests/my_bot_message.yaml",
    ]
    assert f"botfleet test {target / 'tests'} --coverage" in result.stdout

    validated = invoke("validate", target / "tenant.yaml", target / "my_bot.yaml")
    assert validated.exit_code == 0, validated.output
    assert "0 error(s), 0 warning(s)" in validated.stdout
    tested = invoke("test", target / "tests", "--min-coverage", "100")
    assert tested.exit_code == 0, tested.output
    assert "2 passed, 0 failed" in tested.stdout
    assert "states         4/4   100.0%" in tested.stdout
    chatted = invoke("chat", target / "tenant.yaml", input="hi\n")
    assert "Welcome to My Business. How can I help?" in chatted.stdout


def test_the_starter_greets_a_name_ending_in_a_period_with_one(
    invoke: Invoke, tmp_path: Path
) -> None:
    target = tmp_path / "crumb"
    assert invoke("new", "crumb", "--dir", target).exit_code == 0
    tenant = target / "tenant.yaml"
    tenant.write_text(tenant.read_text().replace('name: "My Business"', 'name: "Crumb & Co."'))
    chatted = invoke("chat", tenant, input="hi\n")
    assert "Welcome to Crumb & Co. How can I help?" in chatted.stdout


def test_new_defaults_to_a_folder_named_after_the_flow(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert invoke("new", "salon").exit_code == 0
    assert (tmp_path / "salon" / "salon.yaml").is_file()
    assert "id: salon_v1" in (tmp_path / "salon" / "salon.yaml").read_text()


def test_new_refuses_to_overwrite_and_bad_names(invoke: Invoke, tmp_path: Path) -> None:
    assert invoke("new", "bot", "--dir", tmp_path).exit_code == 0
    (tmp_path / "bot.yaml").write_text("mine", encoding="utf-8")
    again = invoke("new", "bot", "--dir", tmp_path)
    assert again.exit_code == 1
    assert "already there (use --force to replace)" in again.stderr
    assert (tmp_path / "bot.yaml").read_text() == "mine"
    assert invoke("new", "bot", "--dir", tmp_path, "--force").exit_code == 0
    assert (tmp_path / "bot.yaml").read_text() != "mine"
    bad = invoke("new", "My Bot", "--dir", tmp_path / "x")
    assert bad.exit_code == 2  # a usage error (tests/unit/cli/test_new_usage_exit_codes.py)
    assert "'My Bot' is not a flow name" in bad.stderr


def test_schema_and_new_name_a_path_they_cannot_write(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder as -o, or a file where --dir wants a folder, used to end in a traceback."""
    monkeypatch.chdir(tmp_path)  # short relative names, which the error box does not break
    a_file = Path("notes.txt")
    a_file.write_text("x", encoding="utf-8")

    def one_line(text: str) -> str:
        return " ".join(text.replace("│", " ").split())

    schema = invoke("schema", "flow", "-o", ".")
    assert schema.exit_code == 2
    assert "cannot write .: Is a directory" in one_line(schema.stderr)
    under_a_file = invoke("schema", "flow", "-o", a_file / "flow.json")
    assert under_a_file.exit_code == 2
    assert "cannot write notes.txt/flow.json: notes.txt is a file, not a folder" in one_line(
        under_a_file.stderr
    )
    new = invoke("new", "my_bot", "--dir", a_file)
    assert new.exit_code == 2
    assert "Invalid value for --dir: notes.txt is a file, not a folder" in one_line(new.stderr)
    for result in (schema, under_a_file, new):
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_new_writes_the_business_timezone_and_language_given(
    invoke: Invoke, tmp_path: Path
) -> None:
    """A studio in Lisbon got a tenant on Madrid's clock without a word (walk-through)."""
    from botfleet.domain.tenant_config import load_tenant_config

    target = tmp_path / "yoga"
    result = invoke(
        "new", "yoga", "--dir", target, "--timezone", "Europe/Lisbon", "--language", "pt-PT"
    )
    assert result.exit_code == 0, result.output
    assert "the tenant is on Europe/Lisbon, in language 'pt-PT'" in result.stdout
    tenant = load_tenant_config(target / "tenant.yaml")
    assert (tenant.timezone, tenant.language) == ("Europe/Lisbon", "pt-PT")
    tested = invoke("test", target / "tests")
    assert tested.exit_code == 0, tested.output
    default = invoke("new", "shop", "--dir", tmp_path / "shop")
    assert "the tenant is on Europe/Madrid, in language 'en'" in default.stdout


def test_new_refuses_an_unknown_timezone_or_language(invoke: Invoke, tmp_path: Path) -> None:
    zone = invoke("new", "bot", "--dir", tmp_path / "a", "--timezone", "Europe/Lisboa")
    assert zone.exit_code == 2
    assert "--timezone" in zone.stderr and "Europe/Lisboa" in zone.stderr
    language = invoke("new", "bot", "--dir", tmp_path / "b", "--language", "Portuguese")
    assert language.exit_code == 2
    assert "'Portuguese' is not a language tag" in " ".join(language.stderr.split())
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_new_given_a_path_for_the_name_points_to_dir(invoke: Invoke, tmp_path: Path) -> None:
    where = tmp_path / "walk" / "yoga"
    result = invoke("new", str(where))
    assert result.exit_code == 2
    # The error box may wrap inside the sentence, leaving its border between two words.
    said = " ".join(result.stderr.replace("│", " ").split())
    assert "is a path, not a flow name: give the folder with --dir" in said
    assert not where.exists()
