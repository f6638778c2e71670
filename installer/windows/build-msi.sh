#!/usr/bin/env bash
# build-msi.sh EXE VERSION OUT: the tte-agent MSI from the Windows build,
# with wixl and msibuild (msitools). `make msi` and the tests run it.
set -euo pipefail
exe=$(realpath "$1") version=$2 out=$3
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# wixl resolves File/@Source relative to the working directory.
cp "$exe" "$work/tte-agent.exe"
(cd "$work" && wixl -a x64 -D Version="$version" -D Exe=tte-agent.exe -o out.msi "$here/tte-agent.wxs")
# wixl cannot mark properties secure; ORIGINS and MODULES must be, to
# reach the elevated part of a silent install.
msibuild "$work/out.msi" -q "UPDATE Property SET Value = 'WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;ORIGINS;MODULES' WHERE Property = 'SecureCustomProperties'"
mv "$work/out.msi" "$out"
echo "built $out"
