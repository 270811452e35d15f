#!/usr/bin/env bash
# Makes a throwaway set of Daypass signing keys in DIR (0700), for CI and rehearsals, never a
# release: an OpenPGP key (gpg-secret.asc), a minisign key without password (minisign.key), and a
# code-signing certificate (authenticode.pem, authenticode.key) from its own CA (authenticode-ca.pem).
# Prints the environment installers/build.sh takes them from.
#   throwaway-keys.sh DIR
set -euo pipefail
dir=${1:?usage: throwaway-keys.sh DIR}
install -d -m 0700 "$dir"
home=$(mktemp -d /tmp/daypass-gnupg.XXXXXX)
trap 'gpgconf --homedir "$home" --kill all 2>/dev/null || true; rm -rf "$home"' EXIT
GNUPGHOME=$home gpg --batch --quiet --passphrase '' \
  --quick-gen-key "Daypass THROWAWAY repository key <it@daypass.example>" rsa3072 sign 2d 2>/dev/null
GNUPGHOME=$home gpg --batch --armor --export-secret-keys > "$dir/gpg-secret.asc"
minisign -G -W -p "$dir/minisign.pub" -s "$dir/minisign.key" >/dev/null
openssl req -x509 -newkey rsa:3072 -nodes -days 2 -subj "/CN=Daypass THROWAWAY code-signing CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
  -keyout "$dir/authenticode-ca.key" -out "$dir/authenticode-ca.pem" 2>/dev/null
openssl req -newkey rsa:3072 -nodes -subj "/CN=Daypass THROWAWAY code signing/O=Daypass" \
  -keyout "$dir/authenticode.key" -out "$dir/authenticode.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n' > "$dir/authenticode.ext"
openssl x509 -req -in "$dir/authenticode.csr" -CA "$dir/authenticode-ca.pem" -CAkey "$dir/authenticode-ca.key" \
  -CAcreateserial -days 2 -extfile "$dir/authenticode.ext" -out "$dir/authenticode.pem" 2>/dev/null
rm -f "$dir/authenticode-ca.key" "$dir/authenticode.csr" "$dir/authenticode.ext" "$dir/authenticode-ca.srl"
cat <<ENV
export DAYPASS_GPG_KEY_FILE=$dir/gpg-secret.asc
export DAYPASS_MINISIGN_KEY_FILE=$dir/minisign.key
export DAYPASS_AUTHENTICODE_CERT=$dir/authenticode.pem
export DAYPASS_AUTHENTICODE_KEY=$dir/authenticode.key
ENV
