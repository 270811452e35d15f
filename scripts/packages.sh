# Sourced by scripts/demo.sh and scripts/test.sh: the Debian packages building and running Daypass
# needs (`need_product_packages`), and installing whatever is missing (`install_needed_packages`).
# Each check looks for what the package provides, so a machine that has it installs nothing.

need_packages=()

need_product_packages() {
  command -v cargo >/dev/null || { echo "cargo is missing: install the Rust toolchain (rustup) first" >&2; exit 2; }
  command -v npm >/dev/null || { echo "npm is missing: the machine's Node.js and npm build the desktop app's window" >&2; exit 2; }
  command -v pkg-config >/dev/null || need_packages+=(pkg-config)
  command -v nft >/dev/null || need_packages+=(nftables)  # the gateway's data plane
  command -v wireguard-go >/dev/null || need_packages+=(wireguard-go)  # userspace WireGuard (no kernel module here)
  command -v curl >/dev/null || need_packages+=(curl ca-certificates)
  # USB security keys (daypass-tunnel's security-key feature): udev, and libclang for fido-hid-rs's bindgen.
  pkg-config --exists libudev 2>/dev/null || need_packages+=(libudev-dev)
  ls /usr/lib/llvm-*/lib/libclang.so.1 >/dev/null 2>&1 || need_packages+=(libclang1-14)
  ls /usr/lib/llvm-*/lib/clang/*/include/stddef.h >/dev/null 2>&1 || need_packages+=(libclang-common-14-dev)
  # The desktop app (Tauri 2 on WebKitGTK); Xvfb and WebKitGTK's WebDriver run it without a display.
  pkg-config --exists webkit2gtk-4.1 2>/dev/null || need_packages+=(libwebkit2gtk-4.1-dev)
  pkg-config --exists ayatana-appindicator3-0.1 2>/dev/null || need_packages+=(libayatana-appindicator3-dev)
  pkg-config --exists librsvg-2.0 2>/dev/null || need_packages+=(librsvg2-dev)
  pkg-config --exists openssl 2>/dev/null || need_packages+=(libssl-dev)
  dpkg -s libxdo-dev >/dev/null 2>&1 || need_packages+=(libxdo-dev)
  command -v Xvfb >/dev/null || need_packages+=(xvfb xauth)
  command -v WebKitWebDriver >/dev/null || need_packages+=(webkit2gtk-driver)
  command -v file >/dev/null || need_packages+=(file)
}

# Packages are installed without starting their services (PostgreSQL, rsyslog): the tests start
# their own, on ports of their own, and stop them again.
install_needed_packages() {
  if ((${#need_packages[@]})); then
    echo "== installing ${need_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    local no_start=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      no_start=/usr/sbin/policy-rc.d
      printf '#!/bin/sh\nexit 101\n' > "$no_start" && chmod 755 "$no_start"
    fi
    local status=0
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null; } || status=$?
    [ -z "$no_start" ] || rm -f "$no_start"
    return "$status"
  fi
}

# The desktop app's window: installed from the lockfile and built into ui/dist (Tauri embeds it).
build_window() {
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix ui --no-audit --no-fund --loglevel=error
  npm run --prefix ui --silent build >/dev/null
}
