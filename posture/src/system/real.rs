//! The real machine: the filesystem, commands run with a clean environment, the C locale and a
//! timeout (so a hanging tool cannot hang the check), and on Windows the registry and WMI.

use super::{io_error, Cmd, CmdOutput, SysError, System};
use crate::facts::OsFamily;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;
use time::OffsetDateTime;
use wait_timeout::ChildExt as _;

const COMMAND_TIMEOUT: Duration = Duration::from_secs(super::COMMAND_TIMEOUT_SECS);

#[derive(Debug, Clone, Copy, Default)]
pub struct RealSystem;

/// Environment variables a Windows tool cannot start without; everything else is cleared.
const WINDOWS_ENV: [&str; 3] = ["SystemRoot", "windir", "SystemDrive"];

impl System for RealSystem {
    fn family(&self) -> OsFamily {
        if cfg!(windows) {
            OsFamily::Windows
        } else if cfg!(target_os = "macos") {
            OsFamily::Macos
        } else {
            OsFamily::Linux
        }
    }

    fn read_file(&self, path: &str) -> Result<String, SysError> {
        std::fs::read(path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| io_error(path, e))
    }

    fn read_dir(&self, path: &str) -> Result<Vec<String>, SysError> {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .map_err(|e| io_error(path, e))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        Ok(names)
    }

    fn read_link(&self, path: &str) -> Result<String, SysError> {
        std::fs::read_link(path)
            .map(|p| p.to_string_lossy().into_owned())
            .map_err(|e| io_error(path, e))
    }

    fn run(&self, cmd: Cmd, args: &[&str]) -> Result<CmdOutput, SysError> {
        let mut command = Command::new(cmd.path());
        command.args(args).env_clear().env("LC_ALL", "C").env("LANG", "C");
        if cfg!(windows) {
            for name in WINDOWS_ENV {
                if let Ok(v) = std::env::var(name) {
                    command.env(name, v);
                }
            }
        } else {
            command.env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| io_error(cmd.path(), e))?;
        // Read both pipes on their own threads so a chatty tool cannot block on a full pipe.
        let mut out = child.stdout.take().expect("piped");
        let mut err = child.stderr.take().expect("piped");
        let out_reader = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = out.read_to_end(&mut s);
            s
        });
        let err_reader = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = err.read_to_end(&mut s);
            s
        });
        let status = match child
            .wait_timeout(COMMAND_TIMEOUT)
            .map_err(|e| io_error(cmd.path(), e))?
        {
            Some(status) => status,
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SysError::TimedOut(
                    cmd.path().to_string(),
                    COMMAND_TIMEOUT.as_secs(),
                ));
            }
        };
        let text = |h: std::thread::JoinHandle<Vec<u8>>| {
            String::from_utf8_lossy(&h.join().unwrap_or_default()).into_owned()
        };
        Ok(CmdOutput {
            status: status.code().unwrap_or(-1),
            stdout: text(out_reader),
            stderr: text(err_reader),
        })
    }

    fn exists(&self, path: &str) -> bool {
        std::fs::symlink_metadata(path).is_ok()
    }

    #[cfg(windows)]
    fn registry(&self, key: &str, value: &str) -> Result<super::RegValue, SysError> {
        super::windows::registry(key, value)
    }

    #[cfg(windows)]
    fn wmi_query(&self, namespace: &str, query: &str) -> Result<Vec<super::WmiObject>, SysError> {
        super::windows::wmi_query(namespace, query)
    }

    #[cfg(windows)]
    fn wmi_method(
        &self,
        namespace: &str,
        object_path: &str,
        method: &str,
    ) -> Result<super::WmiObject, SysError> {
        super::windows::wmi_method(namespace, object_path, method)
    }

    // This is the posture crate's clock: the one place it reads the wall clock.
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
