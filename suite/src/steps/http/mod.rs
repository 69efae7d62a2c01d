//! Raw-request steps: a scenario sends a method, a path, headers and a body to the target exactly
//! as written, and checks the status, the error body, headers and JSON members of the answer.
//! The rules about the wire itself (content types, body sizes, routing, unknown members, error
//! bodies) need requests that a well-behaved device or portal would never send. Every raw
//! exchange is in the scenario's transcript, like any peer's ([`transcript::Http::send_raw`]).
//!
//! A request step reads `<who> sends <METHOD> "<path>"<clauses>`:
//! - `<who>` is `the admin` (the admin token as Bearer), `the portal` (the API client's HTTP
//!   Basic credentials), `"phone"` (that device's access token as Bearer) or `a client` (no
//!   `Authorization` header);
//! - clauses, in any order: `with the JSON body '<json>'`, `with the JSON body:` (the step's doc
//!   string), `with the form body '<form>'`, `with the body '<text>'` (no Content-Type),
//!   `with a JSON body of <n> bytes`, `with a form body of <n> bytes`, `padded to <n> bytes`,
//!   `typed "<Content-Type>"`, `without a Content-Type`, `with the header '<Name>: <value>'`,
//!   `with the Basic credentials '<id>:<secret>'`, `without credentials` and, last, `<n> times`.
//!
//! Names in braces are filled in before sending ([`crate::raw::expand`]): `{device_id of phone}`,
//! `{token of phone}`, `{username of Alice}`, `{password of Alice}`, `{csr of phone}` (a CSR for a
//! fresh key, JSON escaped), `{signature of phone for accept}` (over the challenge the device
//! fetched last), `{transaction_id}` and `{otp}` (of the OTP the portal started last),
//! `{callback_uri}`, `{app client id}`, `{api client id}`, `{api client secret}`, `{admin token}`,
//! `{new uuid}`, `{unique <name>}` (a name no other scenario uses), `{unreachable url}`, any value
//! remembered with `is remembered as "<name>"`, and `{uppercase <any of these>}`.
//!
//! The modules: [`request`] reads who sends what, [`sending`] sends it, [`answers`] checks the
//! status, error body, headers and body of the answer, [`members`] its JSON members.

pub mod answers;
pub mod members;
pub mod request;
pub mod sending;

pub use self::answers::{Refusal, assert_refusal, last_exchange, last_json, last_response};
pub use self::request::Who;
pub use self::sending::{exchange, send};
pub(crate) use crate::raw::unreachable_url;
pub use crate::raw::{
    admin_token, expand, instant, is_lowercase_uuid, is_utc_time, json_contains, json_eq, json_literal,
    select,
};
