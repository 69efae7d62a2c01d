//! A server under test by URL: probed once per run for what it offers, then given to each
//! scenario in a known state.
//!
//! The scenarios of a run share the server. The server is [settled](RemoteServer::settle) as far
//! as it lets the harness: a reset, the contract's default configuration (with the declared
//! enrollment mode), no faults, the clock standing still. A scenario that needs the server alone
//! ([`Sharing::Alone`]) runs when no other does and starts from a settled server; the others
//! ([`Sharing::Shared`]) run side by side on a settled server, each with users of its own, which
//! only a server that makes users ([`Capability::Users`]) can give: on any other, every scenario
//! runs alone ([`RemoteServer::sharing_for`]).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::json;

use super::{Admin, Backend, Capabilities, Capability, Sharing, Target, TargetError, TargetFile};
use transcript::{Auth, ClientError, Http, Payload, Transcript, build_client, error_chain};

/// Why a server by URL cannot be used for a run.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The HTTP client cannot be built from the target file's settings.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The server does not answer (connection refused, TLS failure, timeout).
    #[error("the server at {url} cannot be reached: {reason}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// Why, with the TLS or socket error.
        reason: String,
    },
    /// The server answers, but none of its answers to requests the contract fixes an error for
    /// has the contract's error shapes: the base URL is most likely not a Token Server's.
    #[error(
        "the server at {url} answers, but not as a Token Server: none of its answers has the \
         contract's error shapes ({{\"error\": ...}} from the OAuth endpoints, {{\"error_code\": ...}} \
         from the others): {answers}; check the base URL (it is the Token Server's root, before \
         /oauth and /mobile-auth)"
    )]
    NotATokenServer {
        /// The base URL.
        url: String,
        /// What each probe got, `POST /oauth/token: 404, an empty body; ...`.
        answers: String,
    },
    /// The server has a test-control API but refuses the target file's admin token.
    #[error(
        "the server refuses the admin token ({status} on GET /_admin/v1/config: {body}); fix [admin] \
         token in the target file, or remove [admin] to run without the test-control API"
    )]
    AdminRefused {
        /// The status answered.
        status: u16,
        /// The body, cut.
        body: String,
    },
}

/// A server under test by URL, probed.
#[derive(Debug)]
pub struct RemoteServer {
    file: TargetFile,
    client: reqwest::Client,
    offers: Capabilities,
    /// The configuration after the probe's reset: the server's start configuration.
    start_config: Option<serde_json::Value>,
    /// The configuration as the run found it, before the probe's reset: put back at the end.
    found_config: Option<serde_json::Value>,
    /// Distinguishes this run's users from an earlier run's on a server that keeps them.
    run_tag: String,
}

/// Requests every Token Server answers with an error of a fixed shape, whatever else it does
/// (wire contract, sections 0 to 3), and the member that shape names: a token request of a
/// grant type no server has (`unsupported_grant_type`, or `invalid_client` for an app client it
/// does not know), the relying-party API without credentials (`invalid_client`), and the device
/// API without a token (9010, or 10015 where the body is checked first).
/// Each is a `POST` of the path with that body, answered with an error naming the member.
const RECOGNITION: [(&str, ProbeBody, &str); 3] = [
    (protocol::wire::paths::TOKEN, ProbeBody::UnknownGrant, "error"),
    (protocol::wire::paths::AUTHENTICATE_USER, ProbeBody::EmptyForm, "error"),
    (protocol::wire::paths::OTP_REQUESTS, ProbeBody::EmptyJson, "error_code"),
];

/// The body of a [`RECOGNITION`] request.
#[derive(Debug, Clone, Copy)]
enum ProbeBody {
    /// A token request of a grant type no server has, from the target's app client.
    UnknownGrant,
    /// An empty form.
    EmptyForm,
    /// `{}`.
    EmptyJson,
}

