"""From a question (and chat history) to a checked answer with citations.

question → prepare → condense (follow-ups) → parts → retrieve → context → prompt → model
(streamed) → citation check → candidates (the model's answer, repaired, two extracts) →
verdict (qa/verdict.py: the best candidate, or a refusal) → `Answer`. Without a model the
candidates are the extracts, judged by the same verdict.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Generator, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage

from index.chunk import Passage
from index.errors import ArchiveQAError
from index.schema import Provenance
from index.tokenize import tokenize
from qa.asked import asked_focus, asks_list
from qa.citations import (
    CheckedSentence,
    best_quote,
    check_answer,
    render,
)
from qa.cite_style import formal_citation
from qa.condense import carried_context, condense, translate_for_search, user_turns
from qa.confidence import ModelConfidence
from qa.context import ContextPassage, article_candidates, passage_context, select_context
from qa.dates import annotate_relative_years
from qa.extractive import MAX_SENTENCES as MAX_EXTRACT_SENTENCES
from qa.extractive import extract, extract_list, extract_near
from qa.llm import SelfChecking, describe_failure, loop_cut, make_chat_model
from qa.parts import QuestionPart, question_parts
from qa.prompts import chat_prompt, refusal_phrase, refusal_text
from qa.question import PreparedQuestion, is_chinese, prepare_question
from qa.repair import answer_echoes, restore_asked_detail
from qa.retrieve import Filters, Hit, HybridRetriever, RetrievalResult
from qa.settings import Settings
from qa.verdict import (
    Candidate,
    Evidence,
    dated_sentences,
    detail_pattern,
    group_of,
    is_refusal,
    judge,
    load_verdict_model,
    missing_parts,
)

logger = logging.getLogger(__name__)

MAX_LEADS = 3
FOREIGN_WITHOUT_MODEL = "摘录式回答（没有语言模型）只能回答中文提问，请用中文再问一次"
QUEUE_POLL_S = 1.0  # how often a waiting question looks at its place in the queue


def queue_notice(ahead: int) -> str:
    return f"排队中（前面还有 {ahead} 个问题）"


def issue_label(item: Provenance | dict[str, Any]) -> str:
    """paper · date · 第N期 · 第N版 — the provenance line of a citation or an index listing."""
    data = item if isinstance(item, dict) else item.to_dict()
    parts = [data.get("paper") or "报名未知"]
    date = data.get("date")
    parts.append(f"{date}（推断）" if date and data.get("date_inferred") else date or "日期未知")
    if data.get("issue_no") is not None:
        parts.append(f"第{data['issue_no']}期")
    if data.get("page") is not None:
        parts.append(f"第{data['page']}版")
    return " · ".join(parts)


def source_label(passage: Passage) -> str:
    return f"{issue_label(passage)} · 《{passage.title}》"


@dataclass
class Citation:
    """A marker `[number]` of the answer and the passage that proves it."""

    number: int
    passage_id: str
    label: str  # paper · date · 第N期 · 第N版 · 《headline》
    quote: str  # the passage sentence that supports the cited answer sentence
    passage: dict[str, Any]
    reference: str = field(init=False)  # the citation staff paste (qa/cite_style.py)

    def __post_init__(self) -> None:
        self.reference = formal_citation(self.passage)


@dataclass
class Answer:
    question: str
    standalone_question: str
    text: str
    refused: bool
    backend: str
    citations: list[Citation] = field(default_factory=list)
    sentences: list[CheckedSentence] = field(default_factory=list)
    leads: list[str] = field(default_factory=list)  # closest articles, shown with a refusal
    notices: list[str] = field(default_factory=list)
    removed_markers: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    passages: list[dict[str, Any]] = field(default_factory=list)  # what the model was shown
    verdict: dict[str, Any] = field(default_factory=dict)  # candidates, scores, the choice

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AnswerEvent:
    """One step of a streamed answer: its place in the queue, the standalone question, the
    passages the model is about to read ("sources", before its first word), a token, or
    the final answer."""

    kind: Literal["queued", "standalone", "sources", "token", "answer"]
    text: str = ""
    answer: Answer | None = None
    passages: list[dict[str, Any]] = field(default_factory=list)


def reading_list(context: list[ContextPassage]) -> list[dict[str, Any]]:
    """The numbered passages of the prompt as the page and the API show them while the
    model writes: the same numbers the answer's markers will use."""
    return [
        {
            "number": number,
            "label": source_label(item.hit.passage),
            "excerpt": item.excerpt,
            "reference": formal_citation(item.hit.passage.to_dict()),
            "article_id": item.hit.passage.article_id,
        }
        for number, item in enumerate(context, start=1)
    ]


