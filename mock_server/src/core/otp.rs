//! The device API's OTP calls: fetching a challenge and answering a transaction (contract §3.2,
//! the check orders of §8).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::error::ErrorCode;
use protocol::keys::{PublicKey, is_high_s, signing_string};
use protocol::wire::{Answer, AnswerResponse, OtpRequestResponse, TransactionStatus};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ApiError, Body, CallbackJob, Result, TokenServer, Transaction};
use crate::core::Api;
use crate::readings::HighS;

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

    /// `POST /mobile-auth/v1/otp/requests/{transaction_id}/answer`.
    pub fn otp_answer(
        &mut self,
        bearer: Option<&str>,
        transaction: &str,
        body: Body<protocol::wire::AnswerBody>,
        now: OffsetDateTime,
    ) -> Result<AnswerResponse> {
        self.sweep(now);
        let user = self.authenticate(bearer, now)?;
        let body = body.map_err(|e| e.into_api(ErrorCode::InvalidRequest))?;
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
        let transaction_id = self.path_id(transaction, Api::Device)?;
        let key = self.enrolled_key(&user, device_id)?;
        let transaction_id = transaction_id.ok_or_else(Self::not_found)?;
        let tx = self.transactions.get(&transaction_id).ok_or_else(Self::not_found)?;
        let challenge = tx.challenges.get(&device_id).ok_or_else(Self::not_found)?;
        Self::check_open(tx, now)?;
        let signed = signing_string(transaction_id, challenge, answer, device_id);
        key.verify(signed.as_bytes(), &signature).map_err(|e| {
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
