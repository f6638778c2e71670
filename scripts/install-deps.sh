#!/usr/bin/env bash
# install-deps.sh installs the Debian packages that `make demo` and
# `make test` need. It runs apt-get as root, or through sudo.
#
#   scripts/install-deps.sh demo   # what the demo needs
#   scripts/install-deps.sh test   # what every test needs
#   scripts/install-deps.sh package # what make windows, msi and deb need
set -euo pipefail

what=${1:-test}

demo_pkgs=(softhsm2 opensc openssl pinentry-curses p11-kit ca-certificates)
# s-nail is the real mail program of the S/MIME tests.
# PDFBox Preflight (libpdfbox2-java, with the Java EE APIs it needs on a
# current JRE) is the independent PDF/A checker of the pades tests.
test_pkgs=("${demo_pkgs[@]}" poppler-utils qpdf opencryptoki passwd procps chromium fonts-dejavu-core systemd
	gcc-mingw-w64-x86-64 wine64 xvfb xdotool x11-apps wixl msitools dpkg-dev prometheus
	util-linux stress-ng libnss3-tools zbar-tools mupdf-tools unzip
	default-jre-headless libpdfbox2-java libactivation-java libjaxb-api-java groff-base tmux
	rsyslog rsyslog-openssl s-nail)
# What `make windows`, `make msi` and `make deb` need, without the tests'.
package_pkgs=(gcc-mingw-w64-x86-64 wixl msitools dpkg-dev)
# Node.js runs the client's tests and drives chromium; the machine's own
# node is used when there is one (Debian's is older than playwright-core
# asks for, but is taken rather than nothing).
if [ "$what" = test ] && ! command -v node >/dev/null 2>&1; then
	test_pkgs+=(nodejs npm)
fi

case "$what" in
demo) pkgs=("${demo_pkgs[@]}") ;;
test) pkgs=("${test_pkgs[@]}") ;;
package) pkgs=("${package_pkgs[@]}") ;;
*) echo "usage: $0 demo|test|package" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
npm_ci() {
	# The browser tests' npm packages (playwright-core, typescript), as
	# pinned in web/package-lock.json; never a downloaded browser.
	if [ "$what" = test ]; then
		(cd "$(dirname "$0")/../web" && npm ci --no-audit --no-fund --loglevel=error)
	fi
}
if [ ${#missing[@]} -eq 0 ]; then
	npm_ci
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1; then
	sudo=(sudo)
else
	echo "install-deps: need root or sudo to install: ${missing[*]}" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt (unattended-upgrades on a fresh machine, a second terminal)
# may hold the dpkg lock: wait for it up to ten minutes instead of failing.
lock=(-o DPkg::Lock::Timeout=600)
"${sudo[@]}" apt-get "${lock[@]}" update -q
"${sudo[@]}" apt-get "${lock[@]}" install -y -q --no-install-recommends "${missing[@]}"
npm_ci
