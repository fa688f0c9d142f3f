#!/bin/sh
# Back up one Tatap data directory: a consistent online copy of the SQLite database (the SQLite
# backup API, safe while the server writes), the audit signing keys and the token keys; then
# check that the copy's audit chain verifies. Run it as the tatap user (see deploy/README.md).
#
#   tatap-backup.sh [DEST]        default DEST: /var/backups/tatap
set -eu

DATA=${TATAP_DATA_DIR:-/var/lib/tatap}
DEST=${1:-/var/backups/tatap}
TATAP=${TATAP_BIN:-/opt/tatap/venv/bin/tatap}
KEEP_DAYS=${KEEP_DAYS:-30}
# Key ids (or public key files) of the audit signing keys, kept apart from the data directory:
# the copy must be signed by these, not only by whatever keys the database names itself.
TRUST=${TATAP_AUDIT_TRUST:-}

umask 077
OUT="$DEST/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"

sqlite3 "$DATA/tatap.db" ".backup '$OUT/tatap.db'"
cp -p "$DATA"/audit-signing*.pem "$OUT/"
if [ -f "$DATA/token.keys" ]; then
    cp -p "$DATA/token.keys" "$OUT/"
fi

# The copy must verify on its own (the database holds its pinned keys): that is what an auditor
# gets. --live: the server is running, so its last few seconds of events await their checkpoint.
set --
for key in $TRUST; do
    set -- "$@" --trust "$key"
done
if ! "$TATAP" audit verify --data-dir "$OUT" --live --json "$@" > "$OUT/verify.json"; then
    echo "tatap-backup: the audit chain in $OUT does NOT verify, see $OUT/verify.json" >&2
    exit 1
fi

find "$DEST" -mindepth 1 -maxdepth 1 -type d -mtime +"$KEEP_DAYS" -exec rm -rf {} +
echo "tatap-backup: $OUT"
