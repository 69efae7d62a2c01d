//! Every error row of the wire contract, as data.
//!
//! Each case names the requirement IDs of docs/PROTOCOL.md it checks, a request built against a
//! shared world (users, devices in every enrollment state, transactions in every state, an
//! expired token) and the exact status, error_code and error_type expected. Since every refused
//! request must change no state (GEN-004), the cases of one table share one world; after each
//! refused enrollment the earlier enrollment and its key are checked to still work, and at the end
//! the pending transaction is still pending and can be answered with the challenge fetched first.
//!
//! This module holds what the tables share (the expectations, the world, the inputs built to be
//! refused); each table is a submodule, by API.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failed step is a failed test")]

mod admin;
mod enrollment;
mod otp_answer;
mod otp_request;
mod relying_party;
mod routing;
mod token;

use crate::support;

use forge::answer::SigningParts;
use protocol::otp::Otp;
use protocol::wire::{Answer, AuthenticateUserResponse, OtpRequestResponse};
use reqwest::Method;
use serde_json::{Value, json};
use support::{DEAD_CALLBACK, Device, Reply, Req, Server, error_mismatch, new_device, oauth_mismatch};
use uuid::Uuid;

// ------------------------------------------------------------------------------------------ expectations

#[derive(Debug, Clone, Copy)]
enum Expect {
    /// An error body: status, error_code, error_type.
    Err(u16, u32, &'static str),
    /// An RFC 6749 error: status, error.
    OAuth(u16, &'static str),
    /// Success with this status.
    Ok(u16),
    /// Any one of these (where the spec allows a choice).
    AnyOf(&'static [Expect]),
}

impl Expect {
    fn mismatch(self, reply: &Reply) -> Option<String> {
        match self {
            Expect::Err(status, code, ty) => error_mismatch(reply, status, code, ty),
            Expect::OAuth(status, error) => oauth_mismatch(reply, status, error),
            Expect::Ok(status) if reply.status == status => None,
            Expect::Ok(status) => Some(format!("want {status}, got {}: {}", reply.status, reply.text())),
            Expect::AnyOf(options) => {
                let problems: Vec<String> = options.iter().filter_map(|e| e.mismatch(reply)).collect();
                (problems.len() == options.len()).then(|| problems.join(" / "))
            }
        }
    }
}

const NOT_AUTHENTICATED: Expect = Expect::Err(401, 9010, "USER_NOT_AUTHENTICATED");
const INVALID_REQUEST: Expect = Expect::Err(400, 10015, "INVALID_REQUEST");
const NOT_AVAILABLE: Expect = Expect::Err(403, 9017, "ENROLLMENT_NOT_AVAILABLE");
const DEVICE_ENROLLED: Expect = Expect::Err(409, 9016, "DEVICE_ALREADY_ENROLLED");
const USER_ENROLLED: Expect = Expect::Err(409, 9018, "USER_ALREADY_ENROLLED");
const NOT_ENROLLED: Expect = Expect::Err(403, 9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED");
const NOT_ENROLLED_404: Expect = Expect::Err(404, 9021, "MOBILE_AUTHENTICATION_NOT_ENROLLED");
const DISENROLLED: Expect = Expect::Err(403, 9023, "MOBILE_AUTHENTICATION_DISENROLLED");
const REQUEST_NOT_FOUND: Expect = Expect::Err(404, 10013, "MOBILE_AUTH_REQUEST_NOT_FOUND");
const ALREADY_HANDLED: Expect = Expect::Err(409, 9029, "ALREADY_HANDLED");
const EXPIRED: Expect = Expect::Err(410, 10020, "MOBILE_AUTH_REQUEST_EXPIRED");
const INVALID_SIGNATURE: Expect = Expect::Err(403, 10019, "INVALID_SIGNATURE");
const RP_DISABLED: Expect = Expect::Err(404, 1000, "MOBILE_AUTHENTICATION_DISABLED");
const INVALID_PARAMETER: Expect = Expect::Err(400, 1003, "INVALID_PARAMETER");
const MESSAGE_TOO_LONG: Expect = Expect::Err(400, 1005, "MESSAGE_TOO_LONG");
const TYPE_NOT_FOUND: Expect = Expect::Err(404, 3005, "AUTHENTICATION_TYPE_NOT_FOUND");
const INVALID_TRANSACTION: Expect = Expect::Err(404, 3004, "INVALID_TRANSACTION_ID");
const ADMIN_UNAUTHORIZED: Expect = Expect::Err(401, 20002, "ADMIN_UNAUTHORIZED");
const ADMIN_INVALID: Expect = Expect::Err(400, 20001, "INVALID_ADMIN_REQUEST");
const ADMIN_NOT_FOUND: Expect = Expect::Err(404, 20004, "ADMIN_NOT_FOUND");
const INVALID_CLIENT: Expect = Expect::OAuth(401, "invalid_client");
const INVALID_GRANT: Expect = Expect::OAuth(400, "invalid_grant");
const OAUTH_INVALID_REQUEST: Expect = Expect::OAuth(400, "invalid_request");
const UNSUPPORTED_GRANT: Expect = Expect::OAuth(400, "unsupported_grant_type");

type Build = Box<dyn Fn(&World) -> Req>;

struct Case {
    ids: &'static str,
    name: &'static str,
    /// Config keys merged into the world's config for this case only.
    config: Option<Value>,
    req: Build,
    expect: Expect,
    /// Methods the `Allow` header of a 405 must list.
    allow: &'static [&'static str],
}

fn case(
    ids: &'static str,
    name: &'static str,
    req: impl Fn(&World) -> Req + 'static,
    expect: Expect,
) -> Case {
    Case { ids, name, config: None, req: Box::new(req), expect, allow: &[] }
}

impl Case {
    fn with_config(mut self, extra: Value) -> Self {
        self.config = Some(extra);
        self
    }
    fn allow(mut self, methods: &'static [&'static str]) -> Self {
        self.allow = methods;
        self
    }
}

// ------------------------------------------------------------------------------------------ the world

/// A transaction and what the world knows of it.
#[derive(Debug, Clone)]
struct Tx {
    id: Uuid,
    otp: String,
    /// Device A's live challenge, if A fetched one.
    challenge: String,
}

/// Every state a case needs, all reached through the API.
#[allow(dead_code, reason = "not every table uses every part of the world")]
struct World {
    s: Server,
    /// alice, bob, carol, dave; and an alice token that expired through the admin clock.
    ta: String,
    tb: String,
    tc: String,
    td: String,
    te: String,
    t_expired: String,
    /// alice's enrolled device.
    a: Device,
    /// bob's enrolled device.
    b: Device,
    /// carol's first device, disenrolled when carol enrolled `c2` under override_allowed.
    c1: Device,
    c2: Device,
    /// dave's device, removed by its own DELETE.
    d: Device,
    /// erin's device, removed by the admin.
    e: Device,
    /// never enrolled.
    n: Device,
    /// a key no device enrolled.
    stranger: Device,
    /// pending; A fetched its challenge.
    t: Tx,
    /// accepted by A.
    t_done: Tx,
    /// expired unanswered (type `short`); A fetched a challenge before.
    t_exp: Tx,
    /// accepted by A before its TTL passed; the TTL has passed since.
    t_done_short: Tx,
    /// created by the API client `other-portal`.
    t_other: Uuid,
    /// GET enrollment of A, as it was before the cases.
    a_enrollment: Value,
}

/// The world's configuration: the default plus a 1-second type and a type without a default message.
fn world_config(extra: Option<&Value>) -> Value {
    let mut config = json!({
        "otp_types": [
            {"name": "qr-code", "expires_in_s": 300, "default_message": "Do you want to confirm this login?"},
            {"name": "short", "expires_in_s": 1, "default_message": "Quick!"},
            {"name": "no-default", "expires_in_s": 300},
        ]
    });
    if let Some(Value::Object(extra)) = extra {
        for (k, v) in extra {
            config[k] = v.clone();
        }
    }
    config
}

/// Starts a transaction of `otp_type` and has device `a` fetch its challenge.
async fn open_and_fetch(s: &Server, otp_type: &str, token: &str, a: &Device) -> Tx {
    let reply = s.start_otp(&[("type", otp_type), ("callback_uri", DEAD_CALLBACK)]).await;
    reply.expect_status(200);
    let started: AuthenticateUserResponse = reply.parse();
    let request: OtpRequestResponse = s.otp_request_ok(token, a.id, &started.otp).await;
    Tx { id: started.transaction_id, otp: started.otp, challenge: request.challenge }
}

impl World {
    async fn build() -> World {
        let s = support::start("default").await;
        s.put_config_ok(world_config(Some(&json!({"access_token_ttl_s": 1})))).await;
        let t_expired = s.token("alice").await;
        s.put_config_ok(world_config(Some(&json!({"enrollment_mode": "override_allowed"})))).await;
        let ta = s.token("alice").await;
        let tb = s.token("bob").await;
        let tc = s.new_user("carol").await;
        let td = s.new_user("dave").await;
        let te = s.new_user("erin").await;
        let [a, b, c1, c2, d, e, n, stranger] = [1, 2, 3, 4, 5, 6, 7, 8].map(new_device);
        for (token, device) in [(&ta, &a), (&tb, &b), (&tc, &c1), (&tc, &c2), (&td, &d), (&te, &e)] {
            s.enroll_ok(token, device).await;
        }
        s.delete_enrollment(&td, &d.id.to_string()).await.expect_status(204);
        s.send(Req::delete(format!("/_admin/v1/users/erin/enrollments/{}", e.id)).admin())
            .await
            .expect_status(204);
        s.put_config_ok(world_config(None)).await;
        for (id, secret) in [("other-portal", "other-secret"), ("a:b", "s p")] {
            s.admin_post("/_admin/v1/api-clients", json!({"client_id": id, "client_secret": secret}))
                .await
                .expect_status(201);
        }

        let t_exp = open_and_fetch(&s, "short", &ta, &a).await;
        let t_done_short = open_and_fetch(&s, "short", &ta, &a).await;
        s.answer(&ta, t_done_short.id, &a, &t_done_short.challenge, Answer::Accept).await.expect_status(200);
        let t_done = open_and_fetch(&s, "qr-code", &ta, &a).await;
        s.answer(&ta, t_done.id, &a, &t_done.challenge, Answer::Accept).await.expect_status(200);
        let t = open_and_fetch(&s, "qr-code", &ta, &a).await;
        let other = s
            .send(
                Req::post("/oauth/api/v4/authenticate/user")
                    .basic("other-portal", "other-secret")
                    .form(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK)]),
            )
            .await;
        other.expect_status(200);
        let t_other = other.parse::<AuthenticateUserResponse>().transaction_id;
        // The short type's TTL and the short-lived token both end exactly now (boundary: expired).
        s.advance_clock(1000).await;
        let a_enrollment = s.get_enrollment(&ta, &a.id.to_string()).await.expect_status(200).json();
        World {
            s,
            ta,
            tb,
            tc,
            td,
            te,
            t_expired,
            a,
            b,
            c1,
            c2,
            d,
            e,
            n,
            stranger,
            t,
            t_done,
            t_exp,
            t_done_short,
            t_other,
            a_enrollment,
        }
    }

