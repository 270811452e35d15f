#!/usr/bin/env bash
# Builds, signs and notarizes Daypass.pkg ON A MAC (Xcode command-line tools), from a release build
# of daypass-desktop (Tauri's .app), daypass-tunneld, daypass and wireguard-go for this machine:
#   DAYPASS_APP=…/Daypass.app DAYPASS_BIN=<dir with daypass-tunneld, daypass, wireguard-go> \
#   DAYPASS_VERSION=0.1.0 DAYPASS_APPLICATION_ID="Developer ID Application: …" \
#   DAYPASS_INSTALLER_ID="Developer ID Installer: …" DAYPASS_NOTARY_PROFILE=<notarytool keychain profile> \
#   bash installers/macos/build-pkg.sh OUT_DIR
# Not run here: this repository's CI has no Mac; it checks this script's syntax and the files it uses.
set -euo pipefail
cd "$(dirname "$0")"
out=${1:?usage: build-pkg.sh OUT_DIR}
: "${DAYPASS_APP:?} ${DAYPASS_BIN:?} ${DAYPASS_VERSION:?} ${DAYPASS_APPLICATION_ID:?} ${DAYPASS_INSTALLER_ID:?} ${DAYPASS_NOTARY_PROFILE:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
support="$root/Library/Application Support/Daypass"
mkdir -p "$root/Applications" "$support" "$out"

sign() { codesign --force --timestamp --options runtime --entitlements entitlements.plist --sign "$DAYPASS_APPLICATION_ID" "$@"; }
cp -R "$DAYPASS_APP" "$root/Applications/Daypass.app"
for program in daypass-tunneld daypass wireguard-go; do
  install -m 0755 "$DAYPASS_BIN/$program" "$support/$program"
  sign "$support/$program"
done
install -m 0755 "$support/daypass" "$root/Applications/Daypass.app/Contents/MacOS/daypass"
sign "$root/Applications/Daypass.app/Contents/MacOS/daypass"
sign --deep "$root/Applications/Daypass.app"
install -m 0644 com.daypass.tunneld.plist "$support/com.daypass.tunneld.plist"

pkgbuild --root "$root" --scripts scripts --identifier com.daypass.pkg --version "$DAYPASS_VERSION" \
  --install-location / "$work/Daypass-component.pkg"
mkdir -p "$work/resources" && cp ../../LICENSE "$work/resources/LICENSE"
productbuild --distribution distribution.xml --resources "$work/resources" --package-path "$work" \
  --version "$DAYPASS_VERSION" "$work/Daypass-unsigned.pkg"
productsign --timestamp --sign "$DAYPASS_INSTALLER_ID" "$work/Daypass-unsigned.pkg" "$out/Daypass-$DAYPASS_VERSION.pkg"

# Notarization: Apple scans the signed pkg; the ticket is stapled so Gatekeeper needs no network.
xcrun notarytool submit "$out/Daypass-$DAYPASS_VERSION.pkg" --keychain-profile "$DAYPASS_NOTARY_PROFILE" --wait
xcrun stapler staple "$out/Daypass-$DAYPASS_VERSION.pkg"
pkgutil --check-signature "$out/Daypass-$DAYPASS_VERSION.pkg"
spctl --assess --type install --verbose "$out/Daypass-$DAYPASS_VERSION.pkg"
