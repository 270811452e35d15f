//! On Windows, before the app sends anything (a sign-in token, a passkey answer) down the pipe, it
//! checks that the process serving it is the Daypass service: anyone allowed to write to the pipe
//! may also create an instance of it, so the name alone does not tell.

/// Whether the pipe's server process (`server`) is the running service (`service`, its process
/// id as the service manager reports it, `None` when the service is not running).
pub fn check(server: u32, service: Option<u32>) -> Result<(), String> {
    match service {
        Some(service) if service == server => Ok(()),
        Some(service) => Err(format!(
            "the pipe is served by process {server}, not by the Daypass service (process {service}): \
             nothing was sent; tell IT, another program is posing as Daypass"
        )),
        None => Err(format!(
            "the Daypass service is not running, yet process {server} serves its pipe: nothing was \
             sent; start the service (or reinstall Daypass) and tell IT"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_service_process_is_trusted() {
        assert!(check(4242, Some(4242)).is_ok());
        let impostor = check(666, Some(4242)).unwrap_err();
        assert!(
            impostor.contains("666") && impostor.contains("4242"),
            "{impostor}"
        );
        let stopped = check(666, None).unwrap_err();
        assert!(stopped.contains("not running"), "{stopped}");
    }
}
