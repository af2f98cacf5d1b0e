#!/usr/bin/env bash
# Generates a development CA and a server certificate (localhost, 127.0.0.1) in DIR.
# Idempotent: existing files are kept. Keys are 0600, the directory 0700.
set -euo pipefail
dir=${1:?usage: dev-tls.sh DIR [COMMON_NAME]}
cn=${2:-localhost}
mkdir -p "$dir"
chmod 700 "$dir"
cd "$dir"
umask 077
if [[ ! -f ca.key || ! -f ca.crt ]]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.crt -days 3650 -subj "/CN=Redoubt dev CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi
if [[ ! -f server.key || ! -f server.crt ]]; then
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout server.key -out server.csr -subj "/CN=$cn" 2>/dev/null
  printf 'subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n' "$cn" > server.ext
  openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out server.crt -days 825 -extfile server.ext 2>/dev/null
  rm -f server.csr server.ext ca.srl
fi
chmod 600 ca.key server.key
chmod 644 ca.crt server.crt
