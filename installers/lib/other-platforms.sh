# Sourced by installers/build.sh: the Windows installer, the macOS packaging kit and the MDM
# templates, into "$packages" and "$out/mdm".

# The Windows release build (scripts/windows-build.sh), its programs signed, packed by makensis into
# Daypass-Setup-VERSION-x64.exe, itself signed (and the uninstaller it writes, via !uninstfinalize).
windows_installer() {
  local dist=$signing_dir/windows-dist wdocs=$docs/windows
  bash scripts/windows-build.sh "$dist" | tail -n 1
  for exe in "$dist"/*.exe; do installers/lib/authenticode-sign.sh "$exe"; done
  mkdir -p "$wdocs"
  cp LICENSE "$wdocs/LICENSE"
  DAYPASS_NOTICES_TARGET=x86_64-pc-windows-gnu \
    python3 scripts/licences.py notices "$wdocs/THIRD-PARTY-NOTICES.txt" daypass-tunnel daypass-desktop >/dev/null
  cp "$dist/WIREGUARD-NT-LICENSE.txt" "$wdocs/WIREGUARD-NT-LICENSE.txt"
  local setup=$packages/Daypass-Setup-$DAYPASS_VERSION-x64.exe
  makensis -V2 -DVERSION="$DAYPASS_VERSION" -DDIST="$dist" -DDOCS="$wdocs" -DOUTFILE="$setup" \
    -DSIGN="$PWD/installers/lib/authenticode-sign.sh" installers/windows/daypass.nsi
  installers/lib/authenticode-sign.sh "$setup"
}

# What a Mac build needs (installers/macos: launchd daemon, pkg scripts, distribution, entitlements,
# build-pkg.sh with the notarization steps) with the macOS third-party notices, as one archive.
macos_kit() {
  local kit=$signing_dir/daypass-macos-$DAYPASS_VERSION
  mkdir -p "$kit"
  cp -R installers/macos/. "$kit/"
  cp LICENSE "$kit/LICENSE"
  DAYPASS_NOTICES_TARGET=aarch64-apple-darwin \
    python3 scripts/licences.py notices "$kit/THIRD-PARTY-NOTICES.txt" daypass-tunnel daypass-desktop >/dev/null
  tar -czf "$packages/daypass-macos-$DAYPASS_VERSION.tar.gz" -C "$signing_dir" "$(basename "$kit")"
}

mdm_templates() {
  mkdir -p "$out/mdm/windows" "$out/mdm/macos"
  cp -R installers/windows/policy/. "$out/mdm/windows/"
  cp installers/macos/com.daypass.desktop.mobileconfig "$out/mdm/macos/"
}
