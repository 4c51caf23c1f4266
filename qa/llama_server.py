"""llama.cpp's own OpenAI-compatible server (llama-cpp-python's ``server`` extra) for the
configured GGUF, loaded the way the set-up's self-check chose for this CPU (qa/llm_runtime.py:
the stock server's default load crashes on AMX Xeons).

    python -m qa.llama_server --port 8000
    ARCHIVE_QA_LLM=openai ARCHIVE_QA_OPENAI_BASE_URL=http://127.0.0.1:8000/v1 archive-qa serve

Any further option is llama-cpp-python's (``python -m llama_cpp.server --help``). This is how
the openai backend is tested against a real server (tests/test_answer_local.py); a GPU
server (vLLM, llama.cpp's ``llama-server``, Ollama) is pointed at the same way.
"""

from __future__ import annotations

import sys

from qa.llm_runtime import LlamaOptions, load_options
from qa.llm_worker import model_params
from qa.settings import Settings, get_settings


def server_arguments(settings: Settings, options: LlamaOptions, extra: list[str]) -> list[str]:
    """The stock server's command line for the configured model, then ``extra``."""
    return [
        "--model", str(settings.llm_model_path),
        "--model_alias", settings.openai_model,
        "--n_ctx", str(settings.llm_context_tokens),
        "--n_threads", str(settings.threads),
        "--n_batch", str(options.n_batch),
        "--flash_attn", str(options.flash_attn),
        "--host", "127.0.0.1",
        *extra,
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from llama_cpp.server.__main__ import main as serve

    settings = get_settings()
    options = load_options(settings)
    extra = sys.argv[1:] if argv is None else argv
    sys.argv = ["llama_cpp.server", *server_arguments(settings, options, extra)]
    with model_params(options):
        serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
