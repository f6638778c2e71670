#!/usr/bin/env bash
# build-deb.sh BIN VERSION OUT: the tte-agent .deb (amd64) with the
# systemd user unit, enabled for every user, the policy file, the guides
# and the man page.
# `make deb` and the tests run it.
set -euo pipefail
bin=$(realpath "$1") version=$2 out=$3
here=$(dirname "$(realpath "$0")")
root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
install -D -m 0755 "$bin" "$root/usr/bin/tte-agent"
mkdir -p "$root/usr/lib/systemd/user"
"$bin" service unit --exec /usr/bin/tte-agent > "$root/usr/lib/systemd/user/tte-agent.service"
install -D -m 0644 "$here/policy.toml" "$root/etc/tte-agent/policy.toml"
# The browser extension's native-messaging host is tte-agent itself: a
# manifest for each browser names it and allows only the extension.
for dir in /etc/opt/chrome/native-messaging-hosts /etc/chromium/native-messaging-hosts /etc/opt/edge/native-messaging-hosts; do
	mkdir -p "$root$dir"
	"$bin" native-manifest --browser chromium --path /usr/bin/tte-agent > "$root$dir/id.tte_agent.json"
done
mkdir -p "$root/usr/lib/mozilla/native-messaging-hosts"
"$bin" native-manifest --browser firefox --path /usr/bin/tte-agent > "$root/usr/lib/mozilla/native-messaging-hosts/id.tte_agent.json"
# Every guide, since doctor's fixes and the man page point to them.
for f in "$here"/../../docs/*.md; do
	install -D -m 0644 "$f" "$root/usr/share/doc/tte-agent/$(basename "$f")"
done
# The man page, generated from the program's own flag definitions.
mkdir -p "$root/usr/share/man/man1"
"$bin" man | gzip -9n > "$root/usr/share/man/man1/tte-agent.1.gz"
install -D -m 0644 "$here/copyright" "$root/usr/share/doc/tte-agent/copyright"
mkdir -p "$root/DEBIAN"
sed "s/@VERSION@/$version/" "$here/control" > "$root/DEBIAN/control"
echo "Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)" >> "$root/DEBIAN/control"
echo /etc/tte-agent/policy.toml > "$root/DEBIAN/conffiles"
install -m 0755 "$here/postinst" "$here/prerm" "$root/DEBIAN/"
dpkg-deb --build --root-owner-group "$root" "$out" >/dev/null
echo "built $out"
