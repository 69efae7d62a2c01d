//! What the commands write for a person or a pipe. A reader that goes away (`mobauth run | head
//! -1`) is no failure of the command's: a closed pipe ends the writing quietly, never a panic, and
//! the exit code stays the command's own. Colour goes only to a terminal, and never when
//! `NO_COLOR` is set (<https://no-color.org>).

use std::io::{IsTerminal as _, Write as _};

/// Writes `text` to standard output as it is.
pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => eprintln!("mobauth: cannot write to standard output: {e}"),
    }
}

/// Writes `line` and a newline to standard output.
pub fn line(line: &str) {
    stdout(&format!("{line}\n"));
}

/// Whether standard error takes colour: a terminal, and `NO_COLOR` unset or empty.
pub fn colour_on_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}
