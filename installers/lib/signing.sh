# Sourced by installers/build.sh: the three signing keys and how each artifact is signed.
#
# Release keys come from files (or a PKCS#11 token) named by environment variables, all three or
# none (installers/README.md, "Signing keys"). With none, this makes THROWAWAY keys
# (installers/lib/throwaway-keys.sh) in a private temporary directory removed when the build ends,
# and says so: fine for CI and rehearsals, never for a release. Public halves go to OUT_DIR/keys.
#   DAYPASS_GPG_KEY_FILE              armored OpenPGP secret key: apt Release, RPMs, repomd.xml
#   DAYPASS_GPG_PASSPHRASE_FILE       its passphrase, if it has one
#   DAYPASS_MINISIGN_KEY_FILE         minisign secret key: a .minisig beside every artifact
#   DAYPASS_MINISIGN_PASSWORD_FILE    its password, if it has one
#   DAYPASS_AUTHENTICODE_CERT         the code-signing certificate chain (PEM)
#   DAYPASS_AUTHENTICODE_KEY          its private key: a PEM file, or a pkcs11: URI with
#   DAYPASS_AUTHENTICODE_PKCS11_MODULE  the token's PKCS#11 module (e.g. an HSM's)
#   DAYPASS_AUTHENTICODE_TIMESTAMP_URL  an RFC 3161 timestamp server (needs the network)

signing_dir=$(mktemp -d /tmp/daypass-signing.XXXXXX)
chmod 0700 "$signing_dir"
export GNUPGHOME="$signing_dir/gnupg"
install -d -m 0700 "$GNUPGHOME"
trap 'gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null || true; rm -rf "$signing_dir"' EXIT

setup_signing_keys() {
  keys=$1
  mkdir -p "$keys"
  local given=0
  for variable in DAYPASS_GPG_KEY_FILE DAYPASS_MINISIGN_KEY_FILE DAYPASS_AUTHENTICODE_CERT; do
    [[ -n ${!variable:-} ]] && given=$((given + 1))
  done
  if ((given == 0)); then
    eval "$(bash installers/lib/throwaway-keys.sh "$signing_dir/throwaway")"
    cp "$signing_dir/throwaway/authenticode-ca.pem" "$keys/authenticode-throwaway-ca.pem"
    echo "!! THROWAWAY keys (no release keys were given): these artifacts are for tests only" >&2
    echo "These artifacts are signed with throwaway keys made for one build: never ship them." > "$keys/THROWAWAY"
  elif ((given < 3)); then
    echo "give all three release keys (DAYPASS_GPG_KEY_FILE, DAYPASS_MINISIGN_KEY_FILE, DAYPASS_AUTHENTICODE_CERT) or none" >&2
    exit 2
  fi
  : "${DAYPASS_AUTHENTICODE_KEY:?DAYPASS_AUTHENTICODE_KEY must name the private key of DAYPASS_AUTHENTICODE_CERT}"

  gpg_passphrase=()
  [[ -n ${DAYPASS_GPG_PASSPHRASE_FILE:-} ]] \
    && gpg_passphrase=(--pinentry-mode loopback --passphrase-file "$DAYPASS_GPG_PASSPHRASE_FILE")
  gpg --batch --quiet "${gpg_passphrase[@]}" --import "$DAYPASS_GPG_KEY_FILE" 2>/dev/null
  gpg_key=$(gpg --batch --list-secret-keys --with-colons | awk -F: '$1 == "fpr" { print $10; exit }')
  gpg --batch --export "$gpg_key" > "$keys/daypass-archive-keyring.gpg"
  gpg --batch --armor --export "$gpg_key" > "$keys/RPM-GPG-KEY-daypass"

  minisign_key=$DAYPASS_MINISIGN_KEY_FILE
  minisign_password=${DAYPASS_MINISIGN_PASSWORD_FILE:-/dev/null}
  minisign -R -s "$minisign_key" -p "$keys/minisign.pub" < "$minisign_password" >/dev/null
}

# A detached, armored OpenPGP signature, or a clear-signed copy with --clearsign.
gpg_sign() {
  gpg --batch --yes "${gpg_passphrase[@]}" --local-user "$gpg_key" "$@"
}

# Signs each RPM; rpmsign exits 0 having signed nothing when it cannot find gpg, so each is checked.
rpm_sign() {
  local rpmdb=$signing_dir/rpmdb
  mkdir -p "$rpmdb"
  rpmsign --define "__gpg /usr/bin/gpg" --define "_gpg_name $gpg_key" --define "_gpg_path $GNUPGHOME" \
    --addsign "$@" > "$signing_dir/rpmsign.log" 2>&1 || { cat "$signing_dir/rpmsign.log" >&2; exit 1; }
  rpmkeys --dbpath "$rpmdb" --import "$keys/RPM-GPG-KEY-daypass"
  for rpm in "$@"; do
    rpmkeys --dbpath "$rpmdb" --checksig "$rpm" | grep -q 'signatures OK' \
      || { echo "$rpm is not signed after rpmsign: $(rpmkeys --dbpath "$rpmdb" -Kv "$rpm")" >&2; exit 1; }
  done
}

# A minisign signature (FILE.minisig) for each file.
minisign_files() {
  for file in "$@"; do
    minisign -S -s "$minisign_key" -m "$file" -t "Daypass $(basename "$file")" < "$minisign_password" >/dev/null
  done
}
