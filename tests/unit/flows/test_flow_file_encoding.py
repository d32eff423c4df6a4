"""A flow or tenant file that is not UTF-8 is an error at the line of its first bad byte, said
the same way by the flow loader, the tenant reader, `botfleet validate` and `botfleet test`, so
that a file met twice (alone and as a tenant's flow) is listed once."""

from __future__ import annotations

from pathlib import Path

import pytest

from botfleet.cli import validation
from botfleet.domain.errors import FlowValidationError
from botfleet.flows.load import load_flow
from botfleet.flows.tenant_file import read_tenant_file
from botfleet.flows.text_files import not_utf8
from botfleet.testing import conversation_format

FLOW = (
    "id: shop\n"
    "initial_state: A\n"
    "states:\n"
    "  A:\n"
    "    on_enter:\n"
    '      - {action: send_text, text: "¡Hola!"}\n'
    "    fallback: A\n"
)
#: What every reader says of FLOW saved as Latin-1 (`¡` is byte 0xa1, column 36 of line 6).
SAID = "not UTF-8 text: byte 0xa1 at line 6, column 36 (invalid start byte); save the file as UTF-8"


@pytest.fixture
def latin1_flow(tmp_path: Path) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_bytes(FLOW.encode("latin-1"))
    return path


def test_not_utf8_gives_the_line_column_and_byte() -> None:
    with pytest.raises(UnicodeDecodeError) as raised:
        FLOW.encode("latin-1").decode("utf-8")
    assert not_utf8(raised.value) == (6, SAID)


def test_the_flow_loader_says_it_on_the_line(latin1_flow: Path) -> None:
    with pytest.raises(FlowValidationError) as raised:
        load_flow(latin1_flow)
    (issue,) = raised.value.issues
    assert (issue.source, issue.line, issue.path, issue.message) == (str(latin1_flow), 6, "", SAID)
    assert str(issue) == f"{latin1_flow}:6: {SAID}"


def test_a_tenant_file_is_placed_on_its_line(tmp_path: Path) -> None:
    tenant = tmp_path / "tenant.yaml"
    tenant.write_bytes("tenant_id: t1\nname: Peluquería\nflow_path: f.yaml\n".encode("latin-1"))
    (issue,) = read_tenant_file(tenant).issues
    assert str(issue) == (
        f"{tenant}:2: not UTF-8 text: byte 0xed at line 2, column 15 (invalid continuation "
        "byte); save the file as UTF-8"
    )


def test_a_tenants_flow_is_said_the_same_way(tmp_path: Path, latin1_flow: Path) -> None:
    tenant = tmp_path / "tenant.yaml"
    tenant.write_text("tenant_id: t1\nflow_path: flow.yaml\n", encoding="utf-8")
    (issue,) = read_tenant_file(tenant).issues
    assert (Path(issue.source).resolve(), issue.line, issue.message) == (latin1_flow, 6, SAID)


def test_validate_lists_a_folders_bad_flow_once(tmp_path: Path, latin1_flow: Path) -> None:
    (tmp_path / "tenant.yaml").write_text("tenant_id: t1\nflow_path: flow.yaml\n", encoding="utf-8")
    search = validation.search_files([tmp_path])
    reports = validation.validate_files(search.found)
    findings = [str(f) for report in reports for f in report.findings]
    assert findings == [f"{latin1_flow}:6: {SAID}"]


def test_every_reader_uses_the_one_helper() -> None:
    assert validation.not_utf8 is not_utf8
    assert conversation_format.not_utf8 is not_utf8
