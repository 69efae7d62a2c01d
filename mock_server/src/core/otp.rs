//! The device API's OTP calls: fetching a challenge and answering a transaction (contract §3.2,
//! the check orders of §8).
//!
//! An answer's signature check is a P-256 verification, the costliest step of any request. The
//! I/O layer holds the server's lock around every operation, so a check made there would let one
//! core verify at a time: [`TokenServer::answer_signature`] reads the check's inputs under the
//! lock, [`SignatureInputs::check`] runs it outside, and [`TokenServer::otp_answer_checked`] takes
//! its outcome when its own inputs turn out the same (the outcome is a function of them alone), or
//! checks again. Every check still runs in its order, on the state as it is then.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::error::ErrorCode;
use protocol::keys::{PublicKey, SignatureError, is_high_s, signing_string};
use protocol::wire::{Answer, AnswerBody, AnswerResponse, OtpRequestResponse, TransactionStatus};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ApiError, Body, CallbackJob, Result, TokenServer, Transaction};
use crate::core::Api;
use crate::readings::HighS;

/// What an answer's signature check reads: the key, the signed string and the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureInputs {
    key: PublicKey,
    signed: String,
    signature: Vec<u8>,
}

impl SignatureInputs {
    /// Runs the check (no lock needed: it reads nothing of the server).
    pub fn check(self) -> CheckedSignature {
        let outcome = self.key.verify(self.signed.as_bytes(), &self.signature);
        CheckedSignature { inputs: self, outcome }
    }
}

/// A signature check made ahead of its answer call, with its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSignature {
    inputs: SignatureInputs,
    outcome: std::result::Result<(), SignatureError>,
}

/// An answer call's parts that decide its signature check, parsed as the call parses them.
struct AnswerParts {
    device_id: Uuid,
    answer: Answer,
    signature: Vec<u8>,
}

impl TokenServer {
    // ------------------------------------------------------------ device API: OTP

    /// The device's current enrollment for `user`, or 9023 / 9021 (403).
    fn enrolled_key(&self, user: &str, device_id: Uuid) -> Result<PublicKey> {
        match self.enrollments.get(&device_id) {
            Some(e) if e.user == user => Ok(e.key),
            _ if self.replaced.get(&device_id).is_some_and(|u| u == user) => Err(ApiError::new(
                ErrorCode::MobileAuthenticationDisenrolled,
                "this device's enrollment was replaced by another device",
            )),
            _ => Err(ApiError::new(
                ErrorCode::MobileAuthenticationNotEnrolled,
                "this device is not enrolled for mobile authentication for this user",
            )),
        }
    }

    fn not_found() -> ApiError {
        ApiError::new(ErrorCode::MobileAuthRequestNotFound, "no such mobile authentication request")
    }

    /// The 9029 / 10020 checks shared by both OTP calls.
    fn check_open(tx: &Transaction, now: OffsetDateTime) -> Result<()> {
        match tx.status {
            TransactionStatus::Accepted | TransactionStatus::Denied => {
                Err(ApiError::new(ErrorCode::AlreadyHandled, "the transaction was already answered"))
            }
            TransactionStatus::Expired => Err(Self::expired()),
            TransactionStatus::Pending if now >= tx.expires_at() => Err(Self::expired()),
            TransactionStatus::Pending => Ok(()),
        }
    }

    fn expired() -> ApiError {
        ApiError::new(ErrorCode::MobileAuthRequestExpired, "the transaction's time to live has passed")
    }