/// Whether `body` is an error in one of the contract's shapes: a JSON object whose `member` is
/// a string (`error`, RFC 6749 §5.2) or an integer (`error_code`). The status is not judged
/// here: that is for the scenarios.
fn in_contract_shape(member: &str, body: &str) -> bool {
    let Ok(serde_json::Value::Object(fields)) = serde_json::from_str::<serde_json::Value>(body) else {
        return false;
    };
    match (member, fields.get(member)) {
        ("error", Some(serde_json::Value::String(_))) => true,
        ("error_code", Some(value)) => value.is_i64() || value.is_u64(),
        _ => false,
    }
}

/// How a probe's answer reads in a message: its status and the start of its body.
fn shown(status: u16, body: &str) -> String {
    const SHOWN: usize = 60;
    if body.trim().is_empty() {
        return format!("{status}, an empty body");
    }
    let mut start: String = body.chars().take(SHOWN).collect();
    if body.chars().nth(SHOWN).is_some() {
        start.push('…');
    }
    format!("{status}, {start:?}")
}

/// Refuses a server that answers none of [`RECOGNITION`]'s requests in the contract's shape. One
/// such answer is enough: a server that is a Token Server but wrong elsewhere is for the
/// scenarios to judge, each under its own requirement.
async fn recognise(http: &Http, file: &TargetFile) -> Result<(), ProbeError> {
    let grant =
        [("grant_type", "urn:mobauth:probe:no-such-grant"), ("client_id", file.app_client_id.as_str())];
    let empty = json!({});
    let mut answers = Vec::new();
    for (path, body, member) in RECOGNITION {
        let payload = match body {
            ProbeBody::UnknownGrant => Payload::Form(&grant),
            ProbeBody::EmptyForm => Payload::Form(&[]),
            ProbeBody::EmptyJson => Payload::Json(&empty),
        };
        match http.send(Method::POST, path, Auth::None, payload).await {
            Ok((_, body)) if in_contract_shape(member, &body) => return Ok(()),
            Ok((status, body)) => answers.push(format!("POST {path}: {}", shown(status, &body))),
            Err(e) => answers.push(format!("POST {path}: {e}")),
        }
    }
    Err(ProbeError::NotATokenServer { url: file.base_url.clone(), answers: answers.join("; ") })
}

impl RemoteServer {
    /// Checks that the server answers and finds which parts of the test-control API it offers,
    /// by calling each once with the admin token (a probe user and client are made, the fault
    /// list is cleared, and the server is reset last).
    pub async fn probe(file: TargetFile, run_tag: &str) -> Result<Self, ProbeError> {
        let client = build_client(&file.client)?;
        let http = Http::with_client(client.clone(), &file.base_url, Transcript::default());
        let url = format!("{}/", file.base_url);
        if let Err(e) = client.get(&url).send().await {
            return Err(ProbeError::Unreachable { url: file.base_url.clone(), reason: error_chain(&e) });
        }
        let mut offers = BTreeSet::new();
        let mut found_config = None;
        if let Some(token) = &file.admin_token {
            let probe_name = format!("mobauth-probe-{run_tag}");
            let calls: [(Capability, Method, String, Option<serde_json::Value>); 7] = [
                (Capability::Config, Method::GET, "/config".into(), None),
                (Capability::Clock, Method::GET, "/clock".into(), None),
                (Capability::Events, Method::GET, format!("/events?since={}", i64::MAX), None),
                (Capability::Faults, Method::PUT, "/faults".into(), Some(json!([]))),
                (
                    Capability::Users,
                    Method::POST,
                    "/users".into(),
                    Some(json!({ "username": probe_name, "password": probe_name })),
                ),
                (
                    Capability::Clients,
                    Method::POST,
                    "/app-clients".into(),
                    Some(json!({ "client_id": probe_name })),
                ),
                (Capability::Reset, Method::POST, "/reset".into(), Some(json!({}))),
            ];
            for (part, method, rest, body) in calls {
                let path = format!("{}{rest}", protocol::wire::paths::ADMIN);
                let payload = body.as_ref().map_or(Payload::Empty, Payload::Json);
                let (status, text) =
                    http.send(method, &path, Auth::Bearer(token), payload).await.map_err(|e| {
                        ProbeError::Unreachable {
                            url: format!("{}{path}", file.base_url),
                            reason: e.to_string(),
                        }
                    })?;
                match status {
                    // Any success: the contract names no reply status for most of these calls.
                    200..=299 => {
                        if part == Capability::Config {
                            found_config = serde_json::from_str::<serde_json::Value>(&text)
                                .ok()
                                .filter(serde_json::Value::is_object);
                        }
                        offers.insert(part);
                    }
                    401 | 403 => {
                        return Err(ProbeError::AdminRefused {
                            status,
                            body: text.chars().take(200).collect(),
                        });
                    }
                    // 404, 405, 501 and the like: the server does not offer this part.
                    _ => {}
                }
            }
            if !offers.is_empty() {
                offers.insert(Capability::Admin);
            }
        }
        recognise(&http, &file).await?;
        let offers: Capabilities = offers.into();
        let start_config = match &file.admin_token {
            Some(token) if offers.contains(&Capability::Config) => {
                let admin = Admin::with_parts(http, token, offers.clone());
                Some(admin.config().await.map_err(|e| ProbeError::Unreachable {
                    url: format!("{}/_admin/v1/config", file.base_url),
                    reason: e.to_string(),
                })?)
            }
            _ => None,
        };
        Ok(Self { file, client, offers, start_config, found_config, run_tag: run_tag.to_string() })
    }