@dataclass(frozen=True)
class Grounds:
    """What an answer is built on: the (standalone) question, its parts and token weights,
    the retrieved passages and the context the model reads."""

    question: str
    context: list[ContextPassage]
    weights: dict[str, float]
    parts: list[QuestionPart]
    part_weights: list[dict[str, float]]
    retrieved: list[Hit]
    filters: Filters | None = None

    @property
    def asked(self) -> str:
        """What the question asks, without the earlier turn a follow-up carries along
        (qa/condense.py): the model reads both, the answer is checked against this."""
        return carried_context(self.question)[0]


@dataclass(frozen=True)
class Judged:
    """The verdict over one model reply (or over the extracts alone): the candidate shown
    (None: refused), what it was judged against, and the markers that mapped to nothing."""

    chosen: Candidate | None
    evidence: Evidence
    candidates: list[Candidate]
    threshold: float
    removed: list[int]

    def record(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen.kind if self.chosen else None,
            "threshold": self.threshold,
            "candidates": [c.to_dict() for c in self.candidates],
        }


@dataclass
class Grounded:
    """A question ready to be answered: the answer being built, what it rests on, how it
    will be answered (refused, from extracts, or by the model) and the seconds taken."""

    answer: Answer
    grounds: Grounds
    route: Literal["refuse", "extract", "generate"]
    seconds: dict[str, float]


def final_answer(events: Iterable[AnswerEvent]) -> Answer:
    """The checked `Answer` a stream of events ends with."""
    answer = None
    for event in events:
        answer = event.answer or answer
    assert answer is not None
    return answer


def format_passage(passage: Passage, text: str | None = None) -> str:
    """A passage as the model sees it: provenance line, then the text (or an excerpt of it)
    with relative years ("今年") resolved against the issue date."""
    body = passage.text if text is None else text
    title = passage.title if len(passage.title) <= 40 else passage.title[:39] + "…"
    head = " ".join(part for part in (passage.paper, passage.date, f"《{title}》") if part)
    return f"{head}\n{annotate_relative_years(body, passage.date)}"


def format_passages(context: list[ContextPassage]) -> str:
    """The numbered passages of the prompt. A passage from an article already shown names
    that number instead of repeating paper, date and headline (prompt reading is most of
    the answer time on a CPU)."""
    first_number: dict[str, int] = {}
    blocks = []
    for number, item in enumerate(context, start=1):
        passage = item.hit.passage
        earlier = first_number.setdefault(passage.article_id, number)
        if earlier == number:
            blocks.append(f"[{number}] {format_passage(passage, item.excerpt)}")
        else:
            body = annotate_relative_years(item.excerpt, passage.date)
            blocks.append(f"[{number}] （与[{earlier}]同一篇报道）\n{body}")
    return "\n\n".join(blocks)


def _drop_trailing_mastheads(hits: list[Hit]) -> list[Hit]:
    """Masthead passages (date, issue number, hotline) answer questions about the paper
    itself, and then they rank first; below an article they are only noise to the model."""
    kept: list[Hit] = []
    for hit in hits:
        if hit.passage.kind == "masthead" and any(h.passage.kind != "masthead" for h in kept):
            continue
        kept.append(hit)
    return kept


