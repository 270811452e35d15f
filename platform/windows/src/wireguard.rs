//! Loading WireGuardNT's `wireguard.dll` by absolute path (the `wireguard` feature: the tunnel
//! service's alone).

use std::path::Path;

/// Loads WireGuardNT from `dll`, which must be an absolute path; the DLL's own dependencies are
/// looked up only in its directory and `System32`, never in the current directory or `PATH`.
#[allow(unsafe_code)]
pub fn load_wireguard(dll: &Path) -> Result<wireguard_nt::Wireguard, String> {
    use libloading::os::windows::{Library, LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR, LOAD_LIBRARY_SEARCH_SYSTEM32};
    if !dll.is_absolute() {
        return Err(format!("{} is not an absolute path", dll.display()));
    }
    let flags = LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32;
    // SAFETY: loading runs the DLL's initialisation. The path is absolute and is the signed
    // wireguard.dll the installer put next to our executable, in a directory only administrators
    // can write; the search flags keep its dependencies out of user-writable directories.
    let library = unsafe { Library::load_with_flags(dll, flags) }.map_err(|e| e.to_string())?;
    // SAFETY: `library` is WireGuardNT's DLL (see above); `load_from_library` looks up its
    // documented exports with the signatures wireguard-nt 0.5 declares for that DLL's API.
    unsafe { wireguard_nt::load_from_library(library) }.map_err(|e| e.to_string())
}