    /// The target file (or the defaults of `--server URL`) the server was probed with.
    pub fn file(&self) -> &TargetFile {
        &self.file
    }

    /// The parts of the test-control API the server offers.
    pub fn offers(&self) -> &BTreeSet<Capability> {
        &self.offers
    }

    /// A sentence for the report: where the server is and what it offers.
    pub fn describe(&self) -> String {
        let from = match &self.file.path {
            Some(path) => format!(" (target file {})", path.display()),
            None => String::new(),
        };
        let parts: Vec<&str> = Capability::ADMIN_PARTS
            .iter()
            .filter(|p| self.offers.contains(p))
            .map(|p| p.short_name())
            .collect();
        let missing: Vec<&str> = Capability::ADMIN_PARTS
            .iter()
            .filter(|p| !self.offers.contains(p))
            .map(|p| p.short_name())
            .collect();
        let admin = match (parts.is_empty(), missing.is_empty()) {
            (true, _) => "no test-control API".to_string(),
            (false, true) => format!("test-control API: {}", parts.join(", ")),
            (false, false) => format!("test-control API: {} (not: {})", parts.join(", "), missing.join(", ")),
        };
        let mode = match self.file.enrollment_mode {
            Some(mode) => format!("; enrollment mode fixed at {}", mode.as_str()),
            None => String::new(),
        };
        format!("the server at {}{from}; {admin}{mode}", self.file.base_url)
    }

    /// How a scenario that `wants` to share the server may run on it: shared only when the server
    /// makes users, so that the scenarios running side by side each have users of their own.
    pub fn sharing_for(&self, wants: Sharing) -> Sharing {
        if self.offers.contains(&Capability::Users) { wants } else { Sharing::Alone }
    }

    /// Settles the server, as far as it offers: a reset (or else no faults), the contract's
    /// default configuration (with the declared enrollment mode) and a clock standing still.
    /// Only while no scenario runs: before the scenarios that share the server, before each that
    /// needs it alone, and at the end of the run ([`Self::finish`]).
    pub async fn settle(&self) -> Result<(), TargetError> {
        if let Some(token) = &self.file.admin_token {
            // The setup's exchanges stay out of the scenario's transcript: they are not its steps.
            let setup = Admin::with_parts(
                Http::with_client(self.client.clone(), &self.file.base_url, Transcript::default()),
                token,
                self.offers.clone(),
            );
            if setup.offers(Capability::Reset) {
                setup.reset().await?;
            } else if setup.offers(Capability::Faults) {
                setup.set_faults(&json!([]), 0).await?;
            }
            if setup.offers(Capability::Config) {
                let baseline = match self.file.enrollment_mode {
                    Some(mode) => json!({ "enrollment_mode": mode.as_str() }),
                    None => json!({}),
                };
                setup.set_config(&baseline).await?;
            }
            if setup.offers(Capability::Clock) {
                setup.advance_clock(0).await?;
            }
        }
        Ok(())
    }

