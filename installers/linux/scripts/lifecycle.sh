# Shared by the Daypass packages' maintainer scripts (build.sh puts it at the top of each, after
# setting SERVICE, the package's unit): how each script treats the service.
# deb: postinst "configure"; prerm "remove"|"upgrade"; postrm "remove"|"purge".
# rpm: the same scripts get 1 (install), 2 (upgrade) or 0 (erase) instead.
set -e

running_systemd() { [ -d /run/systemd/system ]; }

# all_set FILE NAME...: every NAME has a value in the environment file FILE (its last assignment).
all_set() {
  file=$1; shift
  for name in "$@"; do
    [ -n "$(sed -n "s/^$name=//p" "$file" | tail -n 1)" ] || return 1
  done
}

# The package's users, groups and runtime directories, made now rather than at next boot.
make_users_and_directories() {
  systemd-sysusers "$SERVICE.conf"
  if [ -f "/usr/lib/tmpfiles.d/$SERVICE.conf" ] && running_systemd; then
    systemd-tmpfiles --create "$SERVICE.conf"
  fi
}

# Enables the unit (also in a chroot: systemctl only writes the symlink) and, on a running
# system, (re)starts it when `configured` says its settings are complete.
enable_and_start() {
  systemctl enable "$SERVICE.service" >/dev/null 2>&1 || systemctl --root=/ enable "$SERVICE.service"
  running_systemd || return 0
  systemctl daemon-reload
  if configured; then
    systemctl restart "$SERVICE.service"
  else
    echo "$SERVICE: not started yet: $(not_configured_because)"
  fi
}

stop_before_removal() {
  case "$1" in
    remove | 0)
      if running_systemd; then systemctl stop "$SERVICE.service" || true; fi
      systemctl disable "$SERVICE.service" >/dev/null 2>&1 || systemctl --root=/ disable "$SERVICE.service" || true
      ;;
  esac
}

# On purge (deb only: rpm has none), everything the package made at run time goes too.
forget_after_purge() {
  running_systemd && systemctl daemon-reload || true
  [ "$1" = purge ] || return 0
  for path in "$@"; do
    [ "$path" = purge ] || rm -rf -- "$path"
  done
}

# Removes a system user and group the package's sysusers file made, on purge only.
remove_account() {
  if getent passwd "$1" >/dev/null; then userdel "$1" || true; fi
  if getent group "$1" >/dev/null; then groupdel "$1" || true; fi
}
