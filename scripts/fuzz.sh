#!/bin/sh
# Runs every fuzz target for a few seconds each (default 5; first argument
# or FUZZTIME to change), so CI exercises them without a Makefile. A
# failure leaves its input under the package's testdata/fuzz/, where plain
# `go test` replays it from then on.
set -eu
cd "$(dirname "$0")/.."
secs="${1:-${FUZZTIME:-5}}"
status=0
for target in \
	./fetch/kinde:FuzzDecode \
	./fetch/ory:FuzzDecode \
	./fetch/ory:FuzzParseLink \
	./fetch/ory:FuzzItems \
	./fetch/ory:FuzzIdentityReader \
	./fetch/zitadel:FuzzDecode \
	./fetch/zitadel:FuzzReaders \
	./report:FuzzParseWhen \
	./cmd/idsnap:FuzzConfig; do
	pkg="${target%%:*}"
	name="${target#*:}"
	echo "fuzz $pkg $name (${secs}s)"
	if ! go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s"; then
		status=1
	fi
done
exit "$status"
