//! `gitgen serve` running in the background for a test, and plain HTTP requests to it:
//! what `tests/it/serve.rs` and `tests/e2e_serve.rs` share.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A `gitgen serve` process, stopped when dropped.
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub url: String,
}

impl Served {
    /// Starts `command` (a `gitgen serve --listen 127.0.0.1:0 …`) and waits for the line
    /// that says where it serves.
    pub fn start(command: &mut Command) -> Served {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting gitgen serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .map(|url| url.trim_end_matches('/').to_owned());
        let Some(url) = url else {
            let _ = child.kill();
            panic!("gitgen serve did not say where it serves: {line:?}");
        };
        Served { child, url }
    }

    /// `GET path`: the status and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .into();
        let mut response = agent
            .get(format!("{}{path}", self.url))
            .call()
            .unwrap_or_else(|err| panic!("GET {path}: {err}"));
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
