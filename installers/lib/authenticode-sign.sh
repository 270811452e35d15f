#!/usr/bin/env bash
# Authenticode-signs a Windows executable in place (SHA-256; RFC 3161 timestamp when a server is
# given), with the key named by the environment (installers/lib/signing.sh lists the variables).
# A script of its own because makensis calls it for the uninstaller it writes.
set -euo pipefail
file=${1:?usage: authenticode-sign.sh FILE}
pkcs11=() timestamp=()
[[ -n ${DAYPASS_AUTHENTICODE_PKCS11_MODULE:-} ]] && pkcs11=(-pkcs11module "$DAYPASS_AUTHENTICODE_PKCS11_MODULE")
[[ -n ${DAYPASS_AUTHENTICODE_TIMESTAMP_URL:-} ]] && timestamp=(-ts "$DAYPASS_AUTHENTICODE_TIMESTAMP_URL")
osslsigncode sign "${pkcs11[@]}" -certs "${DAYPASS_AUTHENTICODE_CERT:?}" -key "${DAYPASS_AUTHENTICODE_KEY:?}" \
  -h sha256 -n "Daypass" -i "https://github.com/daypass/daypass" "${timestamp[@]}" \
  -in "$file" -out "$file.signed" >/dev/null
mv "$file.signed" "$file"
