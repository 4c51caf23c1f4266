"""Recording a model's replies and replaying them (qa/model_tape.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage

from index.errors import ArchiveQAError
from qa.model_tape import RecordingChatModel, ReplayChatModel, Tape


def test_a_recorded_reply_is_replayed_for_the_same_prompt_only(tmp_path: Path) -> None:
    inner = GenericFakeChatModel(messages=iter([AIMessage(content="往来酒店[1]。")]))
    tape = Tape()
    recorder = RecordingChatModel(inner=inner, tape=tape)
    prompt = [HumanMessage(content="哪家酒店？")]
    assert "".join(str(c.content) for c in recorder.stream(prompt)) == "往来酒店[1]。"
    tape.write(tmp_path / "tape.json")

    replay = ReplayChatModel(tape=Tape.read(tmp_path / "tape.json"))
    assert replay.invoke(prompt).content == "往来酒店[1]。"
    with pytest.raises(ArchiveQAError, match="重新录制"):
        replay.invoke([HumanMessage(content="另一个问题？")])
    assert replay.misses == 1


def test_a_prompt_already_recorded_is_not_asked_again() -> None:
    tape = Tape({})
    inner = GenericFakeChatModel(messages=iter([AIMessage(content="第一次")]))
    recorder = RecordingChatModel(inner=inner, tape=tape)
    prompt = [HumanMessage(content="哪家酒店？")]
    assert recorder.invoke(prompt).content == "第一次"
    assert recorder.invoke(prompt).content == "第一次"  # the fake has no second reply
    assert recorder.replayed == 1


def test_a_recording_is_on_disk_after_every_new_reply(tmp_path: Path) -> None:
    path = tmp_path / "tapes" / "tape.json"
    inner = GenericFakeChatModel(messages=iter([AIMessage(content="第一条"), AIMessage("第二条")]))
    recorder = RecordingChatModel(inner=inner, tape=Tape(), save_to=path)
    recorder.invoke([HumanMessage(content="问题一？")])
    assert Tape.read(path).replies.keys() == recorder.tape.replies.keys()  # stopped here: kept
    assert not list(path.parent.glob(".tape.json.*"))  # no temporary file left beside it

    again = RecordingChatModel(inner=inner, tape=Tape.read(path), save_to=path)
    assert again.invoke([HumanMessage(content="问题一？")]).content == "第一条"
    assert again.invoke([HumanMessage(content="问题二？")]).content == "第二条"
    assert again.replayed == 1
    assert len(Tape.read(path).replies) == 2


def test_a_gzip_tape_gives_the_same_bytes_for_the_same_replies(tmp_path: Path) -> None:
    """Committed tapes (eval/tapes/*.json.gz) change only when a reply does."""
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    Tape({"k2": "乙", "k1": {"text": "甲", "stats": {}}}).write(first)
    Tape({"k1": {"text": "甲", "stats": {}}, "k2": "乙"}).write(second)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes()[:2] == b"\x1f\x8b"  # gzip
    assert Tape.read(first).replies["k2"] == {"text": "乙"}