def _part_missing(part: QuestionPart) -> CheckedSentence:
    """The line an answer carries for a part of the question the archive does not answer."""
    return CheckedSentence(f"资料中没有找到“{part.text}”的信息。")


def _renumber(hits: list[Hit], shown: list[Hit]) -> dict[int, int]:
    """Numbers of ``hits`` (from 1) in the answer's list ``shown``: a passage already there
    keeps its number, a new one is appended to ``shown``."""
    numbers = {}
    for number, hit in enumerate(hits, 1):
        place = next((n for n, h in enumerate(shown, 1) if h.passage.id == hit.passage.id), None)
        if place is None:
            shown.append(hit)
            place = len(shown)
        numbers[number] = place
    return numbers


class Answerer:
    """Answers questions over one index with one backend; reusable across questions."""

    def __init__(
        self,
        retriever: HybridRetriever,
        settings: Settings,
        model: BaseChatModel | None,
        backend: str,
        model_notice: str | None = None,
        condense_model: BaseChatModel | None = None,
    ) -> None:
        self.retriever = retriever
        self.settings = settings
        self.model = model
        self.condense_model = condense_model or model
        self.backend = backend if model is not None else "none"
        self.model_notice = model_notice

    def ask(
        self,
        question: str,
        history: list[dict[str, Any]] | None = None,
        filters: Filters | None = None,
    ) -> Answer:
        return final_answer(self.stream(question, history, filters))

    def warm_up(self) -> None:
        """Have a local model read the fixed parts of the answer and condense prompts now,
        not during the first question (about 7 s on 2 cores). Remote and extractive
        backends skip this. Retrieval has first-use costs too: the embedding model's first
        query (~1.7 s), jieba's dictionary (~1 s) and the search indexes, paid here so that
        the first question's sources show as fast as the next ones'."""
        self.retriever.embeddings.embed_query("预热")
        tokenize("预热")
        self.retriever.search("预热", k=1)
        for model, prompt in ((self.model, "answer"), (self.condense_model, "condense")):
            warm = getattr(model, "warm_up", None)
            if warm is not None:
                warm(chat_prompt(prompt).format_messages(passages="", history="", question=""))

    def model_problem(self) -> str | None:
        """Why answers are extractive although a model was configured, or None."""
        unavailable = getattr(self.model, "unavailable", None)
        return self.model_notice or (unavailable() if unavailable else None)

    def stream(
        self,
        question: str,
        history: list[dict[str, Any]] | None = None,
        filters: Filters | None = None,
    ) -> Iterator[AnswerEvent]:
        """Yield the standalone question, then tokens as the model writes them, then the
        checked `Answer`. A question that waits for the local model first yields "queued"
        events with its place in the queue. Raises ArchiveQAError for an empty question."""
        prepared = prepare_question(question, self.settings.max_question_chars)  # before queueing
        queue = getattr(self.model, "queue", None)
        if queue is None:
            yield from self._stream(prepared, history, filters, 0.0)
            return
        started = time.perf_counter()
        with queue.turn() as turn:
            grounded = None
            if turn.ahead() and self._grounds_without_model(prepared, history):
                # The sources are ready long before the model's turn: show them meanwhile.
                grounded = self._ground(prepared, history, filters)
                if grounded.route == "generate":
                    yield AnswerEvent("sources", passages=reading_list(grounded.grounds.context))
            shown = 0
            while ahead := turn.ahead():
                if ahead != shown:
                    yield AnswerEvent("queued", queue_notice(ahead))
                    shown = ahead
                turn.wait(QUEUE_POLL_S)
            if grounded is not None and grounded.route != "generate":
                grounded = None  # decided while waiting; the model may be back (or gone) now
            yield from self._stream(
                prepared, history, filters, time.perf_counter() - started, grounded
            )

    def _ground(
        self,
        prepared: PreparedQuestion,
        history: list[dict[str, Any]] | None,
        filters: Filters | None,
    ) -> Grounded:
        """Condense, search and pick the context: everything before the model writes."""
        started = time.perf_counter()
        notices = list(prepared.notices)
        problem = self.model_problem()
        if problem:
            notices.append(problem)
        helper = None if problem else self.condense_model
        standalone = condense(prepared.text, history or [], helper)
        query = self._search_text(standalone, helper)
        condensed_at = time.perf_counter()
        found, hits, parts = self.retrieve(query, filters)
        answer = Answer(
            question=prepared.text,
            standalone_question=query,
            text="",
            refused=False,
            backend=self.backend,
            notices=notices,
            leads=self._leads(found.hits),
        )
        part_weights = self.part_weights(parts)
        grounds = Grounds(
            question=query,
            context=self.context(hits, part_weights),
            weights=self.retriever.term_weights(set(tokenize(query))),
            parts=parts,
            part_weights=part_weights,
            retrieved=hits,
            filters=filters,
        )
        if helper is None and not is_chinese(query):
            # Extracts match words; a question in another language shares none with the
            # archive, and no model is there to translate it.
            answer.notices.append(FOREIGN_WITHOUT_MODEL)
            route = "refuse"
        elif self._nothing_relevant(standalone, hits):
            route = "refuse"
        else:
            route = "extract" if self.model is None or problem else "generate"
        seconds = {
            "condense_s": round(condensed_at - started, 3),
            "retrieve_s": round(time.perf_counter() - condensed_at, 3),
        }
        return Grounded(answer, grounds, route, seconds)

    def _grounds_without_model(
        self, prepared: PreparedQuestion, history: list[dict[str, Any]] | None
    ) -> bool:
        """Can this question be searched for without the model (no follow-up to rewrite, no
        translation)? Then it is, while it waits for the model."""
        return not user_turns(history or []) and is_chinese(prepared.text)

    def _stream(
        self,
        prepared: PreparedQuestion,
        history: list[dict[str, Any]] | None,
        filters: Filters | None,
        queued_s: float,
        grounded: Grounded | None = None,
    ) -> Iterator[AnswerEvent]:
        """The answer over ``grounded`` (searched for now if not given)."""
        sources_shown = grounded is not None
        grounded = grounded or self._ground(prepared, history, filters)
        answer, grounds = grounded.answer, grounded.grounds
        yield AnswerEvent("standalone", answer.standalone_question)
        if grounded.route == "generate" and not sources_shown:
            yield AnswerEvent("sources", passages=reading_list(grounds.context))
        started = time.perf_counter()
        if grounded.route == "refuse":
            self._refuse(answer)
        elif grounded.route == "extract":
            self._finish(answer, None, grounds)  # extractive candidates, the same verdict
        else:
            try:
                yield from self._generate(answer, grounds)
            except Exception as exc:  # any backend fault; the app keeps serving
                reason = describe_failure(exc, self.settings)
                logger.warning("answer generation failed: %s", reason)
                answer.notices.append(f"{reason}；以下为摘录式回答")
                self._finish(answer, None, grounds)
        generate_s = round(time.perf_counter() - started, 3)
        answer.timings |= {
            "queue_s": round(queued_s, 3),
            **grounded.seconds,
            "generate_s": generate_s,
            "total_s": round(sum(grounded.seconds.values()) + generate_s, 3),
        }
        yield AnswerEvent("answer", answer.text, answer)

    def retrieve(
        self, query: str, filters: Filters | None = None
    ) -> tuple[RetrievalResult, list[Hit], list[QuestionPart]]:
        """The search result, the passages the answer is drawn from, and the question's
        parts. A question that asks several things is searched for part by part (one
        search per year for "2021年和2024年…分别"), the parts' passages taken in turn; a
        follow-up that carries its earlier turn along, by its own words and then with it."""
        depth = max(self.settings.retrieval_k, self.settings.answer_passages)
        found = self.retriever.search(query, k=depth, filters=filters)
        parts = question_parts(query)
        carried = carried_context(query)[1]
        if len(parts) == 1 and not carried:
            return (
                found,
                _drop_trailing_mastheads(found.hits[: self.settings.answer_passages]),
                parts,
            )
        rankings = [
            self.retriever.search(part.query, k=self.settings.answer_passages, filters=filters).hits
            for part in parts
        ]
        if carried:  # a follow-up's own words find its fact, the earlier turn its subject
            rankings.append(found.hits[: self.settings.answer_passages])
        merged: dict[str, Hit] = {}
        for hit in itertools.chain.from_iterable(itertools.zip_longest(*rankings)):
            if hit is not None:
                merged.setdefault(hit.passage.id, hit)
        return found, _drop_trailing_mastheads(list(merged.values())), parts

    def part_weights(self, parts: list[QuestionPart]) -> list[dict[str, float]]:
        """IDF weights of each part's search tokens."""
        return [self.retriever.term_weights(set(tokenize(part.query))) for part in parts]

    def context(
        self, hits: list[Hit], part_weights: list[dict[str, float]]
    ) -> list[ContextPassage]:
        """What the model reads: the sentences that bear on each part of the question (one
        weight set per part), from every passage of the articles the best ``hits`` come
        from."""
        settings = self.settings
        if settings.context_mode == "passages":
            return passage_context(
                hits,
                self.retriever.index.article_passages,
                settings.context_passage_chars,
                settings.answer_articles,
                settings.context_continuation_chars,
            )
        candidates, penalties = article_candidates(
            hits,
            self.retriever.index.article_passages,
            settings.answer_articles * len(part_weights),
            settings.context_rank_penalty,
            settings.context_sibling_penalty,
        )
        several = len(part_weights) > 1
        budget = settings.context_part_chars if several else settings.answer_context_chars
        return select_context(
            candidates,
            part_weights,
            budget,
            settings.context_repeat_weight,
            penalties=penalties,
        )

    def _search_text(self, question: str, model: BaseChatModel | None) -> str:
        """The question, and for one not in Chinese also its Chinese translation (the
        archive is Chinese, and so is what the model reads best): what is searched for and
        what the model answers."""
        if is_chinese(question) or model is None:
            return question
        translated = translate_for_search(question, model)
        return f"{question}（{translated}）" if translated else question

    def _nothing_relevant(self, question: str, hits: list[Hit]) -> bool:
        """No passage, or (for a Chinese question) none shares enough of its rare words."""
        if not hits:
            return True
        if not is_chinese(question):
            return False  # word coverage means little across languages; the model judges
        return max(hit.coverage for hit in hits) < self.settings.min_coverage

    def _generate(self, answer: Answer, grounds: Grounds) -> Iterator[AnswerEvent]:
        """Stream the model's answer to the question over the context; then, for a question
        in parts whose answer lost a part, that part's own answer."""
        text, confidence = yield from self._model_reply(answer, grounds)
        lost = self._finish(answer, text, grounds, confidence)
        try:
            if lost:
                yield from self._answer_parts(answer, grounds, lost)
            elif (top := self._doubtful(answer, grounds)) is not None:
                yield from self._second_look(answer, grounds, top)
        except Exception as exc:  # a fault in an extra call keeps the answer already checked
            reason = describe_failure(exc, self.settings)
            logger.warning("extra model call failed: %s", reason)
            answer.verdict["extra_call_failed"] = reason

    def _doubtful(self, answer: Answer, grounds: Grounds) -> list[ContextPassage] | None:
        """The best article's passages when the verdict is unsure of the model's written
        answer (its score within `Settings.verdict_band` of the threshold) and the model
        read several articles, of which the fact may have come from the wrong one; else
        None."""
        band = self.settings.verdict_band
        written = [c for c in answer.verdict["candidates"] if group_of(c["kind"]) == "model"]
        if not band or not written or written[0]["features"]["model_refused"]:
            return None
        if len(grounds.parts) > 1:
            return None
        if abs(max(c["score"] for c in written) - answer.verdict["threshold"]) > band:
            return None
        best = grounds.context[0].hit.passage.article_id
        top = [item for item in grounds.context if item.hit.passage.article_id == best]
        return top if len(top) < len(grounds.context) else None

    def _second_look(
        self, answer: Answer, grounds: Grounds, top: list[ContextPassage]
    ) -> Iterator[AnswerEvent]:
        """Ask again over the best article alone; its answer is shown instead when the
        verdict accepts it and scores it above the first (the first may have been refused).
        Its passages keep their numbers."""
        started = time.perf_counter()
        own = replace(grounds, context=top)
        yield AnswerEvent("token", "\n")
        text, confidence = yield from self._model_reply(answer, own)
        judged = self._judge(text, own, confidence)
        answer.verdict["second_look"] = judged.record()
        answer.timings["second_look_s"] = round(time.perf_counter() - started, 3)
        if judged.chosen is None or group_of(judged.chosen.kind) != "model":
            return  # an extract does not stand in for a written answer (verdict.choose)
        chosen = answer.verdict["chosen"]
        first = max(
            (c["score"] for c in answer.verdict["candidates"] if c["kind"] == chosen), default=0.0
        )
        if judged.chosen.score <= first:
            return
        shown = [item.hit for item in grounds.context]
        numbers = _renumber([item.hit for item in top], shown)
        answer.refused = False
        answer.removed_markers = []
        self._show(
            answer,
            [replace(s, cited=[numbers[n] for n in s.cited]) for s in judged.chosen.sentences],
            shown,
        )

    def _model_reply(
        self, answer: Answer, grounds: Grounds
    ) -> Generator[AnswerEvent, None, tuple[str, ModelConfidence]]:
        """Stream the model's reply over ``grounds`` as token events; return its text (a
        decoding loop cut to one copy) and the model's own confidence. Timings go on
        ``answer`` (the first token's only once)."""
        messages = chat_prompt("answer").format_messages(
            passages=format_passages(grounds.context), question=grounds.question
        )
        text = ""
        logprobs: list[dict[str, Any]] = []  # an OpenAI-compatible endpoint's, per token
        started = time.perf_counter()
        for chunk in self.model.stream(messages):
            logprobs += (chunk.response_metadata.get("logprobs") or {}).get("content") or []
            token = str(chunk.content)
            if token:
                if not text:  # time to first token, counted from the end of retrieval
                    answer.timings.setdefault(
                        "first_token_s", round(time.perf_counter() - started, 3)
                    )
                text += token
                yield AnswerEvent("token", token)
                cut = loop_cut(text)
                if cut is not None:  # stop the model; the shown text is replaced when checked
                    text = text[:cut]
                    break
        stats = getattr(self.model, "last_stats", None) or {}
        for key, value in stats.items():  # the local model says what it read and wrote
            name = f"model_{key}"
            if not isinstance(value, int | float) or (
                key.startswith("first") and name in answer.timings
            ):
                continue  # counts and seconds add up over the answer's calls; the first token's not
            answer.timings[name] = answer.timings.get(name, 0) + value
        confidence = (
            ModelConfidence.from_logprobs(logprobs, refusal_phrase())
            if logprobs
            else ModelConfidence.from_stats(stats, refusal_phrase())
        )
        if (
            self.settings.llm_self_check
            and not is_refusal(text)
            and isinstance(self.model, SelfChecking)
        ):
            checked_at = time.perf_counter()
            check = [*messages, AIMessage(text), *chat_prompt("self_check").format_messages()]
            confidence = replace(confidence, self_check_yes=self.model.yes_probability(check))
            answer.timings["self_check_s"] = round(time.perf_counter() - checked_at, 3)
        return text, confidence

    def _judge(
        self, raw: str | None, grounds: Grounds, confidence: ModelConfidence | None = None
    ) -> Judged:
        """Build the candidate answers (the model's ``raw`` text checked and repaired, and
        the extractive ones) and let the verdict pick one or refuse."""
        question, weights = grounds.asked, grounds.weights
        hits = [item.hit for item in grounds.context]
        bodies = {n: hit.passage.text for n, hit in enumerate(hits, 1)}
        sources = {n: format_passage(hit.passage) for n, hit in enumerate(hits, 1)}
        threshold = self.settings.citation_support
        evidence = Evidence(
            question=question,
            weights=weights,
            part_weights=grounds.part_weights,
            bodies=bodies,
            heads={n: format_passage(hit.passage, "") for n, hit in enumerate(hits, 1)},
            dated_sentences=dated_sentences(
                [(h.passage.title, h.passage.text, h.passage.date) for h in hits]
            ),
            top_coverage=max((hit.coverage for hit in grounds.retrieved), default=0.0),
            top_dense=max((hit.dense_score for hit in grounds.retrieved), default=0.0),
            model_refused=raw is not None and is_refusal(raw),
            date_anchor_coverage=self.settings.date_anchor_coverage,
            confidence=confidence or ModelConfidence(),
            articles={n: hit.passage.article_id for n, hit in enumerate(hits, 1)},
        )
        candidates: list[Candidate] = []
        removed: list[int] = []
        if raw is not None:
            checked = check_answer(raw, sources, threshold, question)
            removed = checked.removed_markers
            candidates.append(Candidate("model", checked.sentences))
            repaired = answer_echoes(
                restore_asked_detail(checked.sentences, bodies, question), bodies, question, weights
            )
            if render(repaired) != checked.text:
                candidates.append(Candidate("repaired", repaired))
        extracts = [("extract", None, MAX_EXTRACT_SENTENCES)]
        if (pattern := detail_pattern(question)) is not None:
            extracts.append(("detail_extract", pattern, 1))
        # The sentence that prints the asked thing beside the focus word, and for a list
        # question the sentence that enumerates: answers more often than the sentence with
        # most question words (which is often an article's lead).
        texts = [(kind, extract(bodies, weights, must_print, count)[0])
                 for kind, must_print, count in extracts]  # fmt: skip
        if (focus := asked_focus(question)) is not None:
            texts.append(("focus_extract", extract_near(bodies, weights, focus, pattern)))
        if asks_list(question):
            texts.append(("list_extract", extract_list(bodies, weights)))
        known = set()
        for kind, text in texts:
            if text and text not in known:  # the same sentence twice is one candidate
                known.add(text)
                candidates.append(
                    Candidate(kind, check_answer(text, sources, threshold, question).sentences)
                )
        model = load_verdict_model()
        chosen = judge(candidates, evidence, model)
        return Judged(chosen, evidence, candidates, model.threshold, removed)

    def _finish(
        self,
        answer: Answer,
        raw: str | None,
        grounds: Grounds,
        confidence: ModelConfidence | None = None,
    ) -> list[QuestionPart]:
        """Judge the candidates and show the chosen one with its citations (or refuse).
        Returns the parts of a question in parts that the answer leaves out (every part
        after a refusal): each may still be answered on its own (`_answer_parts`)."""
        judged = self._judge(raw, grounds, confidence)
        answer.verdict = judged.record()
        hits = [item.hit for item in grounds.context]
        parts = grounds.parts if len(grounds.parts) > 1 else []
        if judged.chosen is None:
            answer.passages = [
                {"number": n, **hit.passage.to_dict()} for n, hit in enumerate(hits, 1)
            ]
            self._refuse(answer)
            return list(parts)
        missing = set(missing_parts(judged.chosen, judged.evidence, [p.text for p in parts]))
        lost = [part for part in parts if part.text in missing]
        answer.removed_markers = judged.removed if group_of(judged.chosen.kind) == "model" else []
        sentences = [*judged.chosen.sentences, *(_part_missing(part) for part in lost)]
        self._show(answer, sentences, hits)
        return lost

    def _answer_parts(
        self, answer: Answer, grounds: Grounds, lost: list[QuestionPart]
    ) -> Iterator[AnswerEvent]:
        """Answer each lost part of a question on its own: its own search (its own year's
        issues first), its own context, its own model call and verdict. A part the verdict
        accepts takes the place of the answer's "资料中没有找到…" line for it (after a
        refusal, the parts answered make the answer); its passages join the numbered ones."""
        started = time.perf_counter()
        shown = [item.hit for item in grounds.context]
        answered: list[CheckedSentence] = []
        unanswered: list[CheckedSentence] = []
        for part in lost:
            hits = self.retriever.search(
                part.query, k=self.settings.answer_passages, filters=grounds.filters
            ).hits
            [weights] = self.part_weights([part])
            own = Grounds(
                question=part.query,
                context=self.context(_drop_trailing_mastheads(hits), [weights]),
                weights=weights,
                parts=[QuestionPart(part.query, part.query)],
                part_weights=[weights],
                retrieved=hits,
                filters=grounds.filters,
            )
            yield AnswerEvent("token", "\n")
            text, confidence = yield from self._model_reply(answer, own)
            judged = self._judge(text, own, confidence)
            answer.verdict.setdefault("parts", []).append({"part": part.text, **judged.record()})
            if judged.chosen is None:
                unanswered.append(_part_missing(part))
                continue
            numbers = _renumber([item.hit for item in own.context], shown)
            answered += [
                replace(s, cited=[numbers[n] for n in s.cited]) for s in judged.chosen.sentences
            ]
        answer.timings |= {
            "part_calls": len(lost),
            "part_s": round(time.perf_counter() - started, 3),
        }
        if not answered:
            return
        missing_lines = {_part_missing(part).text for part in lost}
        kept = [s for s in answer.sentences if s.text not in missing_lines]
        answer.refused = False
        self._show(answer, [*kept, *answered, *unanswered], shown)

    def _show(self, answer: Answer, sentences: list[CheckedSentence], hits: list[Hit]) -> None:
        """Put ``sentences`` on ``answer`` with a citation for every passage number they
        cite (``hits`` numbered from 1), quoting the passage sentence that supports them."""
        answer.text = render(sentences)
        answer.sentences = sentences
        answer.passages = [{"number": n, **hit.passage.to_dict()} for n, hit in enumerate(hits, 1)]
        quotes: dict[int, str] = {}
        for sentence in sentences:
            for number in sentence.cited:
                quotes.setdefault(number, best_quote(sentence.text, hits[number - 1].passage.text))
        answer.citations = [
            Citation(
                number=number,
                passage_id=hits[number - 1].passage.id,
                label=source_label(hits[number - 1].passage),
                quote=quotes[number],
                passage=hits[number - 1].passage.to_dict(),
            )
            for number in sorted(quotes)
        ]

    def _refuse(self, answer: Answer) -> None:
        answer.refused = True
        answer.text = refusal_text(answer.leads)
        answer.citations, answer.sentences = [], []

    @staticmethod
    def _leads(hits: list[Hit]) -> list[str]:
        """The closest articles (one line each), for "you may want to look at"."""
        seen: dict[str, str] = {}
        for hit in hits:
            if hit.passage.kind == "article" and hit.passage.article_id not in seen:
                seen[hit.passage.article_id] = source_label(hit.passage)
        return list(seen.values())[:MAX_LEADS]


def build_answerer(
    settings: Settings, backend: str | None = None, retriever: HybridRetriever | None = None
) -> Answerer:
    """An `Answerer` over the configured index. When the model cannot be set up, answers
    are extractive and every answer carries a notice saying why."""
    from qa.retrieve import open_retriever

    retriever = retriever or open_retriever(settings)
    backend = backend or settings.llm
    condense_model = None
    try:
        model = make_chat_model(settings, backend)
        notice = None
        if backend == "local":
            condense_model = make_chat_model(settings, backend, role="condense")
    except ArchiveQAError as exc:
        logger.warning("language model unavailable: %s", exc)
        model, notice = None, f"语言模型不可用（{exc.message}），已改用摘录式回答"
    return Answerer(retriever, settings, model, backend, notice, condense_model)