    // ----------------------------------------------------------- request builders

    fn enroll(&self, token: &str, device_id: impl ToString, csr: &str) -> Req {
        Req::post("/mobile-auth/v1/enrollments")
            .bearer(token)
            .json(json!({"device_id": device_id.to_string(), "csr": csr}))
    }

    fn otp(&self, token: &str, device: &Device, otp: &str) -> Req {
        Req::post("/mobile-auth/v1/otp/requests")
            .bearer(token)
            .json(json!({"device_id": device.id, "otp": otp}))
    }

    fn answer(&self, token: &str, tx: impl ToString, body: Value) -> Req {
        Req::post(format!("/mobile-auth/v1/otp/requests/{}/answer", tx.to_string())).bearer(token).json(body)
    }

    /// An answer by `signer`'s key for `device`, signing `signed` over `tx`/`challenge`, sending `sent`.
    fn signed(device: &Device, signer: &Device, tx: &Tx, signed: Answer, sent: &str) -> Value {
        let parts = SigningParts {
            transaction_id: tx.id,
            challenge: tx.challenge.clone(),
            answer: signed,
            device_id: device.id,
        };
        json!({
            "device_id": device.id,
            "answer": sent,
            "signature": forge::answer::signature(&signer.key, &parts),
        })
    }

    /// A correct accept of `tx` by `device`.
    fn accept(device: &Device, tx: &Tx) -> Value {
        device.answer_body(tx.id, &tx.challenge, Answer::Accept)
    }

