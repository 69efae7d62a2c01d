//! The enrollment tables: refused enrollments (each leaving the earlier enrollment and its key
//! working), and GET and DELETE of an enrollment.

use forge::pem::{CSR_LABEL, PemForm};
use serde_json::json;

use super::{
    DEVICE_ENROLLED, Expect, INVALID_REQUEST, NOT_AUTHENTICATED, NOT_AVAILABLE, NOT_ENROLLED_404,
    OPENSSL_DEVICE, USER_ENROLLED, World, case, csr_bad_signature, csr_not_p256, fixture,
};
use crate::support::{self, BODY_LIMIT, Req, json_of_len, new_device};

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
                // "AAAA": base64 of three zero bytes, which are no DER.
                w.enroll(&w.ta, w.n.id, &forge::pem::pem(CSR_LABEL, &[0, 0, 0]))
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
    let der = forge::pem::der(&w.n.csr()).expect("our own CSR is PEM");
    let lax = [
        ("PEM body on one line", PemForm::OneLine),
        ("PEM wrapped at 76 columns (Android)", PemForm::Wrapped(76)),
        ("the NEW CERTIFICATE REQUEST label", PemForm::Labelled("NEW CERTIFICATE REQUEST")),
        ("text around the PEM block", PemForm::WithTextAround),
    ]
    .map(|(name, form)| (name, form.apply(&der)));
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
