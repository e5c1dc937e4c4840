#!/usr/bin/env bash
# Install the campus-twin gateway as a systemd service on a Debian 12 edge box. Run as root from a checkout
# of the repository (the files are copied, the checkout can go afterwards):
#
#   sudo deploy/install-debian.sh              # install or upgrade, then (re)start the service
#   sudo deploy/install-debian.sh --no-start   # install only (first time: edit /etc/campus-twin first)
#
# Needs Node.js 20 or later (Debian 12's own is 18: use the NodeSource or Debian backports package).
# Creates the system user campus-twin (member of dialout for Modbus RTU), installs the code in
# /opt/campus-twin, the settings in /etc/campus-twin (kept if they exist), the data in
# /var/lib/campus-twin (systemd's StateDirectory), and the hardened unit campus-twin-gateway.service.
set -euo pipefail

PREFIX=/opt/campus-twin
ETC=/etc/campus-twin
UNIT=/etc/systemd/system/campus-twin-gateway.service
START=1
for arg in "$@"; do
  case "$arg" in
    --no-start) START=0 ;;
    -h | --help)
      sed -n '2,12p' "$0"
      exit 0
      ;;
    *)
      echo "unknown option: $arg (see --help)" >&2
      exit 2
      ;;
  esac
done

SRC="$(cd "$(dirname "$0")/.." && pwd)"
[ "$(id -u)" -eq 0 ] || {
  echo "run as root (sudo $0)" >&2
  exit 1
}
if ! command -v node >/dev/null || ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "Node.js 20 or later is needed as /usr/bin/node (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

echo "== user campus-twin"
id campus-twin >/dev/null 2>&1 ||
  useradd --system --home-dir /var/lib/campus-twin --no-create-home --shell /usr/sbin/nologin campus-twin
usermod -a -G dialout campus-twin

echo "== code in $PREFIX"
install -d -m 0755 "$PREFIX"
for f in package.json package-lock.json tsconfig.json; do install -m 0644 "$SRC/$f" "$PREFIX/$f"; done
for d in shared gateway cloud config samples; do
  rm -rf "${PREFIX:?}/$d"
  cp -r "$SRC/$d" "$PREFIX/$d"
done
(cd "$PREFIX" && npm ci --omit=dev --no-audit --no-fund)
# Bundle the sources now: at run time the install is read-only (ProtectSystem=strict).
(cd "$PREFIX" && node shared/cli/campus-twin.mjs --help >/dev/null)

echo "== settings in $ETC (existing files are kept)"
install -d -m 0750 -g campus-twin "$ETC"
[ -e "$ETC/gateway.yaml" ] || install -m 0640 -g campus-twin "$SRC/config/gateway.yaml" "$ETC/gateway.yaml"
[ -e "$ETC/campus.yaml" ] || install -m 0640 -g campus-twin "$SRC/config/campus.yaml" "$ETC/campus.yaml"
# Secrets (CT_UPLINK__CONNECTION_STRING, webhook secrets…) go here, readable by root only (systemd reads it).
[ -e "$ETC/gateway.env" ] || install -m 0600 /dev/null "$ETC/gateway.env"
grep -q '^CT_CAMPUS_FILE=' "$ETC/gateway.env" || echo "CT_CAMPUS_FILE=$ETC/campus.yaml" >>"$ETC/gateway.env"

echo "== systemd unit"
install -m 0644 "$SRC/deploy/campus-twin-gateway.service" "$UNIT"
systemd-analyze verify "$UNIT"
systemctl daemon-reload
systemctl enable campus-twin-gateway.service
if [ "$START" -eq 1 ]; then
  systemctl restart campus-twin-gateway.service
  echo "started: systemctl status campus-twin-gateway; journalctl -u campus-twin-gateway -f"
else
  echo "installed: edit $ETC/gateway.yaml (http.staff, uplink) and $ETC/campus.yaml, then systemctl start campus-twin-gateway"
fi
