#!/usr/bin/env bash
# make_test_ca.sh DIR: a throwaway CA and a server certificate it signed, for tests only.
#   DIR/ca.pem, DIR/ca.key          the CA (valid 2 days)
#   DIR/server.pem, DIR/server.key  CN=127.0.0.1, SAN IP:127.0.0.1, DNS:localhost
#   DIR/other-ca.pem                a second CA that signed nothing (a client trusting only
#                                   it must fail verification)
# Needs the openssl command line (Debian's openssl, a dependency of ca-certificates).
set -euo pipefail
dir=${1:?usage: make_test_ca.sh DIR}
mkdir -p "${dir}"
cd "${dir}"

command -v openssl >/dev/null || { echo "make_test_ca.sh: openssl is not installed" >&2; exit 1; }

ca() {  # ca NAME CN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$1.key" -out "$1.pem" -days 2 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
ca ca "funnelguard test CA"
ca other-ca "funnelguard unrelated test CA"

openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
cat >server.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EOF
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
  -out server.pem -days 2 -extfile server.ext 2>/dev/null
chmod 600 ./*.key
openssl verify -CAfile ca.pem server.pem >/dev/null
