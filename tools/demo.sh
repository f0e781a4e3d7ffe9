#!/usr/bin/env bash
# The main job, end to end: install what the build needs, build crmcore, and
# run the `crm` command on the embedded SQLite default over the shipped
# sample of 2,000 synthetic leads (with planted duplicates), then two bad records to show
# how they are refused.
set -euo pipefail
cd "$(dirname "$0")/.."

# CRM_DEMO_CLI names an already built crm (the CLI test suite runs the demo
# this way, so the README's first command is tested with every build).
if [ -n "${CRM_DEMO_CLI:-}" ]; then
  crm=$CRM_DEMO_CLI
else
  bash tools/install-deps.sh
  [ -f build/build.ninja ] || meson setup build >/dev/null
  ninja -C build >/dev/null
  crm=build/examples/cli/crm
fi
db=$(mktemp -d)/demo.db
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

say crm --db "$db" init
$crm --db "$db" init

say crm --db "$db" import examples/data/leads_sample.ndjson
$crm --db "$db" import examples/data/leads_sample.ndjson || [ $? -eq 3 ]

say "crm --db $db import examples/data/leads_sample.csv   # the same leads again, as CSV"
echo "# every lead with a phone is now a duplicate; leads known only by WeChat or email are not matched yet"
$crm --db "$db" import examples/data/leads_sample.csv || [ $? -eq 3 ]

say "printf '%s\\n' '{\"channel\":\"website\",\"phone\":\"138 1234 abcd\"}' '{\"channel\":\"dcc\",\"phone\":\"13912345678\",\"test_drive\":\"yes\"}' | crm --db $db import -"
printf '%s\n' '{"channel":"website","phone":"138 1234 abcd"}' '{"channel":"dcc","phone":"13912345678","test_drive":"yes"}' \
  | $crm --db "$db" import - || echo "(exit status $?: some records were rejected, nothing of them was stored)"

say crm --db "$db" leads --channel douyin --since 2026-06-01 --limit 8
$crm --db "$db" leads --channel douyin --since 2026-06-01 --limit 8

say "crm --db $db leads --quality suspect,junk --limit 5   # what the cleaners found on ingest"
$crm --db "$db" leads --quality suspect,junk --limit 5

first=$($crm --db "$db" leads --json --limit 1 | sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
say crm --db "$db" show "$first"
$crm --db "$db" show "$first"

# awk reads the whole listing: closing the pipe early would kill crm with
# SIGPIPE, which `set -o pipefail` turns into a failed demo.
dealer=$($crm --db "$db" leads --json --limit 200 | awk -F'"dealer_id":"' 'NF > 1 && d == "" { split($2, a, "\""); d = a[1] } END { print d }')
say crm --db "$db" --dealer "$dealer" leads --limit 5
$crm --db "$db" --dealer "$dealer" leads --limit 5
say "crm clean --kind phone '+86 138-1234-5678' '１７０ ０１２３ ４５６７'; crm clean --kind name 张伟先生; crm clean --kind region 沪"
$crm clean --kind phone '+86 138-1234-5678' '１７０ ０１２３ ４５６７'
$crm clean --kind name 张伟先生
$crm clean --kind region 沪

# Move a few douyin leads along their lifecycle so the funnel has something to show.
ids=$($crm --db "$db" leads --channel douyin --json --limit 6 | awk -F'"id":"' '{ split($2, a, "\""); print a[1] }')
n=0
for id in $ids; do
  n=$((n + 1))
  $crm --db "$db" status --to-dealer D3101001 --owner S-07 "$id" assigned >/dev/null
  [ $n -le 4 ] && $crm --db "$db" status "$id" contacted >/dev/null
  [ $n -le 2 ] && $crm --db "$db" status "$id" test_drive >/dev/null
  [ $n -eq 5 ] && $crm --db "$db" status --reason "bought a competitor" "$id" lost >/dev/null
done
say "crm status ... (6 douyin leads: assigned, 4 contacted, 2 test drives, 1 lost); crm report funnel --by channel"
$crm --db "$db" report funnel --by channel
# Two website leads folded into one by the survivorship rules, then the merge undone.
pair=$($crm --db "$db" leads --channel website --json --limit 2 | awk -F'"id":"' '{ split($2, a, "\""); printf "%s ", a[1] }')
set -- $pair
say crm --db "$db" merge "$1" "$2"
merge_out=$($crm --db "$db" merge "$1" "$2")
printf '%s\n' "$merge_out"
merge_id=${merge_out%% *}
say crm --db "$db" unmerge "$merge_id"
$crm --db "$db" unmerge "$merge_id"

echo
echo "database: $db"
