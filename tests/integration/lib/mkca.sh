#!/usr/bin/env bash
# tests/integration/lib/mkca.sh OUTDIR [EXTRA_DNS_NAME...]
#
# Make a throw-away PKI for tests and the local demo, with the openssl CLI:
#   ca.pem       root CA certificate (what clients trust)
#   server.pem   server certificate chain: leaf + intermediate CA
#   server.key   its private key
#   client.pem   client certificate chain: leaf + intermediate CA
#   client.key   its private key
#   ca.key, int.pem, int.key   the issuing keys, kept so that later steps can
#                issue more certificates from the same CA
# The server leaf has CN=localhost and SANs DNS:localhost, IP:127.0.0.1,
# IP:::1 plus every EXTRA_DNS_NAME (e.g. vip.ve.atsign.zone), and both the
# serverAuth and clientAuth usages: atServers present their server
# certificate as the client certificate on server-to-server connections.
# The client leaf has CN=client.localhost, SAN DNS:client.localhost.
# Keys are EC P-256 (fast to generate; set MKCA_KEY=rsa for RSA-2048).
# Certificates are valid for 7 days. Nothing here is ever committed.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 OUTDIR [EXTRA_DNS_NAME...]" >&2
  exit 2
fi
out=$1
shift
command -v openssl >/dev/null || { echo "mkca: the openssl command is required" >&2; exit 1; }
mkdir -p "$out"
cd "$out"
umask 077

newkey() { # FILE
  if [ "${MKCA_KEY:-ec}" = rsa ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
  fi
}
serial() { echo "0x$(openssl rand -hex 12)"; }

san="DNS:localhost,IP:127.0.0.1,IP:::1"
for n in "$@"; do
  san="$san,DNS:$n"
done

cat > ext.cnf <<EOF
[ca_int]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $san
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = DNS:client.localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

tag="$(openssl rand -hex 4)"
newkey ca.key
openssl req -x509 -new -key ca.key -sha256 -days 7 -set_serial "$(serial)" \
  -subj "/O=NoPorts test/CN=NoPorts test root $tag" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.pem

newkey int.key
openssl req -new -key int.key -subj "/O=NoPorts test/CN=NoPorts test intermediate $tag" -out int.csr
openssl x509 -req -in int.csr -CA ca.pem -CAkey ca.key -set_serial "$(serial)" -days 7 -sha256 \
  -extfile ext.cnf -extensions ca_int -out int.pem 2>/dev/null

issue() { # NAME CN SECTION
  newkey "$1.key"
  openssl req -new -key "$1.key" -subj "/O=NoPorts test/CN=$2" -out "$1.csr"
  openssl x509 -req -in "$1.csr" -CA int.pem -CAkey int.key -set_serial "$(serial)" -days 7 \
    -sha256 -extfile ext.cnf -extensions "$3" -out "$1.crt" 2>/dev/null
  cat "$1.crt" int.pem > "$1.pem"
  rm -f "$1.csr" "$1.crt"
}
issue server localhost server
issue client client.localhost client
rm -f int.csr ext.cnf
chmod 644 ca.pem server.pem client.pem int.pem
