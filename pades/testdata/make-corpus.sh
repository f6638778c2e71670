#!/usr/bin/env bash
# Regenerates the PDF test corpus (needs qpdf, poppler-utils and
# ghostscript). Every file is committed; this script
# records how each was made (Debian bookworm: qpdf 11, poppler-utils 22,
# ghostscript 10).
set -euo pipefail
cd "$(dirname "$0")"
go run gominimal.go                                   # go-minimal.pdf, go-incremental.pdf
qpdf --object-streams=generate go-minimal.pdf qpdf-objstm.pdf   # xref stream + object streams
qpdf --linearize go-minimal.pdf qpdf-linearized.pdf  # linearized, first-page xref
pdftocairo -pdf go-minimal.pdf cairo.pdf             # cairo producer
gs -q -dNOPAUSE -dBATCH -sDEVICE=pdfwrite -o ghostscript.pdf go-minimal.pdf  # ghostscript producer
# Bad input.
head -c 700 go-minimal.pdf > bad-truncated.pdf
qpdf --encrypt user owner 256 -- go-minimal.pdf bad-encrypted.pdf
printf 'Ini bukan PDF, hanya teks.\n' > bad-not-pdf.pdf
{ printf '%%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\n'; printf 'trailer\n<< /Root 1 0 R >>\nstartxref\n9\n%%%%EOF\n'; } > bad-malformed.pdf
