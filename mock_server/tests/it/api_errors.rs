//! Every error row of the wire contract, as data.
//!
//! Each case names the requirement IDs of docs/PROTOCOL.md it checks, a request built against a
//! shared world (users, devices in every enrollment state, transactions in every state, an
//! expired token) and the exact status, error_code and error_type expected. Since every refused
//! request must change no state (GEN-004), the cases of one table share one world; after each
//! refused enrollment the earlier enrollment and its key are checked to still work, and at the end
//! the pending transaction is still pending and can be answered with the challenge fetched first.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failed step is a failed test")]

use crate::support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::otp::Otp;
use protocol::wire::{Answer, AuthenticateUserResponse, OtpRequestResponse};
use reqwest::Method;
use serde_json::{Value, json};
use support::{
    APP_CLIENT, BODY_LIMIT, DEAD_CALLBACK, Device, Reply, Req, Server, error_mismatch, form_of_len,
    json_of_len, new_device, oauth_mismatch,
};
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
        let text = protocol::keys::signing_string(tx.id, &tx.challenge, signed, device.id);
        json!({
            "device_id": device.id,
            "answer": sent,
            "signature": STANDARD.encode(signer.key.sign(text.as_bytes())),
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

fn pem_to_der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64).expect("PEM body is base64")
}

fn der_to_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> =
        b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
    format!("-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n", lines.join("\n"))
}

/// A CSR whose key is not on P-256: OpenSSL's P-384 fixture, or (if absent) our own CSR with the
/// curve OID changed from prime256v1 to prime192v1 (same length, so the DER stays well-formed).
fn csr_not_p256(device: &Device) -> (String, String) {
    if let Some(pem) = fixture("csr-p384.pem") {
        return (OPENSSL_DEVICE.to_string(), pem);
    }
    let mut der = pem_to_der(&device.csr());
    let prime256v1 = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    let at = der.windows(prime256v1.len()).position(|w| w == prime256v1).expect("the CSR names its curve");
    der[at + prime256v1.len() - 1] = 0x01;
    (device.id.to_string(), der_to_pem(&der))
}

/// Our own CSR with the last byte of its signature changed: it parses but does not verify.
fn csr_bad_signature(device: &Device) -> String {
    let mut der = pem_to_der(&device.csr());
    let last = der.len() - 1;
    der[last] ^= 0x01;
    der_to_pem(&der)
}

/// The OTP of `tx` with its decoded bytes changed by `edit`.
fn otp_edited(otp: &str, edit: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut bytes = STANDARD.decode(otp).expect("an OTP is base64");
    edit(&mut bytes);
    STANDARD.encode(bytes)
}

/// The OTP with its last data character changed so that the unused low bits are not zero.
fn otp_non_canonical(otp: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut chars: Vec<u8> = otp.bytes().collect();
    let i = otp.len() - 3; // "xY==": Y carries 2 data bits and 4 unused bits
    let value = ALPHABET.iter().position(|c| *c == chars[i]).expect("a base64 character");
    chars[i] = ALPHABET[value | 0b0001];
    assert_ne!(chars[i], otp.as_bytes()[i]);
    String::from_utf8(chars).expect("ASCII")
}

fn unknown_tx_otp() -> String {
    Otp { transaction_id: Uuid::from_u128(0x1234_5678_9abc_4def_8123_4567_89ab_cdef), secret: [7; 32] }
        .encode()
}

fn basic_header(credentials: &str) -> String {
    format!("Basic {}", STANDARD.encode(credentials))
}

const RP_FORM: &[(&str, &str)] = &[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK)];

fn token_form(user: &str, password: &str, client: &str) -> String {
    format!("grant_type=password&username={user}&password={password}&client_id={client}")
}

// ------------------------------------------------------------------------------------------ tables

