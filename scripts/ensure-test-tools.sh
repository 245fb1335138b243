#!/usr/bin/env bash
# Installs the system tools the test suite drives, from Debian's packages, when they are missing:
# chromium (browser tests, through playwright-core) and jq (the AWS CLI recipe in docs/snapshot.md).
# Runs before `npm test` (the `pretest` script), so `npm ci && npm test` works on a fresh machine.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v jq >/dev/null 2>&1 || missing+=(jq)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing test tools from Debian packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
