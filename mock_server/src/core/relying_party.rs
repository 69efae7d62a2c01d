//! The relying-party API: starting a transaction, reading its status and the `enabled` list
//! (contract §5, the check order of §8).

use std::collections::HashMap;

use protocol::error::{ErrorCode, OAuthErrorKind};
use protocol::otp::Otp;
use protocol::wire::{
    AUTH_METHOD_OTP, AuthenticateUserForm, AuthenticateUserResponse, EnabledMethod, NotAuthenticatedReason,
    TransactionStatus, TransactionStatusResponse,
};
use time::{Duration, OffsetDateTime};

use super::fields::{is_absolute_http_url, is_language_code, whitelisted};
use super::{Api, ApiError, Body, Result, TokenServer, Transaction};
use crate::readings::{EmptyType, EnabledList, LanguageCode, TypeNames};

impl TokenServer {
    // ------------------------------------------------------------ relying-party API

    /// Checks HTTP Basic credentials (already decoded) of an API client.
    pub fn api_client(&self, credentials: Option<(String, String)>) -> Result<String> {
        match credentials {
            Some((id, secret)) if self.api_clients.get(&id) == Some(&secret) => Ok(id),
            _ => Err(ApiError::oauth(OAuthErrorKind::InvalidClient, "bad or missing API client credentials")),
        }
    }

    /// `POST /oauth/api/v4/authenticate/user`.
    pub fn authenticate_user(
        &mut self,
        client: Option<(String, String)>,
        form: Body<AuthenticateUserForm>,
        now: OffsetDateTime,
    ) -> Result<AuthenticateUserResponse> {
        let client_id = self.api_client(client)?;
        if !self.config.mobile_auth_enabled {
            return Err(ApiError::new(
                ErrorCode::MobileAuthenticationDisabled,
                "mobile authentication is disabled",
            ));
        }
        let invalid = |m: String| ApiError::new(ErrorCode::InvalidParameter, m);
        let form = form.map_err(|e| e.into_api(ErrorCode::InvalidParameter))?;
        let empty_is_missing = self.readings.empty_type == EmptyType::Missing;
        let type_name = form
            .otp_type
            .as_deref()
            .filter(|t| !(t.is_empty() && empty_is_missing))
            .ok_or_else(|| invalid("type is required".into()))?;
        let names_match = |name: &str| match self.readings.type_names {
            TypeNames::Exact => name == type_name,
            TypeNames::CaseInsensitive => name.eq_ignore_ascii_case(type_name),
        };
        let otp_type = self.config.otp_types.iter().find(|t| names_match(&t.name)).ok_or_else(|| {
            ApiError::new(
                ErrorCode::AuthenticationTypeNotFound,
                format!("no authentication type {type_name:?}"),
            )
        })?;
        if form.user_id.is_some() {
            return Err(invalid("user_id must be absent for an OTP type".into()));
        }
        let callback_uri = form
            .callback_uri
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| invalid("callback_uri is required".into()))?;
        if !is_absolute_http_url(callback_uri) {
            return Err(invalid(format!("callback_uri {callback_uri:?} is not an absolute http(s) URL")));
        }
        if !whitelisted(&self.config.callback_whitelist, callback_uri) {
            return Err(invalid(format!("callback_uri {callback_uri:?} is not allowed by the whitelist")));
        }
        let message = match form.message.as_deref().filter(|m| !m.is_empty()) {
            Some(m) => m.to_string(),
            None => otp_type
                .default_message
                .clone()
                .ok_or_else(|| invalid("message is required: the type has no default".into()))?,
        };
        let length = message.chars().count();
        if length > self.config.message_max_length as usize {
            return Err(ApiError::new(
                ErrorCode::MessageTooLong,
                format!(
                    "the message has {length} characters; at most {} are allowed",
                    self.config.message_max_length
                ),
            ));
        }
        if let Some(lang) = form.language_code.as_deref().filter(|l| !l.is_empty())
            && self.readings.language_code == LanguageCode::Checked
            && !is_language_code(lang)
        {
            return Err(invalid(format!("language_code {lang:?} is not a language tag")));
        }

        let transaction_id = protocol::rng::uuid(&mut self.rng);
        let otp = Otp::generate(transaction_id, &mut self.rng);
        let ttl_ms = otp_type.expires_in_s.saturating_mul(1000);
        let ttl = Duration::milliseconds(i64::try_from(ttl_ms).unwrap_or(i64::MAX));
        let tx = Transaction {
            client_id,
            otp_type: otp_type.name.clone(),
            message,
            secret: otp.secret_digest(),
            created: now,
            ttl,
            callback_uri: callback_uri.to_string(),
            status: TransactionStatus::Pending,
            answered_by: None,
            challenges: HashMap::new(),
        };
        self.deadlines.insert((tx.expires_at(), transaction_id));
        self.forget_transactions.insert((tx.expires_at().saturating_add(super::RETENTION), transaction_id));
        self.transactions.insert(transaction_id, tx);
        Ok(AuthenticateUserResponse {
            transaction_id,
            auth_method: AUTH_METHOD_OTP.into(),
            time_to_live: ttl_ms,
            otp: otp.encode(),
        })
    }

    /// `GET /oauth/api/v4/authenticate/transaction/{id}`.
    pub fn transaction_status(
        &mut self,
        client: Option<(String, String)>,
        transaction: &str,
        now: OffsetDateTime,
    ) -> Result<TransactionStatusResponse> {
        self.sweep(now);
        let client_id = self.api_client(client)?;
        let not_found =
            || ApiError::new(ErrorCode::InvalidTransactionId, "no such transaction for this client");
        let id = self.path_id(transaction, Api::RelyingParty)?.ok_or_else(not_found)?;
        let tx = self.transactions.get(&id).filter(|tx| tx.client_id == client_id).ok_or_else(not_found)?;
        let reason = match tx.status {
            TransactionStatus::Denied => Some(NotAuthenticatedReason {
                reason: "not_accepted".into(),
                description: "the user denied the request".into(),
            }),
            TransactionStatus::Expired => Some(NotAuthenticatedReason {
                reason: "expired".into(),
                description: "the request expired before an answer came".into(),
            }),
            TransactionStatus::Pending | TransactionStatus::Accepted => None,
        };
        Ok(TransactionStatusResponse {
            transaction_id: id,
            callback_uri: tx.callback_uri.clone(),
            timestamp: tx.created,
            status: tx.status,
            is_authenticated: tx.status == TransactionStatus::Accepted,
            authentication_method: AUTH_METHOD_OTP.into(),
            user_id: tx.answered_by.clone(),
            not_authenticated_reason: reason,
        })
    }

    /// `GET /oauth/api/v4/authenticate/user/{user_id}/enabled`.
    pub fn enabled(&self, client: Option<(String, String)>, user: &str) -> Result<Vec<EnabledMethod>> {
        self.api_client(client)?;
        let enrolled = self.enrollments.values().any(|e| e.user == user);
        if !self.config.mobile_auth_enabled || !enrolled {
            return Ok(Vec::new());
        }
        let listed = match self.readings.enabled_list {
            EnabledList::EveryType => self.config.otp_types.len(),
            EnabledList::FirstType => 1,
        };
        Ok(self
            .config
            .otp_types
            .iter()
            .take(listed)
            .map(|t| EnabledMethod { otp_type: t.name.clone(), method: AUTH_METHOD_OTP.into() })
            .collect())
    }
}
