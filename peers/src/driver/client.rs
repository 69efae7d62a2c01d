//! The harness's side of the driver protocol: it starts an implementer's driver program, sends
//! requests, and reads replies and events with a timeout on every wait. A driver that crashes,
//! hangs or writes garbage gives a [`DriverError`] that names what happened, so the scenario
//! fails with a message the implementer can act on and the run goes on.

use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use protocol::driver::{Event, Line, Op, Reply, Request};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// Lines of the driver's stderr kept for error messages.
const STDERR_TAIL: usize = 20;

/// How long an exit's message waits for the driver's last stderr lines.
const STDERR_GRACE: Duration = Duration::from_secs(1);

/// What went wrong with a driver program (not with the SDK's answers, which are replies).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// The program could not be started.
    #[error("cannot start the driver {command:?}: {reason}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        reason: String,
    },
    /// The program ended (or closed stdout) while a reply or event was awaited.
    #[error("the driver exited ({status}) while {waiting_for}; its last stderr lines:\n{stderr}")]
    Exited {
        /// What the harness was waiting for.
        waiting_for: String,
        /// The exit status, as text.
        status: String,
        /// The end of its stderr.
        stderr: String,
    },
    /// Nothing came in time.
    #[error("the driver did not answer within {after:?} while {waiting_for} (the run's --driver-timeout)")]
    Timeout {
        /// What the harness was waiting for.
        waiting_for: String,
        /// The timeout.
        after: Duration,
    },
    /// A line that is not of the protocol.
    #[error("the driver wrote a line that is not of the driver protocol ({reason}): {line}")]
    Garbage {
        /// The line.
        line: String,
        /// Why it was refused.
        reason: String,
    },
    /// Writing to the driver's stdin failed.
    #[error("cannot write to the driver: {0}")]
    Write(String),
}

/// What came first of an event and an awaited reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// An unasked event.
    Event(Event),
    /// The reply awaited.
    Reply(Reply),
}

/// A running driver program.
/// How many driver programs may run at once and how long the harness waits for any one line of
/// theirs: what keeps a run with a slow driver on a loaded machine from reporting the driver's
/// slowness as a failure. Cloned handles share one pool of slots.
#[derive(Debug, Clone)]
pub struct DriverLimits {
    timeout: Duration,
    at_once: usize,
    slots: Arc<tokio::sync::Semaphore>,
}

impl DriverLimits {
    /// The default wait for a driver's line.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// At most `at_once` driver programs at a time (at least 1), each wait bounded by `timeout`.
    pub fn new(at_once: usize, timeout: Duration) -> Self {
        let at_once = at_once.max(1);
        Self { timeout, at_once, slots: Arc::new(tokio::sync::Semaphore::new(at_once)) }
    }

    /// Driver programs at once per core of this machine. A driver spends most of a scenario
    /// waiting (for the server, a callback's quiet period, the harness's next line): on 2 cores the
    /// whole suite through the reference driver took 26.1 s wall and 7.5 s CPU at 1 per core,
    /// 15.9 s at 2 and 11.5 s (7.0 s CPU) at 4; the CPU stays under what the cores carry.
    pub const PER_CORE: usize = 4;

    /// [`Self::PER_CORE`] driver programs at once per core, with the default timeout: one pool
    /// for the whole process, shared by every handle this returns.
    pub fn for_this_machine() -> Self {
        static MACHINE: std::sync::OnceLock<DriverLimits> = std::sync::OnceLock::new();
        MACHINE
            .get_or_init(|| {
                let cores = std::thread::available_parallelism().map_or(1, usize::from);
                Self::new(cores.saturating_mul(Self::PER_CORE), Self::DEFAULT_TIMEOUT)
            })
            .clone()
    }

    /// The bound on every wait for the driver.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How many driver programs may run at once.
    pub fn at_once(&self) -> usize {
        self.at_once
    }

    /// Starts `command_line` with `seed` in its environment ([`SEED_VARIABLE`]) once a slot is
    /// free; the process holds its slot until it is dropped.
    pub async fn start(&self, command_line: &str, seed: u64) -> Result<DriverProcess, DriverError> {
        let slot = Arc::clone(&self.slots).acquire_owned().await.ok();
        let mut process = DriverProcess::start(command_line, self.timeout, seed)?;
        process.slot = slot;
        Ok(process)
    }
}

