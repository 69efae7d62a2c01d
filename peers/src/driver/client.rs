//! The harness's side of the driver protocol: it starts an implementer's driver program, sends
//! requests, and reads replies and events with a timeout on every wait. A driver that crashes,
//! hangs or writes garbage gives a [`DriverError`] that names what happened, so the scenario
//! fails with a message the implementer can act on and the run goes on.
//!
//! A driver is a peer, so everything it sends is bounded: a line's length ([`MAX_LINE`]), the
//! lines read ahead of the harness, the events it sends unasked, the stderr kept for messages,
//! the log kept for reports, and every wait. The driver runs in a process group of its own, and
//! the whole group ends when its [`DriverProcess`] is dropped, so no child of a driver outlives
//! its scenario.

use std::collections::{HashMap, HashSet, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use protocol::driver::{Event, Line, Op, Reply, Request};
use tokio::io::{AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::lines::{BoundedLine, read_bounded_line};

/// The longest line of a driver's stdout the harness takes. A reply or event of the protocol is
/// far shorter (the longest, `open_auth_otp`, carries a message the server bounds); a longer line
/// is refused as not of the protocol, and what is beyond the bound is counted, never stored.
pub const MAX_LINE: usize = 64 * 1024;

/// Lines of the driver's stderr kept for error messages.
const STDERR_TAIL: usize = 20;

/// The longest stderr line kept; the rest of it is counted.
const MAX_STDERR_LINE: usize = 1024;

/// Lines read from stdout ahead of the harness: beyond them the reader stops, so a driver that
/// floods its stdout is held up by its own pipe instead of filling the harness's memory.
const LINES_AHEAD: usize = 64;

/// Events a driver may send unasked that the scenario has not taken yet: more is a flood.
const MAX_UNTAKEN_EVENTS: usize = 256;

/// Bytes of lines the log keeps for reports; the lines beyond are counted.
const MAX_LOG_BYTES: usize = 1024 * 1024;

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
        /// The line, as much of it as a message shows.
        line: String,
        /// Why it was refused.
        reason: String,
    },
    /// A reply whose id is of no request the harness is waiting on.
    #[error(
        "the driver replied to id {}, which is of no request awaiting a reply, while {waiting_for}: {line}",
        id.map_or_else(|| "null".to_string(), |id| id.to_string())
    )]
    UnexpectedReply {
        /// The reply's id.
        id: Option<i64>,
        /// What the harness was waiting for.
        waiting_for: String,
        /// The reply, as much of it as a message shows.
        line: String,
    },
    /// More unasked events than the harness keeps.
    #[error(
        "the driver sent more than {MAX_UNTAKEN_EVENTS} events that no step asked for while {waiting_for}"
    )]
    Flood {
        /// What the harness was waiting for.
        waiting_for: String,
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
    lines: mpsc::Receiver<Result<Line, DriverError>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// The task that reads stderr: an exit's message waits for it to read the last lines.
    stderr_task: Option<tokio::task::JoinHandle<()>>,
    timeout: Duration,
    next_id: i64,
    /// Events that arrived and were not taken yet.
    events: VecDeque<Event>,
    /// Replies that arrived for requests not being waited on (a deferred `handle_otp`).
    replies: HashMap<Option<i64>, VecDeque<Reply>>,
    /// The ids of requests sent whose reply has not come yet.
    awaiting: HashSet<i64>,
    /// Raw lines sent without an id of their own, each of which a reply without an id may answer.
    awaiting_without_id: usize,
    /// Every line sent and received, for reports, up to [`MAX_LOG_BYTES`].
    log: Vec<String>,
    /// The bytes the log holds, and the lines it did not keep.
    log_bytes: usize,
    log_dropped: usize,
    /// The driver's process group, ended when this is dropped.
    group: Option<rustix::process::Pid>,
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        // `kill_on_drop` ends the shell the command line runs in; this ends what it started too
        // (a driver's own children, a process that left its parent). The group is the shell's
        // pid, which the kernel does not give another process while the group has members.
        if let Some(group) = self.group {
            // A group with no member left is what ESRCH says: nothing to end.
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
    }
}