/// Contract section 2, AUTH-002 to AUTH-007: the token endpoint's RFC 6749 errors and their order.
#[tokio::test]
async fn token_endpoint() {
    let w = World::build().await;
    let good = token_form("alice", "alice-password", APP_CLIENT);
    let cases = vec![
        case("AUTH-001", "valid request (control)", move |w| w.token_req(&good), Expect::Ok(200)),
        case(
            "AUTH-002",
            "wrong password",
            |w| w.token_req(&token_form("alice", "bob-password", APP_CLIENT)),
            INVALID_GRANT,
        ),
        case(
            "AUTH-002",
            "unknown user",
            |w| w.token_req(&token_form("mallory", "x", APP_CLIENT)),
            INVALID_GRANT,
        ),
        case(
            "AUTH-004",
            "grant_type client_credentials",
            |w| {
                w.token_req("grant_type=client_credentials&username=alice&password=alice-password&client_id=mobauth-app")
            },
            UNSUPPORTED_GRANT,
        ),
        case(
            "AUTH-004",
            "grant_type PASSWORD (case matters)",
            |w| {
                w.token_req(
                    "grant_type=PASSWORD&username=alice&password=alice-password&client_id=mobauth-app",
                )
            },
            UNSUPPORTED_GRANT,
        ),
        case(
            "AUTH-003",
            "unknown app client",
            |w| w.token_req(&token_form("alice", "alice-password", "nope")),
            INVALID_CLIENT,
        ),
        case(
            "AUTH-003",
            "an API client's id",
            |w| w.token_req(&token_form("alice", "alice-password", "portal")),
            INVALID_CLIENT,
        ),
        case(
            "AUTH-005",
            "missing username",
            |w| w.token_req("grant_type=password&password=alice-password&client_id=mobauth-app"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "missing password",
            |w| w.token_req("grant_type=password&username=alice&client_id=mobauth-app"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "missing client_id",
            |w| w.token_req("grant_type=password&username=alice&password=alice-password"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "missing grant_type",
            |w| w.token_req("username=alice&password=alice-password&client_id=mobauth-app"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "empty password counts as missing",
            |w| w.token_req("grant_type=password&username=alice&password=&client_id=mobauth-app"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "empty grant_type counts as missing",
            |w| w.token_req("grant_type=&username=alice&password=alice-password&client_id=mobauth-app"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "repeated username",
            |w| {
                w.token_req("grant_type=password&username=alice&username=alice&password=alice-password&client_id=mobauth-app")
            },
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005",
            "repeated grant_type",
            |w| {
                w.token_req("grant_type=password&grant_type=password&username=alice&password=alice-password&client_id=mobauth-app")
            },
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005 GEN-007",
            "JSON content type",
            |_| {
                Req::post("/oauth/token").json(json!({"grant_type": "password", "username": "alice",
                "password": "alice-password", "client_id": APP_CLIENT}))
            },
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-005 GEN-007",
            "no content type",
            |_| Req::post("/oauth/token").raw(None, token_form("alice", "alice-password", APP_CLIENT)),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "GEN-007",
            "content type in capitals with charset is accepted",
            |_| {
                Req::post("/oauth/token").raw(
                    Some("Application/X-WWW-Form-URLEncoded; charset=UTF-8"),
                    token_form("alice", "alice-password", APP_CLIENT),
                )
            },
            Expect::Ok(200),
        ),
        case(
            "AUTH-006",
            "unsupported grant beats a missing field",
            |w| w.token_req("grant_type=implicit&client_id=mobauth-app"),
            UNSUPPORTED_GRANT,
        ),
        case(
            "AUTH-006",
            "unsupported grant beats a repeated non-grant field",
            |w| {
                w.token_req(
                    "grant_type=implicit&username=alice&username=alice&password=p&client_id=mobauth-app",
                )
            },
            UNSUPPORTED_GRANT,
        ),
        case(
            "AUTH-006",
            "missing field beats an unknown client",
            |w| w.token_req("grant_type=password&username=alice&client_id=nope"),
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-006",
            "unknown client beats a wrong password",
            |w| w.token_req(&token_form("alice", "wrong", "nope")),
            INVALID_CLIENT,
        ),
        case(
            "AUTH-006",
            "repeated grant_type beats an unsupported one",
            |w| {
                w.token_req(
                    "grant_type=implicit&grant_type=implicit&username=alice&password=p&client_id=mobauth-app",
                )
            },
            OAUTH_INVALID_REQUEST,
        ),
        case(
            "AUTH-006 GEN-006",
            "body over 64 KiB",
            |_| {
                Req::post("/oauth/token").raw(
                    Some("application/x-www-form-urlencoded"),
                    form_of_len(&token_form("alice", "alice-password", APP_CLIENT), BODY_LIMIT + 1),
                )
            },
            Expect::OAuth(413, "invalid_request"),
        ),
        case(
            "GEN-006 GEN-010",
            "body of exactly 64 KiB (unknown field ignored)",
            |_| {
                Req::post("/oauth/token").raw(
                    Some("application/x-www-form-urlencoded"),
                    form_of_len(&token_form("alice", "alice-password", APP_CLIENT), BODY_LIMIT),
                )
            },
            Expect::Ok(200),
        ),
    ];
    w.run("token endpoint", cases).await;
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}

/// Contract 2 and 3.1, AUTH-008/009, ENR-004 to ENR-009, ENR-011, REN-001/002/009, GEN-004/006/007:
/// the bearer token and enrollment errors; after each refused enrollment, A still works.
#[tokio::test]
async fn enrollment_errors() {
    let w = World::build().await;
    let x = new_device(20);
    let (p384_device, p384_csr) = csr_not_p256(&x);
    let rsa = fixture("csr-rsa2048.pem");
    let two_cns = fixture("csr-two-cns.pem");
    let no_cn = fixture("csr-no-cn.pem");
    let sha384 = fixture("csr-sha384.pem");
    let openssl_ok = fixture("csr.pem");
    let bad_sig = csr_bad_signature(&x);
    let x_csr = x.csr();
    let x_id = x.id;
    let mut cases = vec![
        // 9010 (AUTH-008, AUTH-009)
        case(
            "AUTH-008",
            "no Authorization header",
            |w| Req::post("/mobile-auth/v1/enrollments").json(json!({"device_id": w.n.id, "csr": w.n.csr()})),
            NOT_AUTHENTICATED,
        ),
        case("AUTH-008", "unknown token", |w| w.enroll("not-a-token", w.n.id, &w.n.csr()), NOT_AUTHENTICATED),
        case(
            "AUTH-008 AUTH-009 GEN-005",
            "token expired through the admin clock (at the boundary)",
            |w| w.enroll(&w.t_expired, w.n.id, &w.n.csr()),
            NOT_AUTHENTICATED,
        ),
        case(
            "AUTH-008",
            "Basic scheme instead of Bearer",
            |w| {
                let mut r = w.enroll("", w.n.id, &w.n.csr());
                r.auth = support::Auth::Raw(format!("Basic {}", w.ta));
                r
            },
            NOT_AUTHENTICATED,
        ),
        case(
            "AUTH-008",
            "bearer scheme in lowercase is accepted (reaches 9018)",
            |w| {
                let mut r = w.enroll("", w.n.id, &w.n.csr());
                r.auth = support::Auth::Raw(format!("bearer {}", w.ta));
                r
            },
            USER_ENROLLED,
        ),
        case(
            "ENR-009 AUTH-008",
            "9010 before 9017",
            |w| w.enroll("nope", w.n.id, &w.n.csr()),
            NOT_AUTHENTICATED,
        )
        .with_config(json!({"enrollment_enabled": false})),
        case(
            "ENR-009 GEN-006",
            "9010 before 413",
            |_| {
                Req::post("/mobile-auth/v1/enrollments")
                    .raw(Some("application/json"), json_of_len(&json!({}), BODY_LIMIT + 1))
            },
            NOT_AUTHENTICATED,
        ),
        case(
            "ENR-009 AUTH-008",
            "9010 before a bad body",
            |_| Req::post("/mobile-auth/v1/enrollments").raw(Some("application/json"), "{"),
            NOT_AUTHENTICATED,
        ),
        // 9017 (ENR-008, GEN-011)
        case("ENR-008", "enrollment_enabled false", |w| w.enroll(&w.ta, w.n.id, &w.n.csr()), NOT_AVAILABLE)
            .with_config(json!({"enrollment_enabled": false})),
        case(
            "ENR-008 GEN-011",
            "mobile_auth_enabled false",
            |w| w.enroll(&w.ta, w.n.id, &w.n.csr()),
            NOT_AVAILABLE,
        )
        .with_config(json!({"mobile_auth_enabled": false})),
        case(
            "ENR-009",
            "9017 before 10015 (bad JSON)",
            |w| Req::post("/mobile-auth/v1/enrollments").bearer(&w.ta).raw(Some("application/json"), "{"),
            NOT_AVAILABLE,
        )
        .with_config(json!({"enrollment_enabled": false})),
        case("ENR-009", "9017 before 9016", |w| w.enroll(&w.ta, w.a.id, &w.a.csr()), NOT_AVAILABLE)
            .with_config(json!({"mobile_auth_enabled": false})),
        // 10015 (ENR-004 .. ENR-007, GEN-006/007)
        case(
            "ENR-004",
            "body is not JSON",
            |w| {
                Req::post("/mobile-auth/v1/enrollments")
                    .bearer(&w.ta)
                    .raw(Some("application/json"), "device_id=x")
            },
            INVALID_REQUEST,
        ),
        case(
            "ENR-004",
            "body is a JSON array",
            |w| Req::post("/mobile-auth/v1/enrollments").bearer(&w.ta).json(json!([w.n.id, w.n.csr()])),
            INVALID_REQUEST,
        ),
        case(
            "ENR-004",
            "csr missing",
            |w| Req::post("/mobile-auth/v1/enrollments").bearer(&w.ta).json(json!({"device_id": w.n.id})),
            INVALID_REQUEST,
        ),
        case(
            "ENR-004",
            "device_id missing",
            |w| Req::post("/mobile-auth/v1/enrollments").bearer(&w.ta).json(json!({"csr": w.n.csr()})),
            INVALID_REQUEST,
        ),
        case(
            "ENR-004",
            "device_id a number",
            |w| {
                Req::post("/mobile-auth/v1/enrollments")
                    .bearer(&w.ta)
                    .json(json!({"device_id": 7, "csr": w.n.csr()}))
            },
            INVALID_REQUEST,
        ),
        case("ENR-004", "device_id not a UUID", |w| w.enroll(&w.ta, "device-1", &w.n.csr()), INVALID_REQUEST),
        case(
            "ENR-004",
            "device_id in uppercase",
            |w| w.enroll(&w.ta, w.n.id.to_string().to_uppercase(), &w.n.csr()),
            INVALID_REQUEST,
        ),
        case(
            "ENR-004",
            "device_id without hyphens",
            |w| w.enroll(&w.ta, w.n.id.simple(), &w.n.csr()),
            INVALID_REQUEST,
        ),
        case(
            "ENR-005",
            "csr is not PEM",
            |w| w.enroll(&w.ta, w.n.id, "not a certificate request"),
            INVALID_REQUEST,
        ),
        case(
            "ENR-005",
            "csr PEM armour around garbage",
            |w| {
                w.enroll(
                    &w.ta,
                    w.n.id,
                    "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                )
            },
            INVALID_REQUEST,
        ),
        case(
            "ENR-005",
            "csr key not on P-256 (P-384)",
            move |w| w.enroll(&w.ta, &p384_device, &p384_csr),
            INVALID_REQUEST,
        ),
        case(
            "ENR-006",
            "csr self-signature does not verify",
            move |w| w.enroll(&w.ta, x_id, &bad_sig),
            INVALID_REQUEST,
        ),
        case(
            "ENR-007",
            "csr CN is not the device_id",
            move |w| w.enroll(&w.ta, w.n.id, &x_csr),
            INVALID_REQUEST,
        ),
        case(
            "GEN-007",
            "text/plain content type",
            |w| {
                Req::post("/mobile-auth/v1/enrollments")
                    .bearer(&w.ta)
                    .raw(Some("text/plain"), json!({"device_id": w.n.id, "csr": w.n.csr()}).to_string())
            },
            INVALID_REQUEST,
        ),
        case(
            "GEN-007",
            "no content type",
            |w| {
                Req::post("/mobile-auth/v1/enrollments")
                    .bearer(&w.ta)
                    .raw(None, json!({"device_id": w.n.id, "csr": w.n.csr()}).to_string())
            },
            INVALID_REQUEST,
        ),
        case(
            "GEN-007 REN-002",
            "content type with charset is accepted (reaches 9018)",
            |w| {
                Req::post("/mobile-auth/v1/enrollments").bearer(&w.ta).raw(
                    Some("Application/JSON; charset=utf-8"),
                    json!({"device_id": w.n.id, "csr": w.n.csr()}).to_string(),
                )
            },
            USER_ENROLLED,
        ),
        case(
            "GEN-006",
            "body over 64 KiB",
            |w| {
                Req::post("/mobile-auth/v1/enrollments").bearer(&w.ta).raw(
                    Some("application/json"),
                    json_of_len(&json!({"device_id": w.n.id, "csr": w.n.csr()}), BODY_LIMIT + 1),
                )
            },
            Expect::Err(413, 10015, "INVALID_REQUEST"),
        ),
        case(
            "GEN-006 GEN-010 REN-002",
            "body of exactly 64 KiB with an unknown member (reaches 9018)",
            |w| {
                Req::post("/mobile-auth/v1/enrollments").bearer(&w.ta).raw(
                    Some("application/json"),
                    json_of_len(
                        &json!({"device_id": w.n.id, "csr": w.n.csr(), "extra": "ignored"}),
                        BODY_LIMIT,
                    ),
                )
            },
            USER_ENROLLED,
        ),
        case(
            "ENR-009",
            "10015 before 9016 (A again with a bad CSR)",
            |w| w.enroll(&w.ta, w.a.id, "nope"),
            INVALID_REQUEST,
        ),
        case(
            "ENR-009",
            "10015 before 9016 (bob's device with a CN mismatch)",
            |w| w.enroll(&w.ta, w.b.id, &w.a.csr()),
            INVALID_REQUEST,
        ),
        // The mode table and 9016 for another user's device (REN-001, REN-002, REN-009)
        case(
            "REN-001",
            "same device again (single_device)",
            |w| w.enroll(&w.ta, w.a.id, &w.a.csr()),
            DEVICE_ENROLLED,
        ),
        case(
            "REN-001 REN-004",
            "same device again with a new key (single_device)",
            |w| {
                let new = w.a.with_new_key(99);
                w.enroll(&w.ta, new.id, &new.csr())
            },
            DEVICE_ENROLLED,
        ),
        case(
            "REN-002",
            "another device of alice (single_device)",
            |w| w.enroll(&w.ta, w.n.id, &w.n.csr()),
            USER_ENROLLED,
        ),
        case(
            "REN-009",
            "bob's device enrolled by alice",
            |w| w.enroll(&w.ta, w.b.id, &w.b.csr()),
            DEVICE_ENROLLED,
        ),
        case(
            "REN-009",
            "alice's device enrolled by bob",
            |w| w.enroll(&w.tb, w.a.id, &w.a.csr()),
            DEVICE_ENROLLED,
        ),
        case(
            "REN-009",
            "alice's device enrolled by bob (override_allowed)",
            |w| w.enroll(&w.tb, w.a.id, &w.a.csr()),
            DEVICE_ENROLLED,
        )
        .with_config(json!({"enrollment_mode": "override_allowed"})),
        case(
            "REN-009",
            "alice's device enrolled by bob (multiple_devices)",
            |w| w.enroll(&w.tb, w.a.id, &w.a.csr()),
            DEVICE_ENROLLED,
        )
        .with_config(json!({"enrollment_mode": "multiple_devices"})),
        case(
            "REN-007",
            "same device again (multiple_devices)",
            |w| w.enroll(&w.ta, w.a.id, &w.a.csr()),
            DEVICE_ENROLLED,
        )
        .with_config(json!({"enrollment_mode": "multiple_devices"})),
    ];
    // OpenSSL-made CSRs (fixtures/openssl): negative ones when present.
    for (name, pem, ids) in [
        ("csr key is RSA (OpenSSL)", rsa, "ENR-005"),
        ("csr subject has two CNs (OpenSSL)", two_cns, "ENR-007"),
        ("csr subject has no CN (OpenSSL)", no_cn, "ENR-007"),
    ] {
        if let Some(pem) = pem {
            cases.push(case(ids, name, move |w| w.enroll(&w.ta, OPENSSL_DEVICE, &pem), INVALID_REQUEST));
        }
    }
    if let Some(pem) = sha384 {
        // ENR-006: other ECDSA hashes *may* be accepted; either way nothing may change.
        cases.push(case(
            "ENR-006",
            "csr signed ecdsa-with-SHA384 (OpenSSL): 10015 or accepted (9018)",
            move |w| w.enroll(&w.ta, OPENSSL_DEVICE, &pem),
            Expect::AnyOf(&[INVALID_REQUEST, USER_ENROLLED]),
        ));
    }
    if let Some(pem) = openssl_ok {
        cases.push(case(
            "ENR-006",
            "OpenSSL-made P-256 CSR passes every CSR check (reaches 9018)",
            move |w| w.enroll(&w.ta, OPENSSL_DEVICE, &pem),
            USER_ENROLLED,
        ));
    }
    // ENR-005: PEM is read as laxly as OpenSSL reads it; each of these reaches the mode table (9018).
    let der = pem_to_der(&w.n.csr());
    let b64 = STANDARD.encode(&der);
    let wrapped = |width: usize| {
        b64.as_bytes()
            .chunks(width)
            .map(|c| std::str::from_utf8(c).expect("ASCII"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let lax = [
        (
            "PEM body on one line",
            format!("-----BEGIN CERTIFICATE REQUEST-----\n{b64}\n-----END CERTIFICATE REQUEST-----\n"),
        ),
        (
            "PEM wrapped at 76 columns (Android)",
            format!(
                "-----BEGIN CERTIFICATE REQUEST-----\n{}\n-----END CERTIFICATE REQUEST-----\n",
                wrapped(76)
            ),
        ),
        (
            "the NEW CERTIFICATE REQUEST label",
            format!(
                "-----BEGIN NEW CERTIFICATE REQUEST-----\n{}\n-----END NEW CERTIFICATE REQUEST-----\n",
                wrapped(64)
            ),
        ),
        ("text around the PEM block", format!("Certificate request:\n{}trailing words\n", der_to_pem(&der))),
    ];
    for (name, pem) in lax {
        cases.push(case("ENR-005", name, move |w| w.enroll(&w.ta, w.n.id, &pem), USER_ENROLLED));
    }
    w.run("enrollment", cases).await;
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}

/// Contract 3.1, ENR-011, GEN-009, AUTH-008: GET and DELETE of an enrollment.
#[tokio::test]
async fn enrollment_resource_errors() {
    let w = World::build().await;
    let get = |t: &str, d: &str| Req::get(format!("/mobile-auth/v1/enrollments/{d}")).bearer(t);
    let del = |t: &str, d: &str| Req::delete(format!("/mobile-auth/v1/enrollments/{d}")).bearer(t);
    let cases = vec![
        case(
            "AUTH-008",
            "GET without a token",
            |w| Req::get(format!("/mobile-auth/v1/enrollments/{}", w.a.id)),
            NOT_AUTHENTICATED,
        ),
        case(
            "AUTH-008",
            "DELETE with an expired token",
            move |w| del(&w.t_expired, &w.a.id.to_string()),
            NOT_AUTHENTICATED,
        ),
        case("AUTH-008", "9010 before 9021", move |w| get("nope", &w.n.id.to_string()), NOT_AUTHENTICATED),
        case(
            "ENR-011",
            "GET never-enrolled device",
            move |w| get(&w.ta, &w.n.id.to_string()),
            NOT_ENROLLED_404,
        ),
        case(
            "ENR-011",
            "GET another user's device",
            move |w| get(&w.ta, &w.b.id.to_string()),
            NOT_ENROLLED_404,
        ),
        case(
            "ENR-011 ENR-012",
            "GET device removed by its DELETE",
            move |w| get(&w.td, &w.d.id.to_string()),
            NOT_ENROLLED_404,
        ),
        case(
            "ENR-011 ADM-009",
            "GET device removed by the admin",
            move |w| get(&w.te, &w.e.id.to_string()),
            NOT_ENROLLED_404,
        ),
        case(
            "ENR-011 REN-006",
            "GET disenrolled device",
            move |w| get(&w.tc, &w.c1.id.to_string()),
            NOT_ENROLLED_404,
        ),
        case("GEN-009", "GET a non-UUID id", move |_| get("", "not-a-uuid"), NOT_AUTHENTICATED),
        case(
            "GEN-009",
            "GET a non-UUID id (authenticated)",
            move |w| get(&w.ta, "not-a-uuid"),
            NOT_ENROLLED_404,
        ),
        case(
            "GEN-009",
            "GET the uppercase form of an enrolled id",
            move |w| get(&w.ta, &w.a.id.to_string().to_uppercase()),
            NOT_ENROLLED_404,
        ),
        case(
            "GEN-009",
            "GET an id percent-encoded, not UTF-8",
            move |w| get(&w.ta, "%FF%FE"),
            NOT_ENROLLED_404,
        ),
        case(
            "ENR-011",
            "DELETE never-enrolled device",
            move |w| del(&w.ta, &w.n.id.to_string()),
            NOT_ENROLLED_404,
        ),
        case(
            "ENR-011",
            "DELETE another user's device (changes nothing)",
            move |w| del(&w.ta, &w.b.id.to_string()),
            NOT_ENROLLED_404,
        ),
        case(
            "ENR-011",
            "DELETE device removed before",
            move |w| del(&w.td, &w.d.id.to_string()),
            NOT_ENROLLED_404,
        ),
        case(
            "ENR-011",
            "DELETE disenrolled device",
            move |w| del(&w.tc, &w.c1.id.to_string()),
            NOT_ENROLLED_404,
        ),
        case("GEN-009", "DELETE a non-UUID id", move |w| del(&w.ta, "x"), NOT_ENROLLED_404),
        case(
            "ENR-010",
            "GET own device (control)",
            move |w| get(&w.ta, &w.a.id.to_string()),
            Expect::Ok(200),
        ),
    ];
    w.run("enrollment resource", cases).await;
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}

/// Contract 3.2 and 8, OTP-011 to OTP-019, REN-006, AUTH-008, GEN-006/007/009: the request call.
#[tokio::test]
async fn otp_request_errors() {
    let w = World::build().await;
    let cases = vec![
        case(
            "AUTH-008",
            "no token",
            |w| Req::post("/mobile-auth/v1/otp/requests").json(json!({"device_id": w.a.id, "otp": w.t.otp})),
            NOT_AUTHENTICATED,
        ),
        case("AUTH-008", "expired token", |w| w.otp(&w.t_expired, &w.a, &w.t.otp), NOT_AUTHENTICATED),
        case("OTP-017", "9010 before 10015", |w| w.otp("nope", &w.a, "not base64"), NOT_AUTHENTICATED),
        case(
            "OTP-011",
            "body is not JSON",
            |w| Req::post("/mobile-auth/v1/otp/requests").bearer(&w.ta).raw(Some("application/json"), "{]"),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "body is a JSON array",
            |w| Req::post("/mobile-auth/v1/otp/requests").bearer(&w.ta).json(json!([w.b.id, w.t.otp])),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp missing",
            |w| Req::post("/mobile-auth/v1/otp/requests").bearer(&w.ta).json(json!({"device_id": w.a.id})),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp a number",
            |w| {
                Req::post("/mobile-auth/v1/otp/requests")
                    .bearer(&w.ta)
                    .json(json!({"device_id": w.a.id, "otp": 1}))
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "device_id not a UUID",
            |w| {
                Req::post("/mobile-auth/v1/otp/requests")
                    .bearer(&w.ta)
                    .json(json!({"device_id": "A", "otp": w.t.otp}))
            },
            INVALID_REQUEST,
        ),
        case("OTP-011", "otp not base64", |w| w.otp(&w.ta, &w.a, "this is not base64!"), INVALID_REQUEST),
        case(
            "OTP-011",
            "otp base64 of 48 bytes",
            |w| w.otp(&w.ta, &w.a, &STANDARD.encode([1u8; 48])),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp base64 of 50 bytes",
            |w| w.otp(&w.ta, &w.a, &otp_edited(&w.t.otp, |b| b.push(0))),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp format version 0x02",
            |w| w.otp(&w.ta, &w.a, &otp_edited(&w.t.otp, |b| b[0] = 0x02)),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp without padding",
            |w| w.otp(&w.ta, &w.a, w.t.otp.trim_end_matches('=')),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp with a trailing newline",
            |w| w.otp(&w.ta, &w.a, &format!("{}\n", w.t.otp)),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "otp with non-zero unused bits (not canonical)",
            |w| w.otp(&w.ta, &w.a, &otp_non_canonical(&w.t.otp)),
            INVALID_REQUEST,
        ),
        case(
            "GEN-007",
            "text/plain content type",
            |w| {
                Req::post("/mobile-auth/v1/otp/requests")
                    .bearer(&w.ta)
                    .raw(Some("text/plain"), json!({"device_id": w.a.id, "otp": w.t.otp}).to_string())
            },
            INVALID_REQUEST,
        ),
        case(
            "GEN-006",
            "body over 64 KiB",
            |w| {
                Req::post("/mobile-auth/v1/otp/requests").bearer(&w.ta).raw(
                    Some("application/json"),
                    json_of_len(&json!({"device_id": w.a.id, "otp": w.t.otp}), BODY_LIMIT + 1),
                )
            },
            Expect::Err(413, 10015, "INVALID_REQUEST"),
        ),
        case(
            "GEN-006 OTP-006",
            "body of exactly 64 KiB (bob's device fetches T)",
            |w| {
                Req::post("/mobile-auth/v1/otp/requests").bearer(&w.tb).raw(
                    Some("application/json"),
                    json_of_len(&json!({"device_id": w.b.id, "otp": w.t.otp}), BODY_LIMIT),
                )
            },
            Expect::Ok(200),
        ),
        case("OTP-017", "10015 before 9021", |w| w.otp(&w.ta, &w.n, "AAAA"), INVALID_REQUEST),
        case("OTP-012", "never-enrolled device", |w| w.otp(&w.ta, &w.n, &w.t.otp), NOT_ENROLLED),
        case("OTP-012", "another user's device", |w| w.otp(&w.ta, &w.b, &w.t.otp), NOT_ENROLLED),
        case(
            "OTP-012 ENR-012",
            "device removed by its own DELETE: 9021, not 9023",
            |w| w.otp(&w.td, &w.d, &w.t.otp),
            NOT_ENROLLED,
        ),
        case(
            "OTP-012 ADM-009",
            "device removed by the admin: 9021, not 9023",
            |w| w.otp(&w.te, &w.e, &w.t.otp),
            NOT_ENROLLED,
        ),
        case(
            "REN-006",
            "device disenrolled by another device's enrollment",
            |w| w.otp(&w.tc, &w.c1, &w.t.otp),
            DISENROLLED,
        ),
        case(
            "REN-006 OTP-012",
            "disenrolled device asked for by another user: 9021",
            |w| w.otp(&w.ta, &w.c1, &w.t.otp),
            NOT_ENROLLED,
        ),
        case("OTP-017", "9021 before 10013", |w| w.otp(&w.ta, &w.n, &unknown_tx_otp()), NOT_ENROLLED),
        case("OTP-017", "9023 before 10013", |w| w.otp(&w.tc, &w.c1, &unknown_tx_otp()), DISENROLLED),
        case("OTP-013", "unknown transaction", |w| w.otp(&w.ta, &w.a, &unknown_tx_otp()), REQUEST_NOT_FOUND),
        case(
            "OTP-013",
            "wrong secret",
            |w| w.otp(&w.ta, &w.a, &otp_edited(&w.t.otp, |b| b[48] ^= 0x80)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-017",
            "10013 before 9029 (wrong secret of an answered transaction)",
            |w| w.otp(&w.ta, &w.a, &otp_edited(&w.t_done.otp, |b| b[20] ^= 1)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-017",
            "10013 before 10020 (wrong secret of an expired transaction)",
            |w| w.otp(&w.ta, &w.a, &otp_edited(&w.t_exp.otp, |b| b[20] ^= 1)),
            REQUEST_NOT_FOUND,
        ),
        case("OTP-014", "answered transaction", |w| w.otp(&w.ta, &w.a, &w.t_done.otp), ALREADY_HANDLED),
        case(
            "OTP-014 OTP-006",
            "answered transaction, another user's device",
            |w| w.otp(&w.tb, &w.b, &w.t_done.otp),
            ALREADY_HANDLED,
        ),
        case(
            "OTP-017 RP-016",
            "9029 before 10020 (answered, TTL passed since)",
            |w| w.otp(&w.ta, &w.a, &w.t_done_short.otp),
            ALREADY_HANDLED,
        ),
        case(
            "OTP-015 OTP-019",
            "expired transaction (clock exactly at created + TTL)",
            |w| w.otp(&w.ta, &w.a, &w.t_exp.otp),
            EXPIRED,
        ),
        case("OTP-015", "expired transaction, another device", |w| w.otp(&w.tb, &w.b, &w.t_exp.otp), EXPIRED),
        case(
            "GEN-011",
            "existing transaction with mobile_auth_enabled false (control)",
            |w| w.otp(&w.tb, &w.b, &w.t.otp),
            Expect::Ok(200),
        )
        .with_config(json!({"mobile_auth_enabled": false})),
    ];
    w.run("OTP request", cases).await;
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}

/// Contract 3.2 and 8, OTP-011 to OTP-018, REN-006, AUTH-008, GEN-009: the answer call.
#[tokio::test]
async fn otp_answer_errors() {
    let w = World::build().await;
    let cases = vec![
        case(
            "AUTH-008",
            "no token",
            |w| {
                Req::post(format!("/mobile-auth/v1/otp/requests/{}/answer", w.t.id))
                    .json(World::accept(&w.a, &w.t))
            },
            NOT_AUTHENTICATED,
        ),
        case(
            "AUTH-008",
            "expired token",
            |w| w.answer(&w.t_expired, w.t.id, World::accept(&w.a, &w.t)),
            NOT_AUTHENTICATED,
        ),
        case(
            "OTP-018",
            "9010 before 10015",
            |w| w.answer("nope", w.t.id, json!({"answer": "maybe"})),
            NOT_AUTHENTICATED,
        ),
        case(
            "OTP-011",
            "body is not JSON",
            |w| {
                Req::post(format!("/mobile-auth/v1/otp/requests/{}/answer", w.t.id))
                    .bearer(&w.ta)
                    .raw(Some("application/json"), "accept")
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "body is a JSON array",
            |w| {
                let body = World::accept(&w.a, &w.t);
                w.answer(&w.ta, w.t.id, json!([body["device_id"], body["answer"], body["signature"]]))
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "signature missing",
            |w| w.answer(&w.ta, w.t.id, json!({"device_id": w.a.id, "answer": "accept"})),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "device_id not a UUID",
            |w| {
                let mut body = World::accept(&w.a, &w.t);
                body["device_id"] = json!(w.a.id.to_string().to_uppercase());
                w.answer(&w.ta, w.t.id, body)
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "answer \"ACCEPT\"",
            |w| w.answer(&w.ta, w.t.id, World::signed(&w.a, &w.a, &w.t, Answer::Accept, "ACCEPT")),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "answer \"maybe\"",
            |w| w.answer(&w.ta, w.t.id, World::signed(&w.a, &w.a, &w.t, Answer::Accept, "maybe")),
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "answer true",
            |w| {
                let mut body = World::accept(&w.a, &w.t);
                body["answer"] = json!(true);
                w.answer(&w.ta, w.t.id, body)
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "signature not base64",
            |w| {
                let mut body = World::accept(&w.a, &w.t);
                body["signature"] = json!("%%% not base64 %%%");
                w.answer(&w.ta, w.t.id, body)
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-011",
            "signature base64url instead of base64",
            |w| {
                let mut body = World::accept(&w.a, &w.t);
                let sig = body["signature"].as_str().unwrap().replace('+', "-").replace('/', "_");
                body["signature"] = json!(format!("{}-_", sig.trim_end_matches('=')));
                w.answer(&w.ta, w.t.id, body)
            },
            INVALID_REQUEST,
        ),
        case(
            "GEN-006",
            "body over 64 KiB",
            |w| {
                Req::post(format!("/mobile-auth/v1/otp/requests/{}/answer", w.t.id))
                    .bearer(&w.ta)
                    .raw(Some("application/json"), json_of_len(&World::accept(&w.a, &w.t), BODY_LIMIT + 1))
            },
            Expect::Err(413, 10015, "INVALID_REQUEST"),
        ),
        case(
            "GEN-006",
            "body of exactly 64 KiB (replay on the answered transaction: 9029)",
            |w| {
                Req::post(format!("/mobile-auth/v1/otp/requests/{}/answer", w.t_done.id))
                    .bearer(&w.ta)
                    .raw(Some("application/json"), json_of_len(&World::accept(&w.a, &w.t_done), BODY_LIMIT))
            },
            ALREADY_HANDLED,
        ),
        case(
            "OTP-018",
            "10015 before 9021 (bad answer value, unenrolled device)",
            |w| w.answer(&w.ta, w.t.id, World::signed(&w.n, &w.n, &w.t, Answer::Accept, "yes")),
            INVALID_REQUEST,
        ),
        case(
            "OTP-018",
            "10015 before 10013 (signature not base64, unknown transaction)",
            |w| {
                w.answer(
                    &w.ta,
                    Uuid::nil(),
                    json!({"device_id": w.a.id, "answer": "accept", "signature": "!"}),
                )
            },
            INVALID_REQUEST,
        ),
        case(
            "OTP-012",
            "never-enrolled device",
            |w| w.answer(&w.ta, w.t.id, World::accept(&w.n, &w.t)),
            NOT_ENROLLED,
        ),
        case(
            "OTP-012",
            "another user's device",
            |w| w.answer(&w.ta, w.t.id, World::accept(&w.b, &w.t)),
            NOT_ENROLLED,
        ),
        case(
            "OTP-012 ENR-012",
            "device removed by its own DELETE: 9021, not 9023",
            |w| w.answer(&w.td, w.t.id, World::accept(&w.d, &w.t)),
            NOT_ENROLLED,
        ),
        case(
            "OTP-012 ADM-009",
            "device removed by the admin: 9021, not 9023",
            |w| w.answer(&w.te, w.t.id, World::accept(&w.e, &w.t)),
            NOT_ENROLLED,
        ),
        case(
            "REN-006",
            "disenrolled device",
            |w| w.answer(&w.tc, w.t.id, World::accept(&w.c1, &w.t)),
            DISENROLLED,
        ),
        case(
            "OTP-018",
            "9021 before 10013",
            |w| w.answer(&w.ta, Uuid::nil(), World::accept(&w.n, &w.t)),
            NOT_ENROLLED,
        ),
        case(
            "OTP-018",
            "9023 before 10013",
            |w| w.answer(&w.tc, Uuid::nil(), World::accept(&w.c1, &w.t)),
            DISENROLLED,
        ),
        case(
            "OTP-013",
            "unknown transaction",
            |w| w.answer(&w.ta, Uuid::nil(), World::accept(&w.a, &w.t)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-013 GEN-009",
            "transaction id not a UUID",
            |w| w.answer(&w.ta, "tx-1", World::accept(&w.a, &w.t)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-013 GEN-009",
            "transaction id percent-encoded, not UTF-8",
            |w| w.answer(&w.ta, "%FF", World::accept(&w.a, &w.t)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-013 GEN-009",
            "transaction id in uppercase",
            |w| w.answer(&w.ta, w.t.id.to_string().to_uppercase(), World::accept(&w.a, &w.t)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-013",
            "device never fetched a challenge for the transaction",
            |w| w.answer(&w.tc, w.t.id, World::accept(&w.c2, &w.t)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-018",
            "10013 before 9029 (no challenge, answered transaction)",
            |w| w.answer(&w.tc, w.t_done.id, World::accept(&w.c2, &w.t_done)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-018",
            "10013 before 10020 (no challenge, expired transaction)",
            |w| w.answer(&w.tc, w.t_exp.id, World::accept(&w.c2, &w.t_exp)),
            REQUEST_NOT_FOUND,
        ),
        case(
            "OTP-014",
            "replay of the winning answer",
            |w| w.answer(&w.ta, w.t_done.id, World::accept(&w.a, &w.t_done)),
            ALREADY_HANDLED,
        ),
        case(
            "OTP-014",
            "the other answer on an answered transaction",
            |w| w.answer(&w.ta, w.t_done.id, w.a.answer_body(w.t_done.id, &w.t_done.challenge, Answer::Deny)),
            ALREADY_HANDLED,
        ),
        case(
            "OTP-018",
            "9029 before 10019 (bad signature on an answered transaction)",
            |w| {
                w.answer(
                    &w.ta,
                    w.t_done.id,
                    World::signed(&w.a, &w.stranger, &w.t_done, Answer::Accept, "accept"),
                )
            },
            ALREADY_HANDLED,
        ),
        case(
            "OTP-018 RP-016",
            "9029 before 10020 (answered, TTL passed since)",
            |w| w.answer(&w.ta, w.t_done_short.id, World::accept(&w.a, &w.t_done_short)),
            ALREADY_HANDLED,
        ),
        case(
            "OTP-015 OTP-019",
            "expired transaction (clock exactly at created + TTL)",
            |w| w.answer(&w.ta, w.t_exp.id, World::accept(&w.a, &w.t_exp)),
            EXPIRED,
        ),
        case(
            "OTP-018",
            "10020 before 10019 (expired, signature not DER)",
            |w| {
                w.answer(
                    &w.ta,
                    w.t_exp.id,
                    json!({"device_id": w.a.id, "answer": "accept", "signature": "AAAA"}),
                )
            },
            EXPIRED,
        ),
        case(
            "OTP-016",
            "signed with another key",
            |w| w.answer(&w.ta, w.t.id, World::signed(&w.a, &w.stranger, &w.t, Answer::Accept, "accept")),
            INVALID_SIGNATURE,
        ),
        case(
            "OTP-016",
            "base64 that is not a DER signature",
            |w| {
                w.answer(&w.ta, w.t.id, json!({"device_id": w.a.id, "answer": "accept", "signature": "AAAA"}))
            },
            INVALID_SIGNATURE,
        ),
        case(
            "OTP-016",
            "empty signature",
            |w| w.answer(&w.ta, w.t.id, json!({"device_id": w.a.id, "answer": "accept", "signature": ""})),
            INVALID_SIGNATURE,
        ),
        case(
            "OTP-016",
            "signed deny, sent accept",
            |w| w.answer(&w.ta, w.t.id, World::signed(&w.a, &w.a, &w.t, Answer::Deny, "accept")),
            INVALID_SIGNATURE,
        ),
        case(
            "OTP-016",
            "signed over another transaction's id",
            |w| {
                let mut body = World::accept(&w.a, &w.t_done);
                let text =
                    protocol::keys::signing_string(w.t_done.id, &w.t.challenge, Answer::Accept, w.a.id);
                body["signature"] = json!(STANDARD.encode(w.a.key.sign(text.as_bytes())));
                w.answer(&w.ta, w.t.id, body)
            },
            INVALID_SIGNATURE,
        ),
        case(
            "OTP-016",
            "signed over another challenge",
            |w| {
                let text =
                    protocol::keys::signing_string(w.t.id, &w.t_done.challenge, Answer::Accept, w.a.id);
                w.answer(
                    &w.ta,
                    w.t.id,
                    json!({"device_id": w.a.id, "answer": "accept",
                "signature": STANDARD.encode(w.a.key.sign(text.as_bytes()))}),
                )
            },
            INVALID_SIGNATURE,
        ),
    ];
    w.run("OTP answer", cases).await;
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}

/// Contract 5 and 8, AUTH-010, RP-002 to RP-013, RP-017: the relying-party API.
#[tokio::test]
async fn relying_party_errors() {
    let w = World::build().await;
    let emoji = |n: usize| "😀".repeat(n);
    let tx_path = |id: &str| format!("/oauth/api/v4/authenticate/transaction/{id}");
    let mut cases = vec![];
    // 401 on each endpoint, each cause (AUTH-010).
    let endpoints: [fn() -> Req; 3] = [
        || Req::post("/oauth/api/v4/authenticate/user").form(RP_FORM),
        || Req::get(format!("/oauth/api/v4/authenticate/transaction/{}", Uuid::nil())),
        || Req::get("/oauth/api/v4/authenticate/user/alice/enabled"),
    ];
    for build in endpoints {
        cases.extend([
            case("AUTH-010", "no credentials", move |_| build(), INVALID_CLIENT),
            case("AUTH-010", "wrong secret", move |_| build().basic("portal", "wrong"), INVALID_CLIENT),
            case(
                "AUTH-010",
                "unknown client",
                move |_| build().basic("nobody", "portal-secret"),
                INVALID_CLIENT,
            ),
            case("AUTH-010", "the app client's id", move |_| build().basic(APP_CLIENT, ""), INVALID_CLIENT),
            case(
                "AUTH-010",
                "Basic value not base64",
                move |_| build().auth_header("Basic !!!"),
                INVALID_CLIENT,
            ),
            case(
                "AUTH-010",
                "Basic value without a colon",
                move |_| build().auth_header(&basic_header("portal")),
                INVALID_CLIENT,
            ),
            case(
                "AUTH-010",
                "Bearer instead of Basic",
                move |_| build().auth_header("Bearer portal-secret"),
                INVALID_CLIENT,
            ),
        ]);
    }
    cases.extend([
        case(
            "RP-013",
            "credentials are form-url-decoded (a%3Ab / s+p)",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user")
                    .auth_header(&basic_header("a%3Ab:s+p"))
                    .form(RP_FORM)
            },
            Expect::Ok(200),
        ),
        case(
            "RP-013",
            "undecoded a:b:s p splits at the first colon",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user")
                    .auth_header(&basic_header("a:b:s p"))
                    .form(RP_FORM)
            },
            INVALID_CLIENT,
        ),
        case(
            "RP-012",
            "401 before 1000",
            |_| Req::post("/oauth/api/v4/authenticate/user").form(RP_FORM),
            INVALID_CLIENT,
        )
        .with_config(json!({"mobile_auth_enabled": false})),
        case("RP-003", "mobile_auth_enabled false", |w| w.rp(RP_FORM), RP_DISABLED)
            .with_config(json!({"mobile_auth_enabled": false})),
        case(
            "RP-012",
            "1000 before the body step",
            |_| Req::post("/oauth/api/v4/authenticate/user").portal().json(json!({"type": "qr-code"})),
            RP_DISABLED,
        )
        .with_config(json!({"mobile_auth_enabled": false})),
        case(
            "RP-002 GEN-007",
            "JSON body",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user")
                    .portal()
                    .json(json!({"type": "qr-code", "callback_uri": DEAD_CALLBACK}))
            },
            INVALID_PARAMETER,
        ),
        case(
            "RP-002 GEN-007",
            "no content type",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user").portal().raw(None, support::encode_form(RP_FORM))
            },
            INVALID_PARAMETER,
        ),
        case(
            "GEN-007",
            "content type with charset is accepted",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user").portal().raw(
                    Some("application/x-www-form-urlencoded; charset=UTF-8"),
                    support::encode_form(RP_FORM),
                )
            },
            Expect::Ok(200),
        ),
        case(
            "RP-002",
            "repeated field",
            |w| {
                w.rp(&[
                    ("type", "qr-code"),
                    ("callback_uri", DEAD_CALLBACK),
                    ("message", "a"),
                    ("message", "b"),
                ])
            },
            INVALID_PARAMETER,
        ),
        case(
            "RP-002",
            "form that is not UTF-8",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user").portal().raw(
                    Some("application/x-www-form-urlencoded"),
                    b"type=qr-code&callback_uri=http%3A%2F%2Fx%2F&message=%FF".to_vec(),
                )
            },
            INVALID_PARAMETER,
        ),
        case(
            "RP-012 GEN-006",
            "body over 64 KiB",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user").portal().raw(
                    Some("application/x-www-form-urlencoded"),
                    form_of_len(&support::encode_form(RP_FORM), BODY_LIMIT + 1),
                )
            },
            Expect::Err(413, 1003, "INVALID_PARAMETER"),
        ),
        case(
            "GEN-006 GEN-010",
            "body of exactly 64 KiB (unknown field ignored)",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user").portal().raw(
                    Some("application/x-www-form-urlencoded"),
                    form_of_len(&support::encode_form(RP_FORM), BODY_LIMIT),
                )
            },
            Expect::Ok(200),
        ),
        case(
            "RP-012 GEN-006",
            "401 before 413",
            |_| {
                Req::post("/oauth/api/v4/authenticate/user").raw(
                    Some("application/x-www-form-urlencoded"),
                    form_of_len(&support::encode_form(RP_FORM), BODY_LIMIT + 1),
                )
            },
            INVALID_CLIENT,
        ),
        case(
            "GEN-010",
            "OneWelcome's secure_message, ip_address, user_agent are ignored",
            |w| {
                w.rp(&[
                    ("type", "qr-code"),
                    ("callback_uri", DEAD_CALLBACK),
                    ("secure_message", "x"),
                    ("ip_address", "10.0.0.1"),
                    ("user_agent", "curl"),
                ])
            },
            Expect::Ok(200),
        ),
        case("RP-004", "type missing", |w| w.rp(&[("callback_uri", DEAD_CALLBACK)]), INVALID_PARAMETER),
        case(
            "RP-004",
            "type empty",
            |w| w.rp(&[("type", ""), ("callback_uri", DEAD_CALLBACK)]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-005",
            "unknown type",
            |w| w.rp(&[("type", "push"), ("callback_uri", DEAD_CALLBACK)]),
            TYPE_NOT_FOUND,
        ),
        case(
            "RP-005",
            "type name in another case",
            |w| w.rp(&[("type", "QR-CODE"), ("callback_uri", DEAD_CALLBACK)]),
            TYPE_NOT_FOUND,
        ),
        case(
            "RP-006",
            "user_id present",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("user_id", "alice")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-006",
            "user_id present and empty",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("user_id", "")]),
            INVALID_PARAMETER,
        ),
        case("RP-007", "callback_uri missing", |w| w.rp(&[("type", "qr-code")]), INVALID_PARAMETER),
        case(
            "RP-007",
            "callback_uri empty",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-007",
            "callback_uri relative",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "/callback")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-007",
            "callback_uri ftp",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "ftp://portal.example/cb")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-007",
            "callback_uri without a host",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "https:///cb")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-007",
            "callback_uri scheme in capitals is accepted",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "HTTP://127.0.0.1:9/callback")]),
            Expect::Ok(200),
        ),
        case(
            "RP-007 RP-008",
            "callback_uri not whitelisted",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "https://evil.example/cb")]),
            INVALID_PARAMETER,
        )
        .with_config(json!({"callback_whitelist": ["https://portal.example/cb", "https://hooks.example/"]})),
        case(
            "RP-008",
            "whitelist entry without / is not a prefix",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", "https://portal.example/cb2")]),
            INVALID_PARAMETER,
        )
        .with_config(json!({"callback_whitelist": ["https://portal.example/cb"]})),
        case(
            "RP-009",
            "message missing and the type has no default",
            |w| w.rp(&[("type", "no-default"), ("callback_uri", DEAD_CALLBACK)]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-009",
            "message empty and the type has no default",
            |w| w.rp(&[("type", "no-default"), ("callback_uri", DEAD_CALLBACK), ("message", "")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-010",
            "156 four-byte code points",
            move |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("message", &emoji(156))]),
            MESSAGE_TOO_LONG,
        ),
        case(
            "RP-010",
            "155 four-byte code points are accepted",
            move |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("message", &emoji(155))]),
            Expect::Ok(200),
        ),
        case(
            "RP-010",
            "over a configured message_max_length of 3",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("message", "four")]),
            MESSAGE_TOO_LONG,
        )
        .with_config(json!({"message_max_length": 3})),
        case(
            "RP-011",
            "language_code \"english\"",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("language_code", "english")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-011",
            "language_code \"en-\"",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("language_code", "en-")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-011",
            "language_code nl-NL is accepted",
            |w| w.rp(&[("type", "qr-code"), ("callback_uri", DEAD_CALLBACK), ("language_code", "nl-NL")]),
            Expect::Ok(200),
        ),
        case(
            "RP-012",
            "missing type (1003) before user_id and callback_uri",
            |w| w.rp(&[("callback_uri", "/relative"), ("user_id", "alice")]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-012",
            "3005 before user_id present",
            |w| w.rp(&[("type", "push"), ("callback_uri", DEAD_CALLBACK), ("user_id", "alice")]),
            TYPE_NOT_FOUND,
        ),
        case(
            "RP-012",
            "3005 before a bad callback_uri",
            |w| w.rp(&[("type", "push"), ("callback_uri", "ftp://x")]),
            TYPE_NOT_FOUND,
        ),
        case(
            "RP-012",
            "3005 before a message too long",
            move |w| w.rp(&[("type", "push"), ("callback_uri", DEAD_CALLBACK), ("message", &emoji(200))]),
            TYPE_NOT_FOUND,
        ),
        case(
            "RP-012",
            "bad callback_uri (1003) before a message too long (1005)",
            move |w| w.rp(&[("type", "qr-code"), ("callback_uri", "ftp://x"), ("message", &emoji(200))]),
            INVALID_PARAMETER,
        ),
        case(
            "RP-012",
            "message too long (1005) before a bad language_code (1003)",
            move |w| {
                w.rp(&[
                    ("type", "qr-code"),
                    ("callback_uri", DEAD_CALLBACK),
                    ("message", &emoji(200)),
                    ("language_code", "xxx"),
                ])
            },
            MESSAGE_TOO_LONG,
        ),
        // GET transaction (RP-017, GEN-009)
        case(
            "RP-017",
            "unknown transaction",
            move |_| Req::get(tx_path(&Uuid::nil().to_string())).portal(),
            INVALID_TRANSACTION,
        ),
        case(
            "RP-017",
            "another API client's transaction",
            move |w| Req::get(tx_path(&w.t_other.to_string())).portal(),
            INVALID_TRANSACTION,
        ),
        case(
            "RP-017",
            "the other client reads its own (control)",
            move |w| Req::get(tx_path(&w.t_other.to_string())).basic("other-portal", "other-secret"),
            Expect::Ok(200),
        ),
        case(
            "RP-017 GEN-009",
            "id not a UUID",
            move |_| Req::get(tx_path("tx-1")).portal(),
            INVALID_TRANSACTION,
        ),
        case(
            "RP-018 GEN-009",
            "enabled for a user_id percent-encoded, not UTF-8: an unknown user",
            |_| Req::get("/oauth/api/v4/authenticate/user/%FF/enabled").portal(),
            Expect::Ok(200),
        ),
        case(
            "RP-017 GEN-009",
            "id percent-encoded, not UTF-8",
            move |_| Req::get(tx_path("%FF")).portal(),
            INVALID_TRANSACTION,
        ),
        case(
            "RP-017 GEN-009",
            "uppercase form of a known id",
            move |w| Req::get(tx_path(&w.t.id.to_string().to_uppercase())).portal(),
            INVALID_TRANSACTION,
        ),
        case(
            "GEN-011",
            "GET transaction with mobile_auth_enabled false (control)",
            move |w| Req::get(tx_path(&w.t.id.to_string())).portal(),
            Expect::Ok(200),
        )
        .with_config(json!({"mobile_auth_enabled": false})),
    ]);
    w.run("relying party", cases).await;
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}

