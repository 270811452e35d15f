//! The named-pipe calls: a server with a security descriptor, and who is at a pipe's other end.

use std::ffi::c_void;
use std::io;
use std::os::windows::ffi::OsStrExt as _;
use std::os::windows::io::AsRawHandle;
use tokio::net::windows::named_pipe::{NamedPipeServer, ServerOptions};
use windows_sys::Win32::Foundation::{LocalFree, BOOL, HANDLE};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES};
use windows_sys::Win32::System::Pipes::{
    GetNamedPipeClientProcessId, GetNamedPipeClientSessionId, GetNamedPipeServerProcessId,
};
use windows_sys::Win32::System::RemoteDesktop::WTSGetActiveConsoleSessionId;

/// A security descriptor made from SDDL, freed when dropped.
struct SecurityDescriptor(PSECURITY_DESCRIPTOR);

impl SecurityDescriptor {
    #[allow(unsafe_code)]
    fn from_sddl(sddl: &str) -> io::Result<Self> {
        let wide: Vec<u16> = std::ffi::OsStr::new(sddl)
            .encode_wide()
            .chain(std::iter::once(0))
            .collect();
        let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `wide` is a NUL-terminated UTF-16 string that outlives the call; `descriptor` is
        // a valid place for the out-pointer; the size out-parameter is optional (null).
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                wide.as_ptr(),
                SDDL_REVISION_1,
                &mut descriptor,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(SecurityDescriptor(descriptor))
    }
}

impl Drop for SecurityDescriptor {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: the descriptor was allocated by ConvertStringSecurityDescriptor…W, which says to
        // free it with LocalFree, and it is freed once, here.
        unsafe { LocalFree(self.0) };
    }
}

/// Creates an instance of the pipe server `name` whose DACL is `sddl` (the first instance with
/// `first_pipe_instance`, so a squatter already holding the name makes this fail).
#[allow(unsafe_code)]
pub fn create_pipe_server(options: &ServerOptions, name: &str, sddl: &str) -> io::Result<NamedPipeServer> {
    let descriptor = SecurityDescriptor::from_sddl(sddl)?;
    let mut attributes = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: descriptor.0,
        bInheritHandle: 0,
    };
    // SAFETY: `attributes` is a valid SECURITY_ATTRIBUTES whose descriptor (`descriptor`) lives
    // until after the call; the system copies it into the pipe.
    unsafe {
        options.create_with_security_attributes_raw(
            name,
            (&mut attributes as *mut SECURITY_ATTRIBUTES).cast::<c_void>(),
        )
    }
}

/// The `u32` a Win32 call writes through its out-parameter, or the thread's last error when the
/// call returns FALSE.
fn written_u32(call: impl FnOnce(&mut u32) -> BOOL) -> io::Result<u32> {
    let mut value = 0u32;
    if call(&mut value) == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value)
}

/// The process id at the client end of a connected pipe (for logs only: ids are reused).
#[allow(unsafe_code)]
pub fn pipe_client_process(pipe: &NamedPipeServer) -> io::Result<u32> {
    // SAFETY: the handle is a live pipe handle owned by `pipe` for the call; `pid` is writable.
    written_u32(|pid| unsafe { GetNamedPipeClientProcessId(pipe.as_raw_handle() as HANDLE, pid) })
}

/// The logon session (Terminal Services session id) of the client of a connected pipe.
#[allow(unsafe_code)]
pub fn pipe_client_session(pipe: &NamedPipeServer) -> io::Result<u32> {
    // SAFETY: the handle is a live pipe handle owned by `pipe` for the call; `session` is writable.
    written_u32(|session| unsafe { GetNamedPipeClientSessionId(pipe.as_raw_handle() as HANDLE, session) })
}

/// The process id at the server end of a pipe the caller opened.
#[allow(unsafe_code)]
pub fn pipe_server_process(pipe: &impl AsRawHandle) -> io::Result<u32> {
    // SAFETY: the handle is a live pipe handle the caller owns for the call; `pid` is writable.
    written_u32(|pid| unsafe { GetNamedPipeServerProcessId(pipe.as_raw_handle() as HANDLE, pid) })
}

/// The session attached to the physical console (`None` while none is, e.g. during a switch).
#[allow(unsafe_code)]
pub fn console_session() -> Option<u32> {
    // SAFETY: takes no arguments and only reads the current console session id.
    let session = unsafe { WTSGetActiveConsoleSessionId() };
    (session != u32::MAX).then_some(session)
}
