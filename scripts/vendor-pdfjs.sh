#!/usr/bin/env bash
# vendor-pdfjs.sh copies the pinned pdf.js build (npm pdfjs-dist) into
# web/demo/vendor/pdfjs, where the demo page loads it to show page previews
# and the demo server embeds it. Run it only to change the version; the
# files are committed, so neither make demo nor make test needs npm for
# them.
set -euo pipefail
version=6.5.438
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "pdfjs-dist@$version" >/dev/null && tar xzf "pdfjs-dist-$version.tgz")
dst=web/demo/vendor/pdfjs
mkdir -p "$dst"
cp "$tmp/package/build/pdf.min.mjs" "$tmp/package/build/pdf.worker.min.mjs" "$tmp/package/LICENSE" "$dst/"
{
	echo "pdfjs-dist $version (npm), Apache License 2.0 (LICENSE), unchanged."
	(cd "$dst" && sha256sum pdf.min.mjs pdf.worker.min.mjs)
} >"$dst/VERSION"