/// Contract 6 and 8, ADM-002, ADM-005, ADM-006, ADM-008 to ADM-010, ADM-015, GEN-010: admin errors.
#[tokio::test]
async fn admin_errors() {
    let w = World::build().await;
    let cases = vec![
        case("ADM-002", "no token", |_| Req::get("/_admin/v1/config"), ADMIN_UNAUTHORIZED),
        case("ADM-002", "wrong token", |_| Req::get("/_admin/v1/config").bearer("nope"), ADMIN_UNAUTHORIZED),
        case(
            "ADM-002",
            "a user's access token",
            |w| Req::get("/_admin/v1/clock").bearer(&w.ta),
            ADMIN_UNAUTHORIZED,
        ),
        case(
            "ADM-002",
            "Basic scheme",
            |_| Req::get("/_admin/v1/config").basic("admin", "mobauth-admin"),
            ADMIN_UNAUTHORIZED,
        ),
        case(
            "ADM-002",
            "20002 before a bad body",
            |_| Req::put("/_admin/v1/config").json(json!({"nope": 1})),
            ADMIN_UNAUTHORIZED,
        ),
        case("ADM-002", "20002 on reset", |_| Req::post("/_admin/v1/reset"), ADMIN_UNAUTHORIZED),
        case("ADM-002", "20002 on events", |_| Req::get("/_admin/v1/events"), ADMIN_UNAUTHORIZED),
        case(
            "ADM-002",
            "20002 on faults",
            |_| Req::put("/_admin/v1/faults").json(json!([])),
            ADMIN_UNAUTHORIZED,
        ),
        case(
            "ADM-002",
            "20002 on users",
            |_| Req::post("/_admin/v1/users").json(json!({"username": "x", "password": "y"})),
            ADMIN_UNAUTHORIZED,
        ),
        case(
            "ADM-002",
            "20002 on admin DELETE enrollment",
            |w| Req::delete(format!("/_admin/v1/users/alice/enrollments/{}", w.a.id)),
            ADMIN_UNAUTHORIZED,
        ),
        // config (ADM-005, GEN-010)
        case(
            "ADM-005 GEN-010",
            "config: unknown key",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"nope": 1})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: unknown key inside an OTP type",
            |_| {
                Req::put("/_admin/v1/config")
                    .admin()
                    .json(json!({"otp_types": [{"name": "a", "colour": "red"}]}))
            },
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: unknown enrollment_mode",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"enrollment_mode": "many"})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: message_max_length 0",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"message_max_length": 0})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: access_token_ttl_s 0",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"access_token_ttl_s": 0})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: expires_in_s 0",
            |_| {
                Req::put("/_admin/v1/config")
                    .admin()
                    .json(json!({"otp_types": [{"name": "a", "expires_in_s": 0}]}))
            },
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: negative callback_retries",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"callback_retries": -1})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: empty OTP type name",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"otp_types": [{"name": ""}]})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: duplicate OTP type names",
            |_| {
                Req::put("/_admin/v1/config")
                    .admin()
                    .json(json!({"otp_types": [{"name": "a"}, {"name": "a"}]}))
            },
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: a JSON array",
            |_| Req::put("/_admin/v1/config").admin().json(json!([])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-006",
            "clock: a JSON array",
            |_| Req::post("/_admin/v1/clock").admin().json(json!([1])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-008",
            "users: a JSON array",
            |_| Req::post("/_admin/v1/users").admin().json(json!(["x", "y"])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-005",
            "config: wrong JSON type",
            |_| Req::put("/_admin/v1/config").admin().json(json!({"mobile_auth_enabled": "yes"})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-002",
            "config: not JSON",
            |_| Req::put("/_admin/v1/config").admin().raw(Some("application/json"), "{"),
            ADMIN_INVALID,
        ),
        case(
            "GEN-007",
            "config: text/plain",
            |_| Req::put("/_admin/v1/config").admin().raw(Some("text/plain"), "{}"),
            ADMIN_INVALID,
        ),
        case(
            "GEN-006",
            "config: body over 64 KiB",
            |_| {
                Req::put("/_admin/v1/config")
                    .admin()
                    .raw(Some("application/json"), json_of_len(&world_config(None), BODY_LIMIT + 1))
            },
            Expect::Err(413, 20001, "INVALID_ADMIN_REQUEST"),
        ),
        case(
            "GEN-006",
            "config: body of exactly 64 KiB",
            |_| {
                Req::put("/_admin/v1/config")
                    .admin()
                    .raw(Some("application/json"), json_of_len(&world_config(None), BODY_LIMIT))
            },
            Expect::Ok(200),
        ),
        // clock (ADM-006)
        case(
            "ADM-006",
            "clock: empty object",
            |_| Req::post("/_admin/v1/clock").admin().json(json!({})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-006",
            "clock: both advance_ms and set",
            |_| {
                Req::post("/_admin/v1/clock")
                    .admin()
                    .json(json!({"advance_ms": 1, "set": "2026-01-01T00:00:00Z"}))
            },
            ADMIN_INVALID,
        ),
        case(
            "ADM-006",
            "clock: negative advance_ms",
            |_| Req::post("/_admin/v1/clock").admin().json(json!({"advance_ms": -1})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-006",
            "clock: fractional advance_ms",
            |_| Req::post("/_admin/v1/clock").admin().json(json!({"advance_ms": 1.5})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-006",
            "clock: set not RFC 3339",
            |_| Req::post("/_admin/v1/clock").admin().json(json!({"set": "yesterday"})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-006 GEN-010",
            "clock: unknown key",
            |_| Req::post("/_admin/v1/clock").admin().json(json!({"advance_s": 1})),
            ADMIN_INVALID,
        ),
        case(
            "GEN-006",
            "clock: body over 64 KiB",
            |_| {
                Req::post("/_admin/v1/clock")
                    .admin()
                    .raw(Some("application/json"), json_of_len(&json!({"advance_ms": 0}), BODY_LIMIT + 1))
            },
            Expect::Err(413, 20001, "INVALID_ADMIN_REQUEST"),
        ),
        // reset takes an empty body or {} (ADM-014); anything else is a malformed admin body.
        case(
            "ADM-014 GEN-010",
            "reset: unknown key",
            |_| Req::post("/_admin/v1/reset").admin().json(json!({"keep_users": true})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-014 GEN-007",
            "reset: text/plain body",
            |_| Req::post("/_admin/v1/reset").admin().raw(Some("text/plain"), "{}"),
            ADMIN_INVALID,
        ),
        case(
            "ADM-014",
            "reset: not JSON",
            |_| Req::post("/_admin/v1/reset").admin().raw(Some("application/json"), "please"),
            ADMIN_INVALID,
        ),
        case(
            "ADM-014 GEN-006",
            "reset: body over 64 KiB",
            |_| {
                Req::post("/_admin/v1/reset")
                    .admin()
                    .raw(Some("application/json"), json_of_len(&json!({}), BODY_LIMIT + 1))
            },
            Expect::Err(413, 20001, "INVALID_ADMIN_REQUEST"),
        ),
        // users and clients (ADM-008)
        case(
            "ADM-008",
            "users: password missing",
            |_| Req::post("/_admin/v1/users").admin().json(json!({"username": "x"})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-008",
            "users: empty username",
            |_| Req::post("/_admin/v1/users").admin().json(json!({"username": "", "password": "p"})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-008 GEN-010",
            "users: unknown key",
            |_| {
                Req::post("/_admin/v1/users")
                    .admin()
                    .json(json!({"username": "x", "password": "p", "admin": true}))
            },
            ADMIN_INVALID,
        ),
        case(
            "ADM-008",
            "api-clients: secret missing",
            |_| Req::post("/_admin/v1/api-clients").admin().json(json!({"client_id": "x"})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-008",
            "app-clients: empty id",
            |_| Req::post("/_admin/v1/app-clients").admin().json(json!({"client_id": ""})),
            ADMIN_INVALID,
        ),
        // admin DELETE enrollment (ADM-009)
        case(
            "ADM-009",
            "unknown user",
            |w| Req::delete(format!("/_admin/v1/users/mallory/enrollments/{}", w.a.id)).admin(),
            ADMIN_NOT_FOUND,
        ),
        case(
            "ADM-009",
            "device not enrolled for that user",
            |w| Req::delete(format!("/_admin/v1/users/bob/enrollments/{}", w.a.id)).admin(),
            ADMIN_NOT_FOUND,
        ),
        case(
            "ADM-009",
            "device never enrolled",
            |w| Req::delete(format!("/_admin/v1/users/alice/enrollments/{}", w.n.id)).admin(),
            ADMIN_NOT_FOUND,
        ),
        case(
            "ADM-009",
            "disenrolled device",
            |w| Req::delete(format!("/_admin/v1/users/carol/enrollments/{}", w.c1.id)).admin(),
            ADMIN_NOT_FOUND,
        ),
        case(
            "ADM-009 GEN-002",
            "username percent-encoded, not UTF-8",
            |w| Req::delete(format!("/_admin/v1/users/%FF/enrollments/{}", w.a.id)).admin(),
            ADMIN_NOT_FOUND,
        ),
        case(
            "ADM-009",
            "device id not a UUID",
            |_| Req::delete("/_admin/v1/users/alice/enrollments/x").admin(),
            ADMIN_NOT_FOUND,
        ),
        // faults (ADM-010)
        case(
            "ADM-010",
            "faults: probability 1.5",
            |_| Req::put("/_admin/v1/faults").admin().json(json!([{"probability": 1.5}])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-010",
            "faults: status 99",
            |_| Req::put("/_admin/v1/faults").admin().json(json!([{"status": 99}])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-010",
            "faults: status 600",
            |_| Req::put("/_admin/v1/faults").admin().json(json!([{"status": 600}])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-010",
            "faults: negative latency",
            |_| Req::put("/_admin/v1/faults").admin().json(json!([{"latency_ms": -5}])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-010 GEN-010",
            "faults: unknown key",
            |_| Req::put("/_admin/v1/faults").admin().json(json!([{"drop": true}])),
            ADMIN_INVALID,
        ),
        case(
            "ADM-010",
            "faults: not a list",
            |_| Req::put("/_admin/v1/faults").admin().json(json!({"status": 500})),
            ADMIN_INVALID,
        ),
        case(
            "ADM-013",
            "faults: seed not a number",
            |_| Req::put("/_admin/v1/faults?seed=x").admin().json(json!([])),
            ADMIN_INVALID,
        ),
        // events (ADM-015)
        case(
            "ADM-015",
            "events: since=-1",
            |_| Req::get("/_admin/v1/events?since=-1").admin(),
            ADMIN_INVALID,
        ),
        case(
            "ADM-015",
            "events: since=abc",
            |_| Req::get("/_admin/v1/events?since=abc").admin(),
            ADMIN_INVALID,
        ),
    ];
    w.run("admin", cases).await;
    // ADM-010: refused fault lists left none installed; ADM-005: the world config is intact.
    let config = w.s.config().await;
    assert_eq!(config["otp_types"].as_array().map(Vec::len), Some(3), "{config}");
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}

/// GEN-008: unknown paths and wrong methods, before any other check.
#[tokio::test]
async fn routing_errors() {
    let w = World::build().await;
    let cases = vec![
        case(
            "GEN-008",
            "device API: unknown path",
            |_| Req::get("/mobile-auth/v1/nope"),
            Expect::Err(404, 10015, "INVALID_REQUEST"),
        ),
        case(
            "GEN-008",
            "device API: unknown path under a known one",
            |w| {
                Req::post(format!("/mobile-auth/v1/otp/requests/{}/answers", w.t.id))
                    .bearer(&w.ta)
                    .json(json!({}))
            },
            Expect::Err(404, 10015, "INVALID_REQUEST"),
        ),
        case(
            "GEN-008",
            "relying-party API: unknown path",
            |_| Req::get("/oauth/api/v4/nope"),
            Expect::Err(404, 1003, "INVALID_PARAMETER"),
        ),
        case(
            "GEN-008",
            "relying-party API: unknown path, authenticated",
            |_| Req::get("/oauth/api/v4/authenticate/users").portal(),
            Expect::Err(404, 1003, "INVALID_PARAMETER"),
        ),
        case(
            "GEN-008",
            "admin API: unknown path without a token",
            |_| Req::get("/_admin/v1/nope"),
            ADMIN_NOT_FOUND,
        ),
        case("GEN-008", "admin API: unknown path", |_| Req::get("/_admin/v1/nope").admin(), ADMIN_NOT_FOUND),
        case(
            "GEN-008 AUTH-007",
            "token endpoint: GET",
            |_| Req::get("/oauth/token"),
            Expect::OAuth(405, "invalid_request"),
        )
        .allow(&["POST"]),
        case(
            "GEN-008",
            "enrollments: PUT",
            |w| Req::put("/mobile-auth/v1/enrollments").bearer(&w.ta).json(json!({})),
            Expect::Err(405, 10015, "INVALID_REQUEST"),
        )
        .allow(&["POST"]),
        case(
            "GEN-008",
            "enrollment: POST, no token",
            |w| Req::post(format!("/mobile-auth/v1/enrollments/{}", w.a.id)),
            Expect::Err(405, 10015, "INVALID_REQUEST"),
        )
        .allow(&["GET", "DELETE"]),
        case(
            "GEN-008",
            "answer: GET",
            |w| Req::get(format!("/mobile-auth/v1/otp/requests/{}/answer", w.t.id)).bearer(&w.ta),
            Expect::Err(405, 10015, "INVALID_REQUEST"),
        )
        .allow(&["POST"]),
        case(
            "GEN-008",
            "OTP requests: GET",
            |_| Req::get("/mobile-auth/v1/otp/requests"),
            Expect::Err(405, 10015, "INVALID_REQUEST"),
        )
        .allow(&["POST"]),
        case(
            "GEN-008",
            "authenticate/user: GET",
            |_| Req::get("/oauth/api/v4/authenticate/user"),
            Expect::Err(405, 1003, "INVALID_PARAMETER"),
        )
        .allow(&["POST"]),
        case(
            "GEN-008",
            "transaction: POST",
            |w| Req::post(format!("/oauth/api/v4/authenticate/transaction/{}", w.t.id)).portal(),
            Expect::Err(405, 1003, "INVALID_PARAMETER"),
        )
        .allow(&["GET"]),
        case(
            "GEN-008",
            "enabled: DELETE",
            |_| Req::delete("/oauth/api/v4/authenticate/user/alice/enabled"),
            Expect::Err(405, 1003, "INVALID_PARAMETER"),
        )
        .allow(&["GET"]),
        case(
            "GEN-008",
            "admin config: DELETE without a token",
            |_| Req::delete("/_admin/v1/config"),
            ADMIN_INVALID_405,
        )
        .allow(&["GET", "PUT"]),
        case("GEN-008", "admin reset: GET", |_| Req::get("/_admin/v1/reset").admin(), ADMIN_INVALID_405)
            .allow(&["POST"]),
        case("GEN-008", "admin events: POST", |_| Req::post("/_admin/v1/events").admin(), ADMIN_INVALID_405)
            .allow(&["GET"]),
    ];
    w.run("routing", cases).await;
    w.pending_transaction_intact().await;
    w.s.shutdown().await;
}

const ADMIN_INVALID_405: Expect = Expect::Err(405, 20001, "INVALID_ADMIN_REQUEST");
