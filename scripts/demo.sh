#!/usr/bin/env bash
# make demo: idsnap against idsim's simulated Kinde, Ory and ZITADEL on
# loopback, on a fresh clone, in well under a minute. Every idsnap command is
# printed before it runs ("+ idsnap ..."), so the output doubles as a tour.
#
# Both pulls happen seconds apart, so the diff names its snapshots
# (latest~1 latest) rather than a time, as a daily cron job should too:
# see README.md, "The demo".
set -euo pipefail

cd "$(dirname "$0")/.."
bin=$PWD/bin
for b in idsnap idsim; do
	[ -x "$bin/$b" ] || { echo "demo: $bin/$b is missing: run make demo (it builds first)" >&2; exit 1; }
done

db=demo.db
evidence=demo-evidence
roster=demo-roster.csv
rm -f "$db" "$db-wal" "$db-shm" "$db".pull-index-* "$roster"
rm -rf "$evidence"

tmp=$(mktemp -d)
idsim_pid=
cleanup() {
	if [ -n "$idsim_pid" ]; then
		kill "$idsim_pid" 2>/dev/null || true
		wait "$idsim_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# show prints a command as a newcomer would type it, then runs it.
show() {
	printf '\n+ %s\n' "$*"
	"$@"
}
# idsnap and idsim run the binaries just built; the functions keep the
# printed commands short.
idsnap() { "$bin/idsnap" "$@"; }
idsim() { "$bin/idsim" "$@"; }
# found runs a command whose exit code 3 means "found something", not failure.
found() {
	local rc=0
	show "$@" || rc=$?
	if [ "$rc" -eq 3 ]; then
		echo "(exit code 3: found something)"
	elif [ "$rc" -ne 0 ]; then
		return "$rc"
	fi
}

echo "Starting idsim: simulated Kinde, Ory and ZITADEL APIs with a generated company of 300 people."
"$bin/idsim" --seed 42 --write-roster "$roster" --write-env "$tmp/idsim.env" >"$tmp/idsim.out" 2>"$tmp/idsim.err" &
idsim_pid=$!
for _ in $(seq 100); do
	[ -s "$tmp/idsim.env" ] && break
	kill -0 "$idsim_pid" 2>/dev/null || { cat "$tmp/idsim.err" >&2; exit 1; }
	sleep 0.1
done
[ -s "$tmp/idsim.env" ] || { echo "demo: idsim did not start within 10 s" >&2; exit 1; }
# shellcheck disable=SC1091
. "$tmp/idsim.env"
echo "Its URLs and demo credentials are now in IDSNAP_KINDE_*, IDSNAP_ORY_* and IDSNAP_ZITADEL_*:"
echo "without an idsnap.toml, idsnap configures one source per provider from them."
echo "HR's roster of the company is in $roster: six leavers whose last day has passed,"
echo "three contractors HR does not list, one joiner who starts in two weeks."

show idsnap doctor
show idsnap --db "$db" pull
show idsnap --db "$db" snapshots

echo
echo "A day passes in the simulated company: joiners, leavers, a suspension, role changes, sign-ins."
show idsim advance --control "$IDSIM_CONTROL"

show idsnap --db "$db" pull
show idsnap --db "$db" diff latest~1 latest
# first shows a long report's first lines only; the full one is a command away.
first() {
	local n=$1 rc=0
	shift
	printf '\n+ %s | head -n %s\n' "$*" "$n"
	"$@" >"$tmp/out" || rc=$?
	head -n "$n" "$tmp/out"
	local total
	total=$(wc -l <"$tmp/out")
	[ "$total" -le "$n" ] || echo "... ($((total - n)) more lines)"
	if [ "$rc" -eq 3 ]; then echo "(exit code 3: found something)"; elif [ "$rc" -ne 0 ]; then return "$rc"; fi
}
first 32 idsnap --db "$db" findings --fail-on suspended-with-grants
first 16 idsnap --db "$db" people --linked

echo
echo "Leavers: IT deprovisioned three of HR's six leavers during the day and forgot three."
first 24 idsnap --db "$db" findings --roster "$roster" --fail-on terminated-with-access,leaver-deprovisioned-late
# The leaver findings alone, from the CSV form (rule is its first column).
printf '\n+ idsnap --db %s findings --roster %s --format csv | grep -E "^(rule|terminated-with-access|leaver-deprovisioned-late),"\n' "$db" "$roster"
"$bin/idsnap" --db "$db" findings --roster "$roster" --format csv | grep -E "^(rule|terminated-with-access|leaver-deprovisioned-late),"

echo
echo "Evidence for an auditor: a signed access review, checked against the database."
show idsnap keygen --out "$tmp/demo-signing"
show idsnap --db "$db" export access-review --at latest --roster "$roster" --sign "$tmp/demo-signing.key" --out "$evidence"
show idsnap --db "$db" verify "$evidence" --pubkey "$tmp/demo-signing.pub"

echo
echo "An access-review campaign on Kinde: the population goes out, decisions come back in a copy,"
echo "revocations are carried out in the provider, the next pull proves them, the review is closed."
campaign=demo-campaign
closed=demo-campaign-closed
rm -rf "$campaign" "$closed"
show idsnap --db "$db" review start --at latest --source kinde --out "$campaign" --sign "$tmp/demo-signing.key"
# The reviewers' copy, as a spreadsheet would return it: a reviewer revokes
# three memberships, keeps the rest and leaves the last two rows undecided.
# (awk splits on commas: fine for idsim's names, not for any CSV.)
decisions=$tmp/decisions.csv
awk -F, -v OFS=, '
	NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; print; next }
	{ rows[NR] = $0 }
	END {
		for (n = 2; n <= NR; n++) {
			$0 = rows[n]
			if (n > NR - 2) { print; continue }
			# One revoke per membership: removing it removes its roles too.
			key = $col["resource_id"] SUBSEP $col["principal_id"]
			grant = $col["entitlement_id"] != "" && !(key in seen)
			seen[key] = 1
			$col["decision"] = (grant && revoked < 3) ? "revoke" : "keep"
			if ($col["decision"] == "revoke") { revoked++; print $col["resource_id"], $col["principal_id"] > "'"$tmp/revoke.txt"'" }
			$col["reviewer"] = "dana.reviewer@acme.example"
			$col["decided_at"] = "2026-12-01"
			print
		}
	}' "$campaign/review.csv" >"$decisions"
echo
echo "Decisions returned: $(grep -c ',revoke,' "$decisions") revoke, $(grep -c ',keep,' "$decisions") keep, 2 undecided."
found idsnap --db "$db" review status "$campaign" --decisions "$decisions" --exit-code
echo
echo "Two of the three revocations are carried out in Kinde, then Kinde is pulled again."
head -n 2 "$tmp/revoke.txt" | while IFS=, read -r org user; do
	show idsim revoke --control "$IDSIM_CONTROL" --org "$org" --user "$user"
done
show idsnap --db "$db" pull --source kinde
found idsnap --db "$db" review status "$campaign" --decisions "$decisions" --exit-code
show idsnap --db "$db" review close "$campaign" --decisions "$decisions" --out "$closed" --sign "$tmp/demo-signing.key"
show idsnap verify "$closed" --pubkey "$tmp/demo-signing.pub"
show cat "$closed/README.txt"

echo
echo "Done. The database is $db, the evidence folder $evidence/. Try:"
echo "  ./bin/idsnap --db $db diff latest~1 latest --format json"
echo "  ./bin/idsnap --db $db snapshots --format json"