/// What a line of the driver's stdout is: a line of the protocol, or why it is not.
fn parse_line(line: &BoundedLine) -> Result<Line, DriverError> {
    let garbage = |reason: String| DriverError::Garbage { line: line.shown(), reason };
    if line.cut > 0 {
        return Err(garbage(format!(
            "a line of {} bytes, longer than the {MAX_LINE} the harness takes",
            line.len()
        )));
    }
    let text = std::str::from_utf8(&line.kept).map_err(|e| garbage(format!("not UTF-8 text: {e}")))?;
    Line::parse(text).map_err(|e| garbage(e.to_string()))
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
            // A group of its own, led by the shell, so that it can be ended whole.
            .process_group(0)
            .spawn()
            .map_err(|e| DriverError::Spawn { command: command_line.into(), reason: e.to_string() })?;
        let group = child.id().and_then(|pid| rustix::process::Pid::from_raw(i32::try_from(pid).ok()?));
        let missing = |what: &str| DriverError::Spawn {
            command: command_line.into(),
            reason: format!("no {what} pipe"),
        };
        let stdin = child.stdin.take().ok_or_else(|| missing("stdin"))?;
        let stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;
        let stderr_pipe = child.stderr.take().ok_or_else(|| missing("stderr"))?;
        let (tx, rx) = mpsc::channel(LINES_AHEAD);
        tokio::spawn(async move {
            let mut stdout = BufReader::new(stdout);
            while let Ok(Some(line)) = read_bounded_line(&mut stdout, MAX_LINE).await {
                if tx.send(parse_line(&line)).await.is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let tail = stderr.clone();
        let stderr_task = tokio::spawn(async move {
            let mut stderr_pipe = BufReader::new(stderr_pipe);
            while let Ok(Some(line)) = read_bounded_line(&mut stderr_pipe, MAX_STDERR_LINE).await {
                let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
                if tail.len() == STDERR_TAIL {
                    tail.pop_front();
                }
                tail.push_back(line.shown());
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
            awaiting: HashSet::new(),
            awaiting_without_id: 0,
            log: Vec::new(),
            log_bytes: 0,
            log_dropped: 0,
            group,
        })
    }

    /// The command line it was started with.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// Every line exchanged so far, `>` for sent and `<` for received, up to a bound of bytes
    /// ([`Self::log_dropped`] counts the lines beyond it).
    pub fn log(&self) -> &[String] {
        &self.log
    }

    /// How many lines the log did not keep, once it held its bound of bytes.
    pub fn log_dropped(&self) -> usize {
        self.log_dropped
    }

    fn keep_in_log(&mut self, line: String) {
        if self.log_bytes.saturating_add(line.len()) > MAX_LOG_BYTES {
            self.log_dropped += 1;
        } else {
            self.log_bytes += line.len();
            self.log.push(line);
        }
    }

    /// Sends `op` and returns its id, without waiting for the reply.
    pub async fn send(&mut self, op: Op) -> Result<i64, DriverError> {
        let id = self.next_id;
        self.next_id += 1;
        let line =
            serde_json::to_string(&Request { id, op }).map_err(|e| DriverError::Write(e.to_string()))?;
        self.write_line(&line).await?;
        self.awaiting.insert(id);
        Ok(id)
    }

    /// Sends one line exactly as given (to test how a driver meets a malformed request); a
    /// reply may then come with the line's `id` or, for a line without one, with none.
    pub async fn send_raw(&mut self, line: &str) -> Result<(), DriverError> {
        self.write_line(line).await?;
        let id = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|value| value.get("id").and_then(serde_json::Value::as_i64));
        match id {
            Some(id) => {
                self.awaiting.insert(id);
            }
            None => self.awaiting_without_id += 1,
        }
        Ok(())
    }

    async fn write_line(&mut self, line: &str) -> Result<(), DriverError> {
        self.keep_in_log(format!("> {line}"));
        let stdin = self.stdin.as_mut().ok_or_else(|| DriverError::Write("stdin is closed".into()))?;
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        let written = match stdin.write_all(&bytes).await {
            Ok(()) => stdin.flush().await,
            Err(e) => Err(e),
        };
        match written {
            Ok(()) => Ok(()),
            // A driver that stopped reading has most often ended: its status and stderr say why.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                let what = super::lines::cut_to(line, super::lines::SHOWN);
                Err(self.exited(&format!("sending it {what}")).await)
            }
            Err(e) => Err(DriverError::Write(e.to_string())),
        }
    }

    /// Sends `op` and waits for its reply.
    pub async fn request(&mut self, op: Op) -> Result<Reply, DriverError> {
        let name = op.name();
        let id = self.send(op).await?;
        self.reply(Some(id), &format!("waiting for the reply to {name} (id {id})")).await
    }

    /// Waits for the reply with `id` (`None` for replies to lines without an id).
    pub async fn reply(&mut self, id: Option<i64>, waiting_for: &str) -> Result<Reply, DriverError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(reply) = self.replies.get_mut(&id).and_then(VecDeque::pop_front) {
                return Ok(reply);
            }
            self.read_one(waiting_for, deadline).await?;
        }
    }

    /// Waits for the next event.
    pub async fn event(&mut self, waiting_for: &str) -> Result<Event, DriverError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(event) = self.events.pop_front() {
                return Ok(event);
            }
            self.read_one(waiting_for, deadline).await?;
        }
    }

    /// Waits for whichever comes first: an event (the oldest one not taken) or the reply with
    /// `id`. A deferred `handle_otp` is answered either by an `open_auth_otp` event (the request
    /// is showing, the reply comes after the decision) or at once by an error reply.
    pub async fn event_or_reply(&mut self, id: i64, waiting_for: &str) -> Result<Arrival, DriverError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(event) = self.events.pop_front() {
                return Ok(Arrival::Event(event));
            }
            if let Some(reply) = self.replies.get_mut(&Some(id)).and_then(VecDeque::pop_front) {
                return Ok(Arrival::Reply(reply));
            }
            self.read_one(waiting_for, deadline).await?;
        }
    }

    /// Takes the oldest event that has arrived, without waiting.
    pub fn take_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Every line that has already arrived, without waiting: events are queued, replies kept.
    pub fn drain(&mut self) -> Result<(), DriverError> {
        while let Ok(line) = self.lines.try_recv() {
            self.accept(line?, "taking the lines that had come")?;
        }
        Ok(())
    }

    /// Events received and not taken, oldest first.
    pub fn pending_events(&self) -> impl Iterator<Item = &Event> {
        self.events.iter()
    }

    /// Takes a line that came: an event is queued (up to a bound), a reply kept for the request
    /// it answers; a reply to no request awaiting one is the driver's error, told at once rather
    /// than waited out.
    fn accept(&mut self, line: Line, waiting_for: &str) -> Result<(), DriverError> {
        let text = line.to_line();
        match line {
            Line::Event(event) => {
                if self.events.len() >= MAX_UNTAKEN_EVENTS {
                    return Err(DriverError::Flood { waiting_for: waiting_for.into() });
                }
                self.events.push_back(event);
            }
            Line::Reply(reply) => {
                let awaited = match reply.id() {
                    Some(id) => self.awaiting.remove(&id),
                    None if self.awaiting_without_id > 0 => {
                        self.awaiting_without_id -= 1;
                        true
                    }
                    None => false,
                };
                if !awaited {
                    let line = BoundedLine { kept: text.into_bytes(), cut: 0 }.shown();
                    return Err(DriverError::UnexpectedReply {
                        id: reply.id(),
                        waiting_for: waiting_for.into(),
                        line,
                    });
                }
                self.replies.entry(reply.id()).or_default().push_back(reply);
            }
        }
        self.keep_in_log(format!("< {text}"));
        Ok(())
    }

    async fn read_one(&mut self, waiting_for: &str, deadline: Instant) -> Result<(), DriverError> {
        match tokio::time::timeout_at(deadline, self.lines.recv()).await {
            Err(_) => Err(DriverError::Timeout { waiting_for: waiting_for.into(), after: self.timeout }),
            Ok(Some(line)) => self.accept(line?, waiting_for),
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
        // One bound for the whole ending, so a driver that writes on and on cannot hold it up.
        let deadline = Instant::now() + self.timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(_)) if rest.len() >= MAX_UNTAKEN_EVENTS => {
                    return Err(DriverError::Flood {
                        waiting_for: "waiting for the driver to exit at the end of its input".into(),
                    });
                }
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
        match tokio::time::timeout_at(deadline, self.child.wait()).await {
            Ok(Ok(status)) => Ok((status.code(), rest)),
            Ok(Err(e)) => Err(DriverError::Write(e.to_string())),
            Err(_) => Err(DriverError::Timeout {
                waiting_for: "the driver to exit at the end of its input".into(),
                after: self.timeout,
            }),
        }
    }
}
