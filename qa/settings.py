"""One settings object for the whole project.

Values come from, in order of precedence: keyword arguments, environment variables
``ARCHIVE_QA_*``, a TOML file (``ARCHIVE_QA_CONFIG`` or ``archive-qa.toml`` in the working
directory), then the defaults below.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from index.options import (
    ChunkOptions,
    IndexOptions,
    MilvusAddress,
    ReadOptions,
    StoreOptions,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _config_file() -> Path:
    return Path(os.environ.get("ARCHIVE_QA_CONFIG", "archive-qa.toml"))


class Settings(BaseSettings):
    """Every tunable of archive-qa in one place."""

    model_config = SettingsConfigDict(env_prefix="ARCHIVE_QA_", extra="ignore")

    # Storage
    index_dir: Path = Field(Path(".index"), description="Folder of the index (articles, vectors).")
    # Where passages, vectors and BM25 live: the FAISS folder above, or Milvus (scale-out).
    # The writer lock stays in index_dir for both.
    store: Literal["faiss", "milvus"] = Field("faiss", description="Index store backend.")
    milvus_uri: str = Field(
        "",
        description=(
            "Milvus to use with store=milvus: a local file (Milvus Lite, embedded) or "
            "http://host:19530 (standalone server or cluster). Empty: index_dir/milvus.db."
        ),
    )
    milvus_token: SecretStr | None = Field(None, description="Milvus user:password or API key.")
    milvus_collection: str = Field(
        "archive_qa", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Collection name prefix."
    )
    milvus_timeout_s: float = Field(10.0, gt=0, description="Seconds to wait for Milvus.")
    embedding_model_path: Path = Field(
        PROJECT_ROOT / "models" / "multilingual-e5-small",
        description="sentence-transformers folder of the embedding model (set-up converts it).",
    )
    embedding_backend: str = Field(
        "onnx-int8", description="torch (sentence-transformers fp32) or onnx-int8 (faster)."
    )
    embedding_batch_size: int = Field(
        8, gt=0, description="Texts per model call: 8 is as fast as 32 here and needs 0.3 GB less."
    )
    threads: int = Field(2, gt=0, description="CPU threads for the models.")
    llm_model_path: Path = Field(
        PROJECT_ROOT / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        description="GGUF file of the local language model (set-up assembles it).",
    )

    # Language model (answers). local = the GGUF above through llama.cpp; openai = any
    # OpenAI-compatible endpoint; none = extractive answers without a model.
    llm: Literal["local", "openai", "none"] = Field("local", description="Answer backend.")
    llm_context_tokens: int = Field(4096, gt=512, description="Context window of the local model.")
    # Machine-wide: evaluations and benchmarks that load the local model take turns
    # (qa/model_turn.py); two at once make each 2-3x slower on 2 cores.
    model_turn_lock: Path = Field(
        Path(tempfile.gettempdir()) / "archive-qa-model.lock",
        description="Lock file that model-loading evaluations and benchmarks take turns on.",
    )
    # auto: what the set-up's self-check chose for this CPU (qa/llm_runtime.py); on/off force
    # llama.cpp's extra buffer types, e.g. to run the tests under each load option.
    llm_extra_bufts: Literal["auto", "on", "off"] = Field(
        "auto", description="llama.cpp extra buffer types (repacked weights): auto, on or off."
    )
    llm_max_tokens: int = Field(200, gt=0, description="Longest answer, in tokens.")
    llm_temperature: float = Field(0.0, ge=0, le=2)
    # Off: on the tune sample its P(是) did not tell right answers from wrong ones (AUC 0.52 on
    # 46 answers) and it cost 10 % of the answer time (docs/answer-quality.md, round 4).
    llm_self_check: bool = Field(
        False, description="After each answer, ask the model whether the passages state it."
    )
    llm_timeout_s: float = Field(60.0, gt=0, description="Seconds to wait for an endpoint.")
    # The local model runs in its own process (qa/llm_process.py); one that loads or writes
    # nothing for this long is ended and restarted.
    llm_start_timeout_s: float = Field(
        120.0, gt=0, description="Seconds the local model's process may take to load."
    )
    llm_first_token_timeout_s: float = Field(
        120.0, gt=0, description="Seconds the local model may read a prompt before its first token."
    )
    llm_self_check_timeout_s: float = Field(
        300.0, gt=0, description="Seconds the set-up's self-check of the local model may take."
    )
    llm_token_timeout_s: float = Field(
        30.0, gt=0, description="Seconds the local model may take between two tokens."
    )
    llm_max_retries: int = Field(1, ge=0, description="Retries after a failed endpoint call.")
    openai_base_url: str = Field(
        "http://127.0.0.1:11434/v1", description="OpenAI-compatible endpoint (Ollama's by default)."
    )
    openai_model: str = Field("qwen2.5:1.5b", description="Model name at the endpoint.")
    openai_logprobs: bool = Field(
        True,
        description="Ask the endpoint for token log-probabilities (the verdict's confidence "
        "features; llama.cpp's server and vLLM give them). Turn off for endpoints that refuse.",
    )
    openai_api_key: SecretStr = Field(
        SecretStr(""),
        validation_alias=AliasChoices(
            "ARCHIVE_QA_OPENAI_API_KEY", "OPENAI_API_KEY", "openai_api_key"
        ),
        description="Never logged or shown.",
    )

    # Answering
    answer_passages: int = Field(
        4, gt=0, description="Passages put in front of the model (numbered [1]..[n])."
    )
    # The local model reads ~50 tokens/s on 2 cores: the excerpt budget is most of the
    # answer time (README, "Answers").
    answer_context_chars: int = Field(
        320, gt=50, description="Characters of passage sentences put in front of the model."
    )
    answer_articles: int = Field(
        3, gt=0, description="Articles (of the best passages) whose sentences the model may read."
    )
    context_mode: Literal["sentences", "passages"] = Field(
        "passages",
        description="What the model reads: picked sentences, or whole passages in reading order.",
    )
    context_passage_chars: int = Field(
        500, gt=50, description="Characters of whole passages the model reads (passages mode)."
    )
    # Round 8 (docs/answer-quality.md): more of the best articles, no more of their neighbours;
    # whole holdout 0.677 -> 0.700 (seed_dev +0.021, crud_dev +0.028).
    context_continuation_chars: int = Field(
        600,
        gt=50,
        description="Characters the context may reach with more of an article already in it "
        "(passages mode; a new article must fit the plain budget).",
    )
    # A question that asks several things (qa/parts.py) gets this budget per part instead
    # (docs/answer-quality.md: chosen on the tune parts by evidence reaching the context).
    context_part_chars: int = Field(
        160, gt=50, description="Context characters per part of a several-part question."
    )
    # Greedy question coverage when picking context sentences (qa/context.py; README,
    # "Answers"): a word already covered counts this much again; later passages pay a
    # small per-rank penalty.
    context_repeat_weight: float = Field(
        0.3, ge=0, le=1, description="Weight of a question word each time it is covered again."
    )
    context_rank_penalty: float = Field(
        0.02, ge=0, description="Coverage a context sentence loses per passage rank."
    )
    context_sibling_penalty: float = Field(
        0.05,
        ge=0,
        description="Coverage a sentence loses when its passage was not retrieved itself but "
        "belongs to a retrieved article.",
    )
    max_question_chars: int = Field(
        500, gt=10, description="Longer questions are cut to this length, with a notice."
    )
    # Calibrated on the public set (README, "Answers"): answerable questions reach at least
    # 0.17 IDF-weighted word coverage in their best passage.
    min_coverage: float = Field(
        0.08, ge=0, le=1, description="Below this best-passage coverage, refuse without the model."
    )
    date_anchor_coverage: float = Field(
        0.15,
        ge=0,
        le=1,
        description="A date given in answer to a when-question must stand in a passage sentence "
        "with at least this much of the question's words (README, answers).",
    )
    citation_support: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of a sentence's character bigrams its cited passage must contain.",
    )
    # The verdict's uncertain band (qa/answer.py `_second_look`): a written answer scored
    # this close to the threshold, over passages of several articles, is asked again over
    # the best article alone (docs/answer-quality.md, round 6).
    verdict_band: float = Field(
        0.15,
        ge=0,
        le=1,
        description="A model answer within this of the verdict's threshold gets a second look "
        "over the top article alone (0: never).",
    )

    # Web app
    app_host: str = Field("127.0.0.1", description="Address the web app binds to.")
    app_port: int = Field(7860, gt=0, lt=65536)
    app_user: str = Field("archive", description="User name when a password is set.")
    app_password: SecretStr = Field(
        SecretStr(""), description="Set it to require a login (shared deployments)."
    )
    api_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token the OpenAI-compatible API (/v1) requires; empty: none.",
    )
    api_model_name: str = Field(
        "archive-qa", description="The model id the OpenAI-compatible API lists and answers as."
    )
    reference_cache_dir: Path = Field(
        Path("eval-out/reference-cache"),
        description="Vectors of the evaluation's reference pipeline (archive-qa eval --reference).",
    )
    upload_dir: Path = Field(
        Path("archive"), description="Where uploaded issue files are kept (sanitised names)."
    )
    max_upload_mb: int = Field(50, gt=0, description="Largest upload accepted by the web app.")
    app_concurrency: int = Field(
        8,
        gt=0,
        description="Questions the web app takes at once; with the local model they wait for "
        "it in order and see their place in the queue.",
    )
    seeds_dir: Path = Field(
        PROJECT_ROOT / "seeds", description="Indexed on first start when the index is empty."
    )

    # Ingestion
    max_file_mb: float = Field(50.0, gt=0, description="Files larger than this are skipped.")
    supported_extensions: tuple[str, ...] = (".txt", ".md", ".html", ".htm", ".pdf")
    min_pdf_chars_per_page: int = Field(
        20, description="Below this many characters a PDF page counts as having no text layer."
    )
    known_papers: tuple[str, ...] = Field(
        (), description="Extra paper names to recognise in mastheads, besides the built-in rules."
    )
    # 220/40 measured best for the fused ranking on CRUD-3k (README, "Retrieval").
    chunk_size: int = Field(
        220, gt=20, description="Passage length in characters (LangChain splitter)."
    )
    chunk_overlap: int = Field(40, ge=0, description="Characters shared by neighbouring passages.")
    bm25_k1: float = Field(0.9, gt=0, description="BM25 term saturation (measured on CRUD-3k).")
    bm25_b: float = Field(0.4, ge=0, le=1, description="BM25 length normalisation.")
    retrieval_k: int = Field(5, gt=0, description="Passages returned per question.")
    retrieval_depth: int = Field(50, gt=0, description="Candidates taken from each ranker.")
    # Chosen by measurement on the public set and CRUD (README, "Retrieval"): e5-small is
    # the weaker ranker here, so it refines BM25's order rather than voting as an equal.
    fusion: str = Field("convex", description="convex (weighted min-max scores) or rrf (ranks).")
    dense_weight: float = Field(0.3, ge=0)
    bm25_weight: float = Field(1.0, ge=0)
    rrf_k: int = Field(60, gt=0, description="Reciprocal rank fusion constant (fusion=rrf).")
    date_boost: float = Field(
        0.3, ge=0, description="Boost for passages from a year/month the question names."
    )
    today: dt.date | None = Field(
        None, description="Reference date for 今年/去年 (default: today)."
    )
    heading_max_chars: int = Field(64, description="Longest line that can be a headline.")
    intertitle_min_cohesion: float = Field(
        0.15,
        description=(
            "A heading followed by body text (no byline) is an intertitle of the current article "
            "when its lexical cohesion with the article so far reaches this (see index.segment)."
        ),
    )

    @property
    def milvus_uri_resolved(self) -> str:
        return self.milvus_uri or str(self.index_dir / "milvus.db")

    @property
    def milvus_uri_shown(self) -> str:
        """The Milvus URI for messages and the status line, without a password in it."""
        uri = self.milvus_uri_resolved
        password = urlsplit(uri).password if "://" in uri else None
        return uri.replace(f":{password}@", ":***@") if password else uri

    def read_options(self) -> ReadOptions:
        return ReadOptions(
            max_file_mb=self.max_file_mb,
            supported_extensions=self.supported_extensions,
            min_pdf_chars_per_page=self.min_pdf_chars_per_page,
            known_papers=self.known_papers,
            heading_max_chars=self.heading_max_chars,
            intertitle_min_cohesion=self.intertitle_min_cohesion,
        )

    def chunk_options(self) -> ChunkOptions:
        return ChunkOptions(self.chunk_size, self.chunk_overlap, self.bm25_k1, self.bm25_b)

    def store_options(self) -> StoreOptions:
        token = self.milvus_token.get_secret_value() if self.milvus_token else ""
        milvus = MilvusAddress(
            uri=self.milvus_uri_resolved,
            shown=self.milvus_uri_shown,
            token=token,
            collection=self.milvus_collection,
            timeout_s=self.milvus_timeout_s,
        )
        return StoreOptions(self.store, self.index_dir, milvus, self.chunk_options().bm25_params)

    def index_options(self) -> IndexOptions:
        """What the index layer needs of these settings (`index.options`)."""
        return IndexOptions(self.read_options(), self.chunk_options(), self.store_options())

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_config_file())
        return (init_settings, env_settings, toml)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
