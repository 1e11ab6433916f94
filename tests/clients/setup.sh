#!/usr/bin/env bash
# Installs the real MCP clients the end-to-end tests drive, into this folder only: node_modules
# (TypeScript SDK v1 and v2, MCP Inspector, Node 22) and venv (Python `mcp`). Idempotent: does
# nothing when the lock files have not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")"

stamp() { sha256sum "$@" | sha256sum | cut -c1-16; }

want=$(stamp package.json package-lock.json)
if [ "$(cat node_modules/.pm-mcp-stamp 2>/dev/null)" != "$want" ]; then
  echo "[clients] npm ci (TypeScript SDKs, Inspector, Node 22)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > node_modules/.pm-mcp-stamp
fi
node_modules/node/bin/node --version >/dev/null

want=$(stamp requirements.txt)
if [ "$(cat venv/.pm-mcp-stamp 2>/dev/null)" != "$want" ]; then
  echo "[clients] python venv (mcp)" >&2
  rm -rf venv
  python3 -m venv venv
  venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt >&2
  echo "$want" > venv/.pm-mcp-stamp
fi
venv/bin/python -c 'import mcp' 

# The reference server's agent backend's client (its own venv: it wants mcp 1.x).
want=$(stamp requirements-langchain.txt)
if [ "$(cat venv-langchain/.pm-mcp-stamp 2>/dev/null)" != "$want" ]; then
  echo "[clients] python venv (langchain-mcp-adapters)" >&2
  rm -rf venv-langchain
  python3 -m venv venv-langchain
  venv-langchain/bin/pip install --quiet --disable-pip-version-check -r requirements-langchain.txt >&2
  echo "$want" > venv-langchain/.pm-mcp-stamp
fi
venv-langchain/bin/python -c 'import langchain_mcp_adapters'
