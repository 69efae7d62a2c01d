//! The suite crate's tests: its judgements, the phrases its steps read (expected replies,
//! refusals, request clauses, senders) and the raw-request helpers, through the crate's public
//! modules. One test binary outside the crate, so that testing does not build the whole suite a
//! second time with `cfg(test)`.
#![allow(clippy::expect_used, reason = "a test stops at the first broken fixture")]

mod answers;
mod clock_moves;
mod driven;
mod judgement;
mod outcomes;
mod quiet;
mod raw;
mod replies;
mod request;
