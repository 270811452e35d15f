# Sourced by installers/build.sh: the signed package repositories IT publishes, in "$out/repo".
#   apt/  pool/main/*.deb, dists/stable/{Release,InRelease,Release.gpg}, main/binary-amd64/Packages
#   rpm/  signed *.rpm, repodata/ with a detached repomd.xml.asc, daypass.repo

apt_repository() {
  local repo=$out/repo/apt dist
  dist=$repo/dists/stable
  mkdir -p "$repo/pool/main" "$dist/main/binary-amd64"
  cp "$packages"/*.deb "$repo/pool/main/"
  (cd "$repo" && apt-ftparchive packages pool > dists/stable/main/binary-amd64/Packages)
  gzip -9nk "$dist/main/binary-amd64/Packages"
  apt-ftparchive \
    -o APT::FTPArchive::Release::Origin=Daypass -o APT::FTPArchive::Release::Label=Daypass \
    -o APT::FTPArchive::Release::Suite=stable -o APT::FTPArchive::Release::Codename=stable \
    -o APT::FTPArchive::Release::Architectures=amd64 -o APT::FTPArchive::Release::Components=main \
    -o APT::FTPArchive::Release::Description="Daypass packages" \
    release "$dist" > "$signing_dir/Release"
  mv "$signing_dir/Release" "$dist/Release"
  gpg_sign --clearsign --output "$dist/InRelease" "$dist/Release"
  gpg_sign --armor --detach-sign --output "$dist/Release.gpg" "$dist/Release"
  cp "$keys/daypass-archive-keyring.gpg" "$repo/"
}

rpm_repository() {
  local repo=$out/repo/rpm
  mkdir -p "$repo"
  cp "$packages"/*.rpm "$repo/"
  rpm_sign "$repo"/*.rpm
  cp "$repo"/*.rpm "$packages/"  # the signed copies are the artifacts
  createrepo_c --quiet "$repo"
  gpg_sign --armor --detach-sign --output "$repo/repodata/repomd.xml.asc" "$repo/repodata/repomd.xml"
  cp "$keys/RPM-GPG-KEY-daypass" "$repo/"
  cat > "$repo/daypass.repo" <<REPO
[daypass]
name=Daypass
baseurl=https://packages.daypass.example/rpm
enabled=1
gpgcheck=1
repo_gpgcheck=1
gpgkey=https://packages.daypass.example/rpm/RPM-GPG-KEY-daypass
REPO
}
