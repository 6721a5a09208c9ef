#!/usr/bin/env bash
# Install Debian's chromium, chromium-driver, fonts-noto-cjk and poppler-utils when any is
# missing.
# Browser tests need the first three: without the CJK fonts Chinese renders as boxes.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
# pdftoppm: the tests turn the PDF reports into PNGs to look at them.
[ -x /usr/bin/pdftoppm ] || missing+=(poppler-utils)
# curl: tests/test_doc_examples.py runs the docs' curl examples as written.
[ -x /usr/bin/curl ] || missing+=(curl)
if ! (fc-list 2>/dev/null | grep -qi "Noto Sans CJK"); then missing+=(fonts-noto-cjk); fi
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} (Debian packages)"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
