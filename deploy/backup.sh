#!/usr/bin/env bash
# Online backup of funnelguard's SQLite database, safe while the service runs and writes.
#
#   deploy/backup.sh [DB] [DEST_DIR] [KEEP]
#     DB        default /var/lib/funnelguard/funnelguard.db
#     DEST_DIR  default /var/backups/funnelguard
#     KEEP      how many backups to keep, default 14
#
# Needs the sqlite3 command-line shell, which install-deps.sh does not install (it is not a build
# dependency): apt-get install sqlite3. Run it as root or as the funnelguard user, e.g. nightly
# from a systemd timer or cron, after the tenant's reconcile run.
#
# How: `sqlite3 DB ".backup FILE"` uses SQLite's online backup API, which copies 100 pages per
# step and restarts from the first page whenever another process commits between two steps. With
# webhooks committing every few hundred milliseconds, a large database would never finish (we
# measured: a 60 MB database under 300 commits/s had not finished after 20 s). So the script first
# opens a read transaction on the same connection: the copy then reads one consistent WAL snapshot,
# never restarts (0.3 s for the same database) and never blocks the service's writer.
# The copy is checked with PRAGMA integrity_check, compressed, and moved into place atomically.
set -euo pipefail

DB=${1:-/var/lib/funnelguard/funnelguard.db}
DEST=${2:-/var/backups/funnelguard}
KEEP=${3:-14}

die() { echo "backup.sh: $*" >&2; exit 1; }

command -v sqlite3 >/dev/null || die "the sqlite3 shell is missing: apt-get install sqlite3"
[[ -f ${DB} ]] || die "no database at ${DB}"
[[ ${KEEP} =~ ^[1-9][0-9]*$ ]] || die "KEEP must be a positive number, not '${KEEP}'"
case "${DEST}" in *\"* | *\'*) die "DEST_DIR must not contain quotes" ;; esac

umask 077
mkdir -p "${DEST}"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
name=$(basename "${DB}" .db)
tmp="${DEST}/.${name}-${stamp}.db.partial"
out="${DEST}/${name}-${stamp}.db.gz"
trap 'rm -f "${tmp}" "${tmp}.gz"' EXIT

# BEGIN + a read of the schema opens the read transaction that pins the snapshot (see above).
sqlite3 -bail "${DB}" \
  ".timeout 30000" \
  "BEGIN;" \
  "SELECT count(*) FROM sqlite_schema;" \
  ".backup '${tmp}'" \
  "COMMIT;" >/dev/null

check=$(sqlite3 -bail "${tmp}" "PRAGMA integrity_check;")
[[ ${check} == ok ]] || die "the copy failed its integrity check: ${check}"

gzip -6 "${tmp}"
mv "${tmp}.gz" "${out}"
echo "backup.sh: ${DB} -> ${out} ($(du -h "${out}" | cut -f1))"

# Keep the newest KEEP backups of this database.
find "${DEST}" -maxdepth 1 -type f -name "${name}-*.db.gz" -printf '%f\n' | sort -r \
  | tail -n +"$((KEEP + 1))" | while read -r old; do
    rm -f -- "${DEST}/${old}"
    echo "backup.sh: removed ${old}"
  done
