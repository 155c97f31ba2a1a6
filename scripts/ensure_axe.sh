#!/usr/bin/env bash
# axe-core (the accessibility checker the E2E suite injects into every public page), from the npm registry,
# pinned, into the git-ignored node_modules/ of the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
AXE_VERSION=4.14.1
if [ "$(node -p "require('./node_modules/axe-core/package.json').version" 2>/dev/null)" != "$AXE_VERSION" ]; then
  command -v npm >/dev/null || { echo "npm is needed to install axe-core (apt-get install npm)"; exit 1; }
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix . "axe-core@$AXE_VERSION" >/dev/null
fi
echo "axe-core $AXE_VERSION"
