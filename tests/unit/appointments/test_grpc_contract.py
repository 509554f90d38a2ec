"""The committed gRPC stubs are what protoc makes of the .proto files, and who a hold is placed for."""

from __future__ import annotations

from pathlib import Path

import pytest

from kairos.appointments.grpc_auth import HOLDS_FOR_PATIENTS_SCOPE, NotAllowedFor, acting_for, bearer_token
from kairos.contracts.proto.generate import SOURCE_ROOT, generate
from kairos.platform.auth import Principal


def test_the_committed_stubs_are_regenerated_identically(tmp_path: Path) -> None:
    written = generate(tmp_path)
    assert {path.name for path in written} == {"slots_pb2.py", "slots_pb2.pyi", "slots_pb2_grpc.py"}
    stale = [str(path) for path in written if (tmp_path / path).read_bytes() != (SOURCE_ROOT / path).read_bytes()]
    assert stale == [], "run: uv run python -m kairos.contracts.proto.generate"


def test_a_bearer_token_is_read_from_the_metadata() -> None:
    assert bearer_token((("x-other", "1"), ("authorization", "Bearer abc.def"))) == "abc.def"
    assert bearer_token((("authorization", "bearer  abc "),)) == "abc"
    assert bearer_token((("authorization", "Basic abc"),)) == ""
    assert bearer_token(()) is None


PATIENT = Principal(subject="p-1", permissions=frozenset({"appointments:request"}))
ASSISTANT = Principal(subject="assistant", client_id="assistant", scopes=frozenset({HOLDS_FOR_PATIENTS_SCOPE}))


def test_a_caller_holds_for_itself_unless_it_names_someone_else() -> None:
    assert acting_for(PATIENT, "") is PATIENT
    assert acting_for(PATIENT, "p-1") is PATIENT


def test_only_a_service_with_the_holds_scope_acts_for_a_named_patient() -> None:
    delegated = acting_for(ASSISTANT, "p-2")
    assert delegated.subject == "p-2"
    assert delegated.has_permission("appointments:request")
    assert delegated.client_id == "assistant"
    with pytest.raises(NotAllowedFor):
        acting_for(PATIENT, "p-2")
