//! A daemon binary as a child process: started with JSON logs, found by the
//! address its start line reports (so it can listen on port 0), stopped by
//! SIGTERM, and killed if a test ends without stopping it.

use std::io::BufRead as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running daemon child process.
#[derive(Debug)]
pub struct ChildDaemon {
    child: Child,
    addr: String,
}

impl ChildDaemon {
    /// Spawns `command` (JSON logs on stdout, as `…_LOG_JSON=true` gives)
    /// and waits up to `timeout` for the log line whose message is
    /// `listening` (for example `kenmerk-verifier listening`); its `addr`
    /// field is the bound address. Panics (after killing the child) when
    /// no such line comes.
    pub fn spawn(mut command: Command, listening: &str, timeout: Duration) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("the daemon binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let listening = listening.to_owned();
        std::thread::spawn(move || {
            // Reads to the end, so the child never blocks on a full pipe.
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    if v["fields"]["message"] == listening.as_str() {
                        let _ = tx.send(v["fields"]["addr"].as_str().unwrap_or("").to_owned());
                    }
                }
            }
        });
        match rx.recv_timeout(timeout) {
            Ok(addr) => ChildDaemon { child, addr },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the daemon did not report its address within {timeout:?}");
            }
        }
    }

    /// The bound address, `host:port`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `http://host:port`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits up to `timeout` for the exit; panics when
    /// the child is still running then (after killing it).
    pub async fn terminate(mut self, timeout: Duration) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                return status;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!("no exit within {timeout:?} of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ChildDaemon {
    fn drop(&mut self) {
        // A test that failed half-way must not leave a daemon behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
