//! A reference driver process spoken to over its pipes: requests with ids, their replies and
//! events, and a clean exit at the end of its input.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use serde_json::{Value, json};

use super::Readings;

/// How long a case waits for a line that must come.
const LINE_WAIT: Duration = Duration::from_secs(20);

/// A reference driver process and what it wrote.
pub(super) struct DriverProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    next_id: i64,
}

impl DriverProcess {
    pub(super) fn start(readings: Readings) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mobauth"));
        command.arg("device-driver");
        if readings == Readings::Alternative {
            command.arg("--alternative-readings");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the reference driver starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let (line_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (err_tx, stderr_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            let _ = err_tx.send(text);
        });
        let stdin = child.stdin.take();
        Self { child, stdin, lines, stderr: stderr_rx, next_id: 1 }
    }

    pub(super) fn write(&mut self, line: &str) -> Result<(), String> {
        let stdin = self.stdin.as_mut().ok_or("the driver's input is closed")?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("cannot write to the driver: {e}"))
    }

    /// Sends `request` (an object without id) and returns its id.
    pub(super) fn send(&mut self, mut request: Value) -> Result<i64, String> {
        let id = self.next_id;
        self.next_id += 1;
        let Some(fields) = request.as_object_mut() else {
            return Err(format!("a request is a JSON object: {request}"));
        };
        fields.insert("id".into(), json!(id));
        self.write(&request.to_string())?;
        Ok(id)
    }

    /// The next line the driver writes, which must come.
    pub(super) fn next(&self, waiting_for: &str) -> Result<Value, String> {
        let line = self
            .lines
            .recv_timeout(LINE_WAIT)
            .map_err(|e| format!("no line while waiting for {waiting_for}: {e:?}"))?;
        serde_json::from_str(&line)
            .map_err(|e| format!("not JSON while waiting for {waiting_for}: {line:?}: {e}"))
    }

    /// The reply to `id`, which must be the next line.
    pub(super) fn reply(&self, id: Option<i64>, what: &str) -> Result<Value, String> {
        let line = self.next(&format!("the reply to {what}"))?;
        if line.get("event").is_some() || line.get("id") != Some(&json!(id)) {
            return Err(format!("expected the reply to {what} (id {id:?}), got {line}"));
        }
        Ok(line)
    }

    /// The event `name`, which must be the next line.
    pub(super) fn event(&self, name: &str) -> Result<Value, String> {
        let line = self.next(name)?;
        if line.get("event") != Some(&json!(name)) {
            return Err(format!("expected the event {name}, got {line}"));
        }
        Ok(line)
    }

    /// Closes the input: the driver must write nothing more and exit with status 0.
    pub(super) fn finish(mut self) -> Result<(), String> {
        drop(self.stdin.take());
        let unasked = match self.lines.recv_timeout(LINE_WAIT) {
            Err(RecvTimeoutError::Disconnected) => None,
            Ok(line) => Some(format!("the driver wrote more than the case asked for: {line}")),
            Err(RecvTimeoutError::Timeout) => {
                Some("the driver did not close its output at the end of its input".to_string())
            }
        };
        if let Some(why) = unasked {
            let _ = self.child.kill();
            let _ = self.child.wait();
            return Err(why);
        }
        let status = self.child.wait().map_err(|e| format!("cannot wait for the driver: {e}"))?;
        if !status.success() {
            let stderr = self.stderr.recv_timeout(LINE_WAIT).unwrap_or_default();
            return Err(format!("the driver exited with {status}; stderr:\n{stderr}"));
        }
        Ok(())
    }
}
