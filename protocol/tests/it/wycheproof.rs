//! Project Wycheproof's ECDSA P-256 / SHA-256 verification vectors, run through the crate's own
//! verifier: `PublicKey::from_sec1_bytes` on the group's uncompressed key, then
//! `PublicKey::verify(msg, der_sig)`.
//!
//! Every `valid` vector must verify and every `invalid` one must be refused (either outcome of
//! `SignatureError`, or the key itself refused). `acceptable` vectors are recorded and printed but
//! not asserted on: Wycheproof uses that result for inputs where either answer is defensible. The
//! test also checks that it ran exactly as many vectors as the file announces, so it cannot pass
//! by reading nothing.

// Test code: a panic with a message is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use protocol::keys::{PublicKey, SignatureError};
use serde_json::Value;

/// The vector file, kept in the repository with its licence (tests/data/wycheproof/).
const VECTORS: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/wycheproof/ecdsa_secp256r1_sha256_test.json");

/// What the crate did with one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Verified,
    KeyRefused,
    Malformed,
    Mismatch,
    /// A `SignatureError` variant added after this test was written.
    Other,
}

impl Outcome {
    fn accepted(self) -> bool {
        self == Outcome::Verified
    }
}

/// One vector, flattened out of its group.
#[derive(Debug)]
struct Vector {
    tc_id: u64,
    comment: String,
    flags: Vec<String>,
    result: String,
    key: Vec<u8>,
    msg: Vec<u8>,
    sig: Vec<u8>,
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex {text:?}");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digits")).collect()
}

fn string(value: &Value, field: &str) -> String {
    value[field].as_str().unwrap_or_else(|| panic!("field {field:?} is not a string in {value}")).to_owned()
}

fn load() -> (u64, Vec<Vector>) {
    let text = std::fs::read_to_string(VECTORS).unwrap_or_else(|e| {
        panic!(
            "cannot read the Wycheproof vectors at {VECTORS}: {e}. They are part of the repository \
             (protocol/tests/data/wycheproof/, from github.com/C2SP/wycheproof); this test refuses to \
             pass without them."
        )
    });
    let doc: Value = serde_json::from_str(&text).expect("the vector file is JSON");
    assert_eq!(doc["algorithm"], "ECDSA", "unexpected file {VECTORS}");
    let announced = doc["numberOfTests"].as_u64().expect("numberOfTests is a number");
    let groups = doc["testGroups"].as_array().expect("testGroups is an array");
    let mut vectors = Vec::new();
    for group in groups {
        assert_eq!(group["type"], "EcdsaVerify", "group type");
        assert_eq!(group["sha"], "SHA-256", "group hash");
        assert_eq!(group["publicKey"]["curve"], "secp256r1", "group curve");
        let key = unhex(&string(&group["publicKey"], "uncompressed"));
        for test in group["tests"].as_array().expect("tests is an array") {
            vectors.push(Vector {
                tc_id: test["tcId"].as_u64().expect("tcId is a number"),
                comment: string(test, "comment"),
                flags: test["flags"]
                    .as_array()
                    .expect("flags is an array")
                    .iter()
                    .map(|f| f.as_str().expect("flag is a string").to_owned())
                    .collect(),
                result: string(test, "result"),
                key: key.clone(),
                msg: unhex(&string(test, "msg")),
                sig: unhex(&string(test, "sig")),
            });
        }
    }
    (announced, vectors)
}

fn check(vector: &Vector) -> Outcome {
    let Ok(key) = PublicKey::from_sec1_bytes(&vector.key) else {
        return Outcome::KeyRefused;
    };
    match key.verify(&vector.msg, &vector.sig) {
        Ok(()) => Outcome::Verified,
        Err(SignatureError::Malformed) => Outcome::Malformed,
        Err(SignatureError::Mismatch) => Outcome::Mismatch,
        Err(_) => Outcome::Other,
    }
}

#[test]
fn wycheproof_ecdsa_p256_sha256() {
    let (announced, vectors) = load();
    assert_eq!(
        vectors.len() as u64,
        announced,
        "read {} vectors but the file announces numberOfTests = {announced}",
        vectors.len()
    );

    // (result, outcome) -> count, and the vectors whose outcome contradicts their result.
    let mut tally: BTreeMap<(String, Outcome), usize> = BTreeMap::new();
    let mut acceptable = Vec::new();
    let mut mismatches = Vec::new();
    for vector in &vectors {
        let got = check(vector);
        *tally.entry((vector.result.clone(), got)).or_default() += 1;
        let wrong = match vector.result.as_str() {
            "valid" => !got.accepted(),
            "invalid" => got.accepted(),
            // Deliberately not asserted: either answer is allowed for these.
            "acceptable" => {
                acceptable.push((vector.tc_id, got));
                false
            }
            other => panic!("tcId {}: unknown result {other:?}", vector.tc_id),
        };
        if wrong {
            mismatches.push(format!(
                "tcId {} ({}) flags {:?}: expected {}, got {got:?}",
                vector.tc_id, vector.comment, vector.flags, vector.result
            ));
        }
    }

    let mut summary = format!("Wycheproof ECDSA P-256 SHA-256: {} vectors checked\n", vectors.len());
    for ((result, outcome), n) in &tally {
        let _ = writeln!(summary, "  {result:>10} -> {outcome:?}: {n}");
    }
    let _ = writeln!(summary, "  acceptable vectors: {acceptable:?}");
    println!("{summary}");

    // This file (v0.9rc5 of the vectors) has no `acceptable` vectors; if a newer copy has some,
    // they are printed above and this line is the reminder to look at them.
    assert_eq!(acceptable, [], "acceptable vectors appeared; review their outcomes above");
    let total = |result: &str| tally.iter().filter(|((r, _), _)| r == result).map(|(_, n)| n).sum::<usize>();
    assert_eq!(total("valid") + total("invalid"), vectors.len(), "every vector is valid or invalid");
    assert!(total("valid") > 0 && total("invalid") > 0, "both kinds present: {summary}");
    assert!(
        mismatches.is_empty(),
        "{} of {} Wycheproof vectors disagree with the library:\n{}\n{summary}",
        mismatches.len(),
        vectors.len(),
        mismatches.join("\n")
    );
}
