"""The one table of `make eval-sample` (qa/eval_sample.py), from eval summaries."""

from __future__ import annotations

from pathlib import Path

from qa.eval_sample import SAMPLE_SETS, machine_lines, table_row, total_row, write_table


def summary(accuracy: float, reference: float, questions: int, replayed: int = 0) -> dict:
    return {
        "questions": questions,
        "answer_accuracy": accuracy,
        "refusal_precision": 1.0,
        "refusal_recall": 0.5,
        "citation_precision": 0.95,
        "model_right_shipped_wrong": 1,
        "model_right": 10,
        "answer_p50_s": 4.8,
        "config": {"replayed_prompts": replayed},
        "reference": {"answer_accuracy": reference, "refusal_precision": 1.0,
                      "refusal_recall": 0.0, "answer_p50_s": 4.4},
    }  # fmt: skip


def test_rows_weigh_sets_by_their_questions_and_say_what_was_replayed() -> None:
    rows = [
        table_row("seed_dev", summary(0.75, 0.5, 20)),
        table_row("crud_dev", summary(0.5, 0.75, 30, 60)),
    ]
    assert rows[0]["answer p50 ours / reference (s)"] == "4.8 / 4.4"
    assert rows[1]["answer p50 ours / reference (s)"] == "replayed"  # not a measured time
    total = total_row(rows)
    assert total["questions"] == 50
    assert total["archive-qa"] == 0.6 and total["reference"] == 0.65
    assert total["replayed prompts"] == 60


def test_a_stopped_run_leaves_a_partial_table(tmp_path: Path) -> None:
    path = tmp_path / "runs" / "table.md"
    about = ["- commit abc1234", *machine_lines()]
    write_table(
        path, "tune part", about, [table_row("seed_dev", summary(0.75, 0.5, 20))], False, 3.0
    )
    text = path.read_text(encoding="utf-8")
    assert "partial" in text and "| seed_dev | 20 | 0.75 | 0.5 |" in text
    assert "- commit abc1234" in text and "machine:" in text  # which code and machine


def test_the_samples_come_to_about_sixty_questions() -> None:
    assert 55 <= sum(s.size for s in SAMPLE_SETS) <= 65
    assert {s.name for s in SAMPLE_SETS} == {"seed_dev", "crud_dev", "public", "seed_near_misses"}