    /// Ends the run: the server settled, then given back the configuration the run found on it
    /// (where it offers `PUT config`). What a reset wiped (users, enrollments, transactions) and
    /// the clock's own time cannot be put back: the clock is left standing still.
    pub async fn finish(&self) -> Result<(), TargetError> {
        self.settle().await?;
        if let (Some(token), Some(config)) = (&self.file.admin_token, &self.found_config) {
            let http = Http::with_client(self.client.clone(), &self.file.base_url, Transcript::default());
            Admin::with_parts(http, token, self.offers.clone()).set_config(config).await?;
        }
        Ok(())
    }

    /// The target of one scenario, whose seed is `seed`, sharing the server as `sharing` says
    /// (see [`Self::sharing_for`]); a scenario that has the server alone first
    /// [settles](Self::settle) it. A shared scenario's test-control calls that need the server
    /// alone are refused ([`TargetError::NotAlone`]).
    pub async fn begin_scenario(&self, seed: u64, sharing: Sharing) -> Result<Target, TargetError> {
        let sharing = self.sharing_for(sharing);
        if sharing == Sharing::Alone {
            self.settle().await?;
        }
        let http = Http::with_client(self.client.clone(), &self.file.base_url, Transcript::default());
        let admin = match &self.file.admin_token {
            Some(token) if !self.offers.is_empty() => {
                Some(Admin::with_parts(http.clone(), token, self.offers.clone()).sharing(sharing))
            }
            _ => None,
        };
        // With a reset between scenarios a seed's users are its own; without one, the server
        // keeps earlier runs' users, so the run's tag keeps this run's apart.
        let user_prefix = if self.offers.contains(&Capability::Reset) {
            format!("user-{seed:016x}")
        } else {
            format!("user-{}-{seed:016x}", self.run_tag)
        };
        let target = Target {
            backend: Backend::Remote,
            http,
            app_client_id: self.file.app_client_id.clone(),
            api_client: self.file.api_client.clone(),
            admin,
            user_seq: 0,
            user_prefix,
            listed_users: self.file.users.clone(),
            fixed_enrollment_mode: self.file.enrollment_mode,
            start_config: self.start_config.clone(),
            callback_listen: self.file.callback_listen.clone(),
            driver_command: None,
            driver_limits: crate::driver::client::DriverLimits::for_this_machine(),
        };
        target.keep_secrets(self.file.admin_token.as_deref());
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which answers show a Token Server: the contract's two error shapes, whatever else they hold.
    #[test]
    fn only_the_contract_error_shapes_are_recognised() {
        // (member, body, recognised)
        let cases = [
            ("error", r#"{"error": "unsupported_grant_type"}"#, true),
            ("error", r#"{"error": "invalid_client", "error_description": "who?"}"#, true),
            ("error", r#"{"error": 400}"#, false),
            ("error", r#"{"error_code": 9010}"#, false),
            ("error_code", r#"{"error_code": 9010, "error_type": "USER_NOT_AUTHENTICATED"}"#, true),
            ("error_code", r#"{"error_code": "9010"}"#, false),
            ("error_code", r#"{"error_code": 9.5}"#, false),
            ("error_code", r#"[{"error_code": 9010}]"#, false),
            ("error", "{}", false),
            ("error", "", false),
            ("error", "<html>Not Found</html>", false),
        ];
        for (member, body, recognised) in cases {
            assert_eq!(in_contract_shape(member, body), recognised, "{member} in {body:?}");
        }
    }

    #[test]
    fn an_answer_is_shown_cut_with_its_status() {
        assert_eq!(shown(404, " \n"), "404, an empty body");
        assert_eq!(shown(200, "{}"), "200, \"{}\"");
        let long = "x".repeat(100);
        assert_eq!(shown(500, &long), format!("500, \"{}…\"", "x".repeat(60)));
    }
}
