"""The committed generated code is what grpcio-tools makes of the proto today."""

from __future__ import annotations

from scripts.gen_grpc import GENERATED, TARGET, generate


def test_generated_code_matches_the_proto() -> None:
    fresh = generate()
    assert sorted(fresh) == sorted(GENERATED)
    stale = [name for name, text in fresh.items() if (TARGET / name).read_text() != text]
    assert not stale, f"regenerate with `python scripts/gen_grpc.py`: {stale} differ"
