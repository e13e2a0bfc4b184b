#!/usr/bin/env bash
# tests/integration/atdirectory_smoke.sh ATDIRECTORY
# The directory seen by a foreign TLS client (openssl s_client, verifying
# the name "localhost"), and a SIGINT shutdown; also exercises lib/lib.sh.
set -uo pipefail
. "$(dirname "$0")/lib/lib.sh"
prog=${1:?usage: $0 ATDIRECTORY}

np_setup
np_mkca "$NP_TMP/pki"
db="$NP_TMP/dir.db"
"$prog" set @Alice🛠 vip.ve.atsign.zone:25000 --db "$db" 2>/dev/null || np_fail "set"
port=$(np_free_port)
np_start dir "$NP_TMP/dir.log" "$prog" --bind 127.0.0.1 --port "$port" \
  --cert "$NP_TMP/pki/server.pem" --key "$NP_TMP/pki/server.key" --db "$db" -v
np_wait_port 127.0.0.1 "$port" "$NP_PID_dir" 10

# at_c's sequence (atprotocol.md A.1): "press enter", then the atSign; the
# Dart client's "@exit" ends the session (s_client -quiet waits for the
# server to close).
got=$(printf '\r\nalice🛠\n@exit\n' |
  timeout 10 openssl s_client -quiet -connect "127.0.0.1:$port" \
    -CAfile "$NP_TMP/pki/ca.pem" -verify_hostname localhost -verify_return_error 2>/dev/null |
  od -An -c | tr -s ' \n' ' ')
want=$(printf '@null\r\n@vip.ve.atsign.zone:25000\r\n@' | od -An -c | tr -s ' \n' ' ')
[ "$got" = "$want" ] || np_fail "s_client got [$got], want [$want]"

# SIGINT is a clean shutdown too
kill -INT "$NP_PID_dir"
deadline=$((SECONDS + 5))
while kill -0 "$NP_PID_dir" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.02; done
wait "$NP_PID_dir"
rc=$?
NP_PID_dir=
[ "$rc" -eq 0 ] || { cat "$NP_TMP/dir.log" >&2; np_fail "exit status $rc after SIGINT"; }
grep -q "SIGINT: shutting down" "$NP_TMP/dir.log" || np_fail "no shutdown line in the log"
echo "atdirectory smoke: ok"
