#!/usr/bin/env bash
# Builds the Windows client on Debian with mingw-w64, in release: daypass-tunneld.exe (the service),
# daypass.exe (the CLI) and daypass-desktop.exe (the app), and gathers them with the DLLs they load
# into OUT_DIR (default: $CARGO_TARGET_DIR/windows-dist), the folder the installers package:
#   wireguard.dll       WireGuardNT, signed by its authors, from the wireguard-nt crate's package
#   WebView2Loader.dll  the WebView2 loader tauri-build puts beside the app
#   WIREGUARD-NT-LICENSE.txt  WireGuard LLC's terms for wireguard.dll, shipped with it
# Prints the build time and the sizes (recorded in BENCHMARKS.md). Nothing here can run them: this
# machine has no Windows.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-pc-windows-gnu
target_dir=${CARGO_TARGET_DIR:-target}
out=${1:-$target_dir/windows-dist}
command -v x86_64-w64-mingw32-gcc >/dev/null \
  || { echo "x86_64-w64-mingw32-gcc is missing: apt-get install gcc-mingw-w64-x86-64" >&2; exit 2; }
[ -f ui/dist/index.html ] || { echo "ui/dist is not built: npm run build --prefix ui first" >&2; exit 2; }

started=$(date +%s)
cargo build --quiet --release --target "$target" -p daypass-tunnel --bins -p daypass-desktop \
  --features daypass-desktop/custom-protocol
built=$(( $(date +%s) - started ))

release="$target_dir/$target/release"
wireguard_nt=$(cargo metadata --format-version 1 --filter-platform "$target" \
  | python3 -c 'import json,sys; m=json.load(sys.stdin); print(next(p["manifest_path"] for p in m["packages"] if p["name"]=="wireguard-nt"))')
wireguard_dll="$(dirname "$wireguard_nt")/examples/wireguard_nt/bin/amd64/wireguard.dll"

rm -rf "$out" && mkdir -p "$out"
cp "$(dirname "$wireguard_dll")/../../LICENSE.txt" "$out/WIREGUARD-NT-LICENSE.txt"  # its redistribution terms
for file in "$release/daypass-tunneld.exe" "$release/daypass.exe" "$release/daypass-desktop.exe" \
            "$release/WebView2Loader.dll" "$wireguard_dll"; do
  [ -f "$file" ] || { echo "missing after the build: $file" >&2; exit 1; }
  cp "$file" "$out/"
done
for exe in "$out"/*.exe; do
  file "$exe" | grep -q 'PE32+ executable' || { echo "$exe is not a Windows x86-64 executable" >&2; exit 1; }
done
echo "windows build: ${built}s (release, $target); in $out:"
( cd "$out" && ls -l --block-size=K -- * | awk '{print "  " $5 "  " $9}' )
