//! Reading a driver's output with bounds: a line is kept up to a length and the rest of it is
//! counted, not stored, so a driver that writes one endless line (or none at all) costs the
//! harness no more memory than the bound; text that is not UTF-8 is told apart from a line of
//! the protocol. What a message shows of a peer's line is cut to [`SHOWN`] characters.

use tokio::io::{AsyncBufRead, AsyncBufReadExt as _};

/// How many characters of a peer's line an error message shows.
pub const SHOWN: usize = 300;

/// One line as it was read: at most the bound's bytes of it, and how many more it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundedLine {
    /// The line's first bytes, without its end (`\n` or `\r\n`).
    pub kept: Vec<u8>,
    /// How many bytes of the line were beyond the bound.
    pub cut: usize,
}

impl BoundedLine {
    /// The line's length in bytes, what was cut included.
    pub fn len(&self) -> usize {
        self.kept.len().saturating_add(self.cut)
    }

    /// Whether the line was empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kept bytes as text, anything that is not UTF-8 replaced, cut to [`SHOWN`] characters,
    /// saying how long the line was where it was cut.
    pub fn shown(&self) -> String {
        let text = String::from_utf8_lossy(&self.kept);
        match text.char_indices().nth(SHOWN) {
            Some((at, _)) => format!("{}… ({} bytes in all)", &text[..at], self.len()),
            None if self.cut > 0 => format!("{text}… ({} bytes in all)", self.len()),
            None => text.into_owned(),
        }
    }
}

/// `text` cut to `max` characters, saying how long it was where it was cut.
pub fn cut_to(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}… ({} bytes in all)", &text[..at], text.len()),
        None => text.to_string(),
    }
}

/// Reads the next line of `reader`, keeping at most `max` bytes of it; `None` at the end of the
/// input. A last line without an end is a line. Reads no further than the line's end.
pub async fn read_bounded_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> std::io::Result<Option<BoundedLine>> {
    let mut line = BoundedLine { kept: Vec::new(), cut: 0 };
    let mut read_any = false;
    loop {
        let buffer = reader.fill_buf().await?;
        if buffer.is_empty() {
            return Ok(read_any.then_some(line));
        }
        read_any = true;
        let (length, ends) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (at, true),
            None => (buffer.len(), false),
        };
        let keep = length.min(max.saturating_sub(line.kept.len()));
        line.kept.extend_from_slice(&buffer[..keep]);
        line.cut = line.cut.saturating_add(length - keep);
        reader.consume(length + usize::from(ends));
        if ends {
            if line.cut == 0 && line.kept.last() == Some(&b'\r') {
                line.kept.pop();
            }
            return Ok(Some(line));
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What the lines of `bytes` are, bounded by `max`: the model the reader is held to.
    fn model(bytes: &[u8], max: usize) -> Vec<BoundedLine> {
        let mut parts: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
        // The text after the last newline is a line only if it is not empty.
        if parts.last().is_some_and(|last| last.is_empty()) {
            parts.pop();
        }
        let ended = parts.len().saturating_sub(usize::from(!bytes.ends_with(b"\n") && !bytes.is_empty()));
        parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let keep = part.len().min(max);
                let mut line = BoundedLine { kept: part[..keep].to_vec(), cut: part.len() - keep };
                if i < ended && line.cut == 0 && line.kept.last() == Some(&b'\r') {
                    line.kept.pop();
                }
                line
            })
            .collect()
    }

    fn read_all(bytes: &[u8], max: usize) -> Vec<BoundedLine> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        runtime.block_on(async {
            // A small buffer, so that lines cross the reader's refills.
            let mut reader = tokio::io::BufReader::with_capacity(7, bytes);
            let mut lines = Vec::new();
            while let Some(line) = read_bounded_line(&mut reader, max).await.expect("reading bytes in memory")
            {
                lines.push(line);
            }
            lines
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn lines_are_kept_to_the_bound_and_the_rest_is_counted(
            bytes in prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), any::<u8>()], 0..300),
            max in 0usize..40,
        ) {
            let lines = read_all(&bytes, max);
            prop_assert!(lines.iter().all(|line| line.kept.len() <= max));
            prop_assert_eq!(lines, model(&bytes, max));
        }

        #[test]
        fn a_line_shows_at_most_its_bound_of_characters(kept in prop::collection::vec(any::<u8>(), 0..1000), cut in 0usize..10_000) {
            let shown = BoundedLine { kept, cut }.shown();
            prop_assert!(shown.chars().count() <= SHOWN + 40, "{shown}");
        }
    }
}
