"""The ivus-coder command line: inputs, formats, error records, exit codes, workers."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main

NOTE_A = "Left lower extremity venogram. IVUS of the left common iliac vein showed MLA 45 mm2 and 70% area reduction.\n"
NOTE_B = "Coronary angiography. IVUS of the LAD showed MLA 3.0 mm2.\n"


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text(NOTE_A, encoding="utf-8")
    (folder / "b.txt").write_text(NOTE_B, encoding="utf-8")
    return folder


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_one_text_file_gives_one_result_object(capsys, notes):
    code, out, _ = run_cli(capsys, "code", str(notes / "a.txt"))
    assert code == 0
    result = json.loads(out)
    assert result["document_id"] == "a.txt"
    assert result["codes"] == {"37252": 1, "37253": 0}
    assert result["vessels"][0]["id"] == "vein.common_iliac.left"


def test_folder_results_in_file_name_order(capsys, notes):
    code, out, _ = run_cli(capsys, "code", str(notes), "--format", "jsonl")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["document_id"] for r in rows] == ["a.txt", "b.txt"]
    assert rows[1]["codes"] == {"37252": 0, "37253": 0}


def test_jsonl_and_csv_inputs_with_named_columns(capsys, tmp_path):
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(
        json.dumps({"id": "n1", "text": NOTE_A})
        + "\n"
        + json.dumps({"id": "n2", "text": NOTE_B})
        + "\n"
    )
    code, out, _ = run_cli(capsys, "code", str(jsonl), "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["document_id"], r["37252"]) for r in rows] == [("n1", "1"), ("n2", "0")]
    table = tmp_path / "in.csv"
    with table.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["sid", "transcription"])
        writer.writeheader()
        writer.writerow({"sid": "7", "transcription": NOTE_A})
        writer.writerow({"sid": "7", "transcription": NOTE_A})
    code, out, _ = run_cli(
        capsys,
        "code",
        str(table),
        "--id-column",
        "sid",
        "--text-column",
        "transcription",
        "--unique",
        "--format",
        "jsonl",
    )
    assert code == 0
    assert [json.loads(line)["document_id"] for line in out.splitlines()] == ["7"]


def test_missing_csv_column_is_a_usage_error(capsys, tmp_path):
    table = tmp_path / "in.csv"
    table.write_text("a,b\n1,2\n")
    code, _, err = run_cli(capsys, "code", str(table))
    assert code == 2
    assert "E016" in err and "Traceback" not in err


def test_bad_documents_get_error_records_and_the_batch_goes_on(capsys, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "1-empty.txt").write_text("   \n")
    (folder / "2-binary.txt").write_bytes(b"\x00\x01\x02PK")
    (folder / "3-latin1.txt").write_bytes("Intravascular ultrasound caf\xe9".encode("latin-1"))
    (folder / "4-good.txt").write_text(NOTE_A)
    jsonl = tmp_path / "broken.jsonl"
    jsonl.write_text(
        '{"id": "ok", "text": "IVUS of the IVC, area 220 mm2."}\nnot json\n{"id": "x"}\n'
    )
    code, out, err = run_cli(
        capsys, "code", str(folder), str(jsonl), str(tmp_path / "missing.txt"), "--format", "jsonl"
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [r.get("error", {}).get("code") for r in rows] == [
        "E011",
        "E013",
        "E012",
        None,
        None,
        "E017",
        "E017",
        "E014",
    ]
    assert rows[3]["codes"]["37252"] == 1
    assert "could not be coded" in err and "Traceback" not in err


def test_stdin_text_and_jsonl(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(NOTE_A.encode())))
    code, out, _ = run_cli(capsys, "code", "-", "--format", "jsonl")
    assert code == 0 and json.loads(out)["document_id"] == "stdin"
    lines = json.dumps({"id": "s1", "text": NOTE_B}) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines.encode())))
    code, out, _ = run_cli(capsys, "code", "-", "--stdin-format", "jsonl", "--format", "jsonl")
    assert json.loads(out)["document_id"] == "s1"


def test_policy_and_settings_options(capsys, tmp_path):
    note = tmp_path / "n.txt"
    note.write_text(
        "Angiography. IVUS of the right EIA (MLA 30 mm2) and the right CFA (MLA 40 mm2). IVUS of the IVC.\n"
    )
    _, out, _ = run_cli(
        capsys,
        "code",
        str(note),
        "--policy",
        "named-vessel",
        "--documentation",
        "strict",
        "--mue-37253",
        "3",
    )
    result = json.loads(out)
    assert result["policy"] == "named-vessel"
    assert result["settings"] == {"documentation": "strict", "mue_37253": 3}
    assert result["codes"] == {"37252": 1, "37253": 1}


def test_output_file_and_byte_identical_reruns(capsys, notes, tmp_path):
    first, second = tmp_path / "1.jsonl", tmp_path / "2.jsonl"
    run_cli(capsys, "code", str(notes), "--format", "jsonl", "--out", str(first))
    run_cli(capsys, "code", str(notes), "--format", "jsonl", "--out", str(second))
    assert first.read_bytes() == second.read_bytes()


def test_two_workers_give_the_same_results_in_order(notes, tmp_path):
    exe = [
        sys.executable,
        "-m",
        "api.cli",
        "code",
        str(notes),
        "--format",
        "jsonl",
        "--no-progress",
    ]
    one = subprocess.run(
        exe, capture_output=True, check=True, text=True, cwd=Path(__file__).parents[1]
    )
    two = subprocess.run(
        [*exe, "--workers", "2"],
        capture_output=True,
        check=True,
        text=True,
        cwd=Path(__file__).parents[1],
    )
    assert one.stdout == two.stdout
    assert len(one.stdout.splitlines()) == 2


def test_explain_highlights_and_lists_lines(capsys, notes):
    code, out, _ = run_cli(capsys, "explain", str(notes / "a.txt"))
    assert code == 0
    assert "+37252 × 1" in out
    assert "left common iliac vein" in out


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("code", "explain", "evaluate"):
        assert command in out