    fn rp(&self, pairs: &[(&str, &str)]) -> Req {
        Req::post("/oauth/api/v4/authenticate/user").portal().form(pairs)
    }

    fn token_req(&self, encoded: &str) -> Req {
        Req::post("/oauth/token").form_raw(encoded)
    }

    // ----------------------------------------------------------- running

    /// Runs the cases in order and fails with every mismatch at once.
    async fn run(&self, table: &str, cases: Vec<Case>) {
        let mut failures = Vec::new();
        for c in &cases {
            if let Some(extra) = &c.config {
                self.s.put_config_ok(world_config(Some(extra))).await;
            }
            let req = (c.req)(self);
            let enrollment = req.method == Method::POST && req.path == "/mobile-auth/v1/enrollments";
            let reply = self.s.send(req).await;
            if c.config.is_some() {
                self.s.put_config_ok(world_config(None)).await;
            }
            if let Some(problem) = c.expect.mismatch(&reply) {
                failures.push(format!("[{}] {}: {problem}", c.ids, c.name));
            }
            if !c.allow.is_empty() {
                let allow = reply.headers.get("allow").and_then(|v| v.to_str().ok()).unwrap_or_default();
                let listed: Vec<&str> = allow.split(',').map(str::trim).collect();
                if c.allow.iter().any(|m| !listed.contains(m)) {
                    failures.push(format!("[{}] {}: Allow is {allow:?}, want {:?}", c.ids, c.name, c.allow));
                }
            }
            if enrollment
                && reply.status >= 400
                && let Some(problem) = self.enrollment_intact().await
            {
                failures.push(format!("[{} GEN-004] after {}: {problem}", c.ids, c.name));
            }
        }
        eprintln!("{table}: {} cases, {} failed", cases.len(), failures.len());
        assert!(
            failures.is_empty(),
            "{table}: {} of {} cases failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }

    /// GEN-004 / REN-001: A's enrollment is as before, and A's key still answers an OTP.
    async fn enrollment_intact(&self) -> Option<String> {
        let now = self.s.get_enrollment(&self.ta, &self.a.id.to_string()).await;
        if now.status != 200 || now.json() != self.a_enrollment {
            return Some(format!("GET enrollment changed: {} {}", now.status, now.text()));
        }
        let round = self.s.otp_round(&self.ta, &self.a, Answer::Accept).await;
        (round.status != 200)
            .then(|| format!("the old key no longer answers: {} {}", round.status, round.text()))
    }

    /// GEN-004 / OTP-020: after every refusal, T is still pending and A's first challenge answers it.
    async fn pending_transaction_intact(&self) {
        let status = self.s.transaction_status(self.t.id).await;
        assert_eq!(status["status"], "pending", "{status}");
        assert!(status.get("user_id").is_none(), "{status}");
        self.s
            .answer(&self.ta, self.t.id, &self.a, &self.t.challenge, Answer::Accept)
            .await
            .expect_status(200);
        // Bob's enrollment survived alice's DELETE of it.
        self.s.get_enrollment(&self.tb, &self.b.id.to_string()).await.expect_status(200);
    }
}

// ------------------------------------------------------------------------------------------ inputs

fn fixture(name: &str) -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/openssl").join(name);
    std::fs::read_to_string(path).ok()
}

/// The device id the OpenSSL fixtures' CSRs name (fixtures/openssl/make.sh).
const OPENSSL_DEVICE: &str = "3f2b8c1e-7a4d-4e9b-9c6f-2d8e1a5b7c90";

/// A CSR whose key is not on P-256: OpenSSL's P-384 fixture, or (if absent) our own CSR with the
/// curve OID changed from prime256v1 to prime192v1 (same length, so the DER stays well-formed).
fn csr_not_p256(device: &Device) -> (String, String) {
    if let Some(pem) = fixture("csr-p384.pem") {
        return (OPENSSL_DEVICE.to_string(), pem);
    }
    let pem = forge::csr::curve_changed(&device.csr()).expect("the CSR names its curve");
    (device.id.to_string(), pem)
}

/// Our own CSR with the last byte of its signature changed: it parses but does not verify.
fn csr_bad_signature(device: &Device) -> String {
    forge::pem::signature_spoilt(&device.csr()).expect("our own CSR is PEM")
}

/// The OTP with its last data character changed so that the unused low bits are not zero.
fn otp_non_canonical(otp: &str) -> String {
    // "xY==": Y carries 2 data bits and 4 unused bits
    let changed = forge::b64::with_unused_bits_set(otp).expect("an OTP ends in ==");
    assert_ne!(changed, otp);
    changed
}

fn unknown_tx_otp() -> String {
    Otp { transaction_id: Uuid::from_u128(0x1234_5678_9abc_4def_8123_4567_89ab_cdef), secret: [7; 32] }
        .encode()
}

const RP_FORM: &[(&str, &str)] = &[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK)];

fn token_form(user: &str, password: &str, client: &str) -> String {
    format!("grant_type=password&username={user}&password={password}&client_id={client}")
}