    /// `POST /mobile-auth/v1/otp/requests`.
    pub fn otp_request(
        &mut self,
        bearer: Option<&str>,
        body: Body<protocol::wire::OtpRequestBody>,
        now: OffsetDateTime,
    ) -> Result<OtpRequestResponse> {
        self.sweep(now);
        let user = self.authenticate(bearer, now)?;
        let body = body.map_err(|e| e.into_api(ErrorCode::InvalidRequest))?;
        let device_id = self.readings.body_device_id(&body.device_id)?;
        let otp = self
            .readings
            .decode_otp(&body.otp)
            .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, e.to_string()))?;
        self.enrolled_key(&user, device_id)?;
        let tx = self
            .transactions
            .get(&otp.transaction_id)
            .filter(|tx| tx.secret.matches(&otp))
            .ok_or_else(Self::not_found)?;
        Self::check_open(tx, now)?;
        let challenge = self.readings.encode_challenge(&protocol::rng::bytes::<32>(&mut self.rng));
        let tx = self.transactions.get_mut(&otp.transaction_id).ok_or_else(Self::not_found)?;
        tx.challenges.insert(device_id, challenge.clone());
        Ok(OtpRequestResponse {
            transaction_id: otp.transaction_id,
            otp_type: tx.otp_type.clone(),
            message: tx.message.clone(),
            timestamp: tx.created,
            expires_at: tx.expires_at(),
            challenge,
        })
    }

    /// The body checks of the answer call, in its order, after authentication.
    fn answer_parts(&self, body: &AnswerBody) -> Result<AnswerParts> {
        let device_id = self.readings.body_device_id(&body.device_id)?;
        let answer = match body.answer.as_str() {
            "accept" => Answer::Accept,
            "deny" => Answer::Deny,
            other => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("answer must be \"accept\" or \"deny\", not {other:?}"),
                ));
            }
        };
        let signature = STANDARD
            .decode(&body.signature)
            .map_err(|e| ApiError::new(ErrorCode::InvalidRequest, format!("signature is not base64: {e}")))?;
        Ok(AnswerParts { device_id, answer, signature })
    }

    /// What the answer call would check its signature with, were it made at `now`; `None` where
    /// the call would refuse before the check (it then refuses with its own error). Changes
    /// nothing: see the module comment.
    pub fn answer_signature(
        &self,
        bearer: Option<&str>,
        transaction: &str,
        body: &Body<AnswerBody>,
        now: OffsetDateTime,
    ) -> Option<SignatureInputs> {
        let user = self.authenticate(bearer, now).ok()?;
        let parts = self.answer_parts(body.as_ref().ok()?).ok()?;
        let transaction_id = self.path_id(transaction, Api::Device).ok()??;
        let key = self.enrolled_key(&user, parts.device_id).ok()?;
        let tx = self.transactions.get(&transaction_id)?;
        let challenge = tx.challenges.get(&parts.device_id)?;
        Self::check_open(tx, now).ok()?;
        let signed = signing_string(transaction_id, challenge, parts.answer, parts.device_id);
        Some(SignatureInputs { key, signed, signature: parts.signature })
    }

    /// `POST /mobile-auth/v1/otp/requests/{transaction_id}/answer`.
    pub fn otp_answer(
        &mut self,
        bearer: Option<&str>,
        transaction: &str,
        body: Body<AnswerBody>,
        now: OffsetDateTime,
    ) -> Result<AnswerResponse> {
        self.otp_answer_checked(bearer, transaction, body, now, None)
    }

    /// [`TokenServer::otp_answer`], taking the outcome of `checked` for its signature check if
    /// that was made of the same key, string and signature.
    pub fn otp_answer_checked(
        &mut self,
        bearer: Option<&str>,
        transaction: &str,
        body: Body<AnswerBody>,
        now: OffsetDateTime,
        checked: Option<&CheckedSignature>,
    ) -> Result<AnswerResponse> {
        self.sweep(now);
        let user = self.authenticate(bearer, now)?;
        let body = body.map_err(|e| e.into_api(ErrorCode::InvalidRequest))?;
        let AnswerParts { device_id, answer, signature } = self.answer_parts(&body)?;
        let transaction_id = self.path_id(transaction, Api::Device)?;
        let key = self.enrolled_key(&user, device_id)?;
        let transaction_id = transaction_id.ok_or_else(Self::not_found)?;
        let tx = self.transactions.get(&transaction_id).ok_or_else(Self::not_found)?;
        let challenge = tx.challenges.get(&device_id).ok_or_else(Self::not_found)?;
        Self::check_open(tx, now)?;
        let signed = signing_string(transaction_id, challenge, answer, device_id);
        let inputs = SignatureInputs { key, signed, signature };
        let outcome = match checked {
            Some(c) if c.inputs == inputs => c.outcome,
            _ => inputs.key.verify(inputs.signed.as_bytes(), &inputs.signature),
        };
        let SignatureInputs { signed, signature, .. } = inputs;
        outcome.map_err(|e| {
            ApiError::new(ErrorCode::InvalidSignature, format!("{e} (signed string must be {signed:?})"))
        })?;
        if self.readings.high_s == HighS::Refuse && is_high_s(&signature) {
            return Err(ApiError::new(ErrorCode::InvalidSignature, "the signature is not in low-S form"));
        }

        let tx = self.transactions.get_mut(&transaction_id).ok_or_else(Self::not_found)?;
        tx.status = match answer {
            Answer::Accept => TransactionStatus::Accepted,
            Answer::Deny => TransactionStatus::Denied,
        };
        tx.answered_by = Some(user);
        self.deadlines.remove(&(tx.expires_at(), transaction_id));
        self.outbox.push(CallbackJob {
            callback_uri: tx.callback_uri.clone(),
            transaction_id,
            retries: self.config.callback_retries,
        });
        Ok(AnswerResponse { transaction_id, status: answer.outcome() })
    }
}
