#!/usr/bin/env bash
# Builds the native peer clients of bench/compare into bench/peers/node_modules, apart from the
# project so that CI never compiles them. Safe to re-run: does nothing once the addon loads.
#
# @confluentinc/kafka-javascript normally downloads a prebuilt addon from GitHub and otherwise
# builds librdkafka statically, which makes librdkafka's configure download zlib, OpenSSL, zstd
# and curl sources. CKJS_LINKING=dynamic builds the bundled librdkafka (same version as the
# prebuilt one) against whatever system libraries exist instead, so only a compiler is needed;
# lz4 is librdkafka's built-in copy either way.
set -euo pipefail
cd "$(dirname "$0")"

PKG=@confluentinc/kafka-javascript
WANT=$(node -p "require('./package.json').dependencies['$PKG']")
LOG=${TMPDIR:-/tmp}/bench-peers-install.log

loads() {
  node -e "
    const p = require('$PKG/package.json');
    if (p.version !== '$WANT') throw new Error('installed ' + p.version + ', want $WANT');
    const k = require('$PKG');
    console.log('$PKG ' + p.version + ', librdkafka ' + k.librdkafkaVersion + ', features: ' + k.features.join(','));
  " 2>/dev/null
}

if loads; then
  echo "bench/peers: already built"
  exit 0
fi

# node-gyp, the bundled librdkafka's configure (bash, python3) and the C/C++ build.
missing=()
for tool in gcc g++ make python3; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "bench/peers: installing build tools (missing: ${missing[*]})"
    apt-get update -qq
    # libssl-dev and zlib1g-dev are optional (librdkafka drops SSL/gzip without them); the bench needs neither.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential python3 pkg-config libssl-dev zlib1g-dev >/dev/null
  else
    echo "bench/peers: missing build tools: ${missing[*]} (on Debian/Ubuntu: apt-get install -y build-essential python3)" >&2
    exit 1
  fi
fi

export CKJS_LINKING=dynamic
# Build against the headers of the running Node instead of downloading them from nodejs.org.
NODE_PREFIX=$(node -p "require('path').resolve(process.execPath, '../..')")
if [[ -f $NODE_PREFIX/include/node/node.h ]]; then
  export npm_config_nodedir=$NODE_PREFIX
fi

echo "bench/peers: building $PKG@$WANT from source (about 2 minutes on 2 cores), log: $LOG"
start=$SECONDS
# The prebuilt-binary download fails offline and node-pre-gyp then falls back to the source build.
if ! npm ci --ignore-scripts=false --foreground-scripts --no-audit --no-fund >"$LOG" 2>&1; then
  # The failed prebuilt download is expected; show the compiler, configure and gyp errors.
  grep -E ' error: |^ERROR:|\*\*\*|gyp ERR!|^npm error' "$LOG" | grep -v -E 'install request to|Hit error request' | tail -25 >&2 || true
  echo "bench/peers: building $PKG failed (full log: $LOG)" >&2
  exit 1
fi
if ! loads; then
  node -e "require('$PKG')" 2>&1 | tail -5 >&2 || true
  echo "bench/peers: $PKG installed but its native addon does not load (log: $LOG)" >&2
  exit 1
fi
echo "bench/peers: built in $((SECONDS - start)) s"