/// The environment variable that carries the scenario's seed (a decimal `u64`) to every driver
/// program the harness starts. Outside the driver protocol: a driver may ignore it. The reference
/// driver makes its device ids and keys from it, so that its processes in one run never share a
/// device_id, and a run repeats with the same `--seed`.
pub const SEED_VARIABLE: &str = "MOBAUTH_DRIVER_SEED";

#[derive(Debug)]
pub struct DriverProcess {
    command: String,
    /// The slot of [`DriverLimits`] this process holds while it runs, if it was started through one.
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Result<Line, DriverError>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// The task that reads stderr: an exit's message waits for it to read the last lines.
    stderr_task: Option<tokio::task::JoinHandle<()>>,
    timeout: Duration,
    next_id: i64,
    /// Events that arrived and were not taken yet.
    events: VecDeque<Event>,
    /// Replies that arrived for requests not being waited on (a deferred `handle_otp`).
    replies: HashMap<Option<i64>, VecDeque<Reply>>,
    /// Every line sent and received, for reports.
    log: Vec<String>,
}

impl DriverProcess {
    /// Starts `command_line` with `sh -c`, so it may carry arguments and quoting as a shell reads them.
    pub fn start(command_line: &str, timeout: Duration, seed: u64) -> Result<Self, DriverError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command_line)
            .env(SEED_VARIABLE, seed.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| DriverError::Spawn { command: command_line.into(), reason: e.to_string() })?;
        let missing = |what: &str| DriverError::Spawn {
            command: command_line.into(),
            reason: format!("no {what} pipe"),
        };
        let stdin = child.stdin.take().ok_or_else(|| missing("stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;
        let stderr_pipe = child.stderr.take().ok_or_else(|| missing("stderr"))?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(text)) = lines.next_line().await {
                let parsed = Line::parse(&text)
                    .map_err(|e| DriverError::Garbage { line: text.clone(), reason: e.to_string() });
                if tx.send(parsed).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let tail = stderr.clone();
        let stderr_task = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr_pipe).lines();
            while let Ok(Some(text)) = lines.next_line().await {
                let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
                if tail.len() == STDERR_TAIL {
                    tail.pop_front();
                }
                tail.push_back(text);
            }
        });
        Ok(Self {
            command: command_line.into(),
            slot: None,
            child,
            stdin: Some(stdin),
            lines: rx,
            stderr,
            stderr_task: Some(stderr_task),
            timeout,
            next_id: 1,
            events: VecDeque::new(),
            replies: HashMap::new(),
            log: Vec::new(),
        })
    }

    /// The command line it was started with.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Every line exchanged so far, `>` for sent and `<` for received.
    pub fn log(&self) -> &[String] {
        &self.log
    }

    /// Sends `op` and returns its id, without waiting for the reply.
    pub async fn send(&mut self, op: Op) -> Result<i64, DriverError> {
        let id = self.next_id;
        self.next_id += 1;
        let line =
            serde_json::to_string(&Request { id, op }).map_err(|e| DriverError::Write(e.to_string()))?;
        self.send_raw(&line).await?;
        Ok(id)
    }

    /// Sends one line exactly as given (to test how a driver meets a malformed request).
    pub async fn send_raw(&mut self, line: &str) -> Result<(), DriverError> {
        let stdin = self.stdin.as_mut().ok_or_else(|| DriverError::Write("stdin is closed".into()))?;
        self.log.push(format!("> {line}"));
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        stdin.write_all(&bytes).await.map_err(|e| DriverError::Write(e.to_string()))?;
        stdin.flush().await.map_err(|e| DriverError::Write(e.to_string()))
    }

    /// Sends `op` and waits for its reply.
    pub async fn request(&mut self, op: Op) -> Result<Reply, DriverError> {
        let name = op.name();
        let id = self.send(op).await?;
        self.reply(Some(id), &format!("waiting for the reply to {name} (id {id})")).await
    }

    /// Waits for the reply with `id` (`None` for replies to lines without an id).
    pub async fn reply(&mut self, id: Option<i64>, waiting_for: &str) -> Result<Reply, DriverError> {
        loop {
            if let Some(reply) = self.replies.get_mut(&id).and_then(VecDeque::pop_front) {
                return Ok(reply);
            }
            self.read_one(waiting_for).await?;
        }
    }

    /// Waits for the next event.
    pub async fn event(&mut self, waiting_for: &str) -> Result<Event, DriverError> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Ok(event);
            }
            self.read_one(waiting_for).await?;
        }
    }

    /// Waits for whichever comes first: an event (the oldest one not taken) or the reply with
    /// `id`. A deferred `handle_otp` is answered either by an `open_auth_otp` event (the request
    /// is showing, the reply comes after the decision) or at once by an error reply.
    pub async fn event_or_reply(&mut self, id: i64, waiting_for: &str) -> Result<Arrival, DriverError> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Ok(Arrival::Event(event));
            }
            if let Some(reply) = self.replies.get_mut(&Some(id)).and_then(VecDeque::pop_front) {
                return Ok(Arrival::Reply(reply));
            }
            self.read_one(waiting_for).await?;
        }
    }

    /// Takes the oldest event that has arrived, without waiting.
    pub fn take_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Every line that has already arrived, without waiting: events are queued, replies kept.
    pub fn drain(&mut self) -> Result<(), DriverError> {
        while let Ok(line) = self.lines.try_recv() {
            self.accept(line?);
        }
        Ok(())
    }

    /// Events received and not taken, oldest first.
    pub fn pending_events(&self) -> impl Iterator<Item = &Event> {
        self.events.iter()
    }

    fn accept(&mut self, line: Line) {
        self.log.push(format!("< {}", line.to_line()));
        match line {
            Line::Event(event) => self.events.push_back(event),
            Line::Reply(reply) => self.replies.entry(reply.id()).or_default().push_back(reply),
        }
    }

    async fn read_one(&mut self, waiting_for: &str) -> Result<(), DriverError> {
        match tokio::time::timeout(self.timeout, self.lines.recv()).await {
            Err(_) => Err(DriverError::Timeout { waiting_for: waiting_for.into(), after: self.timeout }),
            Ok(Some(line)) => {
                let line = line?;
                self.accept(line);
                Ok(())
            }
            Ok(None) => Err(self.exited(waiting_for).await),
        }
    }

    async fn exited(&mut self, waiting_for: &str) -> DriverError {
        let status = match tokio::time::timeout(self.timeout, self.child.wait()).await {
            Ok(Ok(status)) => status.to_string(),
            Ok(Err(e)) => format!("unknown: {e}"),
            Err(_) => "stdout closed, still running".into(),
        };
        // The last lines a crashing driver wrote may still be in the pipe; a descendant that
        // keeps stderr open must not hold the message up for long.
        if let Some(task) = self.stderr_task.take() {
            let _ = tokio::time::timeout(STDERR_GRACE, task).await;
        }
        let stderr = self
            .stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        DriverError::Exited { waiting_for: waiting_for.into(), status, stderr }
    }

    /// Closes stdin (the end of input) and waits for the driver to exit; returns its exit code.
    pub async fn finish(mut self) -> Result<(Option<i32>, Vec<Line>), DriverError> {
        drop(self.stdin.take());
        let mut rest = Vec::new();
        loop {
            match tokio::time::timeout(self.timeout, self.lines.recv()).await {
                Ok(Some(line)) => rest.push(line?),
                Ok(None) => break,
                Err(_) => {
                    return Err(DriverError::Timeout {
                        waiting_for: "the driver to exit at the end of its input".into(),
                        after: self.timeout,
                    });
                }
            }
        }
        match tokio::time::timeout(self.timeout, self.child.wait()).await {
            Ok(Ok(status)) => Ok((status.code(), rest)),
            Ok(Err(e)) => Err(DriverError::Write(e.to_string())),
            Err(_) => Err(DriverError::Timeout {
                waiting_for: "the driver to exit at the end of its input".into(),
                after: self.timeout,
            }),
        }
    }
}
