#!/usr/bin/env bash
# Everything a fresh machine needs before `make demo` / `make test`:
# uv (the package manager, pinned, in .tools/), the locked Python environment,
# running PostgreSQL and RabbitMQ, and the development keys.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
export UV_PYTHON_DOWNLOADS=never

if [ ! -x .tools/bin/uv ] || ! .tools/bin/uv --version | grep -q "$UV_VERSION"; then
  echo "== installing uv $UV_VERSION into .tools/"
  python3 -m venv .tools
  .tools/bin/pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

echo "== installing the locked environment (.venv)"
.tools/bin/uv sync --frozen --quiet

# the browser test drives Debian's Chromium (Playwright's own download is not used)
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "== installing Chromium and fonts (Debian packages) for the browser test"
  apt-get update -qq && apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi

bash scripts/ensure-servers.sh

# the development keys: `keys` writes only what is missing (a checkout made before a
# service needed a new key gets that key and keeps the others)
keys_output=$(.venv/bin/sihha-dev keys --dir .dev/keys) || { echo "$keys_output" >&2; exit 1; }
grep -v '^kept ' <<<"$keys_output" || true
