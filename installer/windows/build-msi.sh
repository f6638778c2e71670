#!/usr/bin/env bash
# build-msi.sh EXE EXEW VERSION OUT: the tte-agent MSI from the Windows
# build (EXEW: the same agent built with -H windowsgui, which the logon
# start runs so no console window appears), with wixl and msibuild
# (msitools). `make msi` and the tests run it.
set -euo pipefail
exe=$(realpath "$1") exew=$(realpath "$2") version=$3 out=$4
here=$(dirname "$(realpath "$0")")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# wixl resolves File/@Source relative to the working directory.
cp "$exe" "$work/tte-agent.exe"
cp "$exew" "$work/tte-agentw.exe"
# The native-messaging host manifests, from the program's own constants
# (the extension's id): built for this machine to print them.
(cd "$here/../.." && go run ./cmd/tte-agent native-manifest --browser chromium --path tte-agent.exe) > "$work/native-host-chromium.json"
(cd "$here/../.." && go run ./cmd/tte-agent native-manifest --browser firefox --path tte-agent.exe) > "$work/native-host-firefox.json"
(cd "$work" && wixl -a x64 -D Version="$version" -D Exe=tte-agent.exe -D ExeW=tte-agentw.exe -o out.msi "$here/tte-agent.wxs")
# wixl cannot mark properties secure; ORIGINS and MODULES must be, to
# reach the elevated part of a silent install.
msibuild "$work/out.msi" -q "UPDATE Property SET Value = 'WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;ORIGINS;MODULES;TRUSTANCHORS;TSAURL;REVOCATION;METRICSLISTEN;METRICSWEBCONFIG' WHERE Property = 'SecureCustomProperties'"
mv "$work/out.msi" "$out"
echo "built $out"
