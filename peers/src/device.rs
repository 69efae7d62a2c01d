//! A simulated device: one app installation with its own device id and keys, talking the device
//! API of the profile as a well-behaved SDK would.
//!
//! It logs its user in, enrolls by CSR and keeps its certificate (checked against the CA it was
//! given), scans QR codes, fetches requests, shows them (an `open_auth_otp` event), lets the
//! scenario's user decide, signs the answer and closes the request (`close_auth_otp`).

use forge::answer::SigningParts;
use protocol::ca::TrustAnchor;
use protocol::keys::KeyPair;
use protocol::otp::Otp;
use protocol::rng::SeededRng;
// The request bodies are built with `json!` in the shapes of `EnrollmentRequest`, `OtpRequestBody`
// and `AnswerBody`: a scenario may need to send what those types cannot hold.
use protocol::wire::{
    Answer, AnswerResponse, EnrollmentInfo, EnrollmentResponse, OtpRequestResponse, TokenResponse, paths,
};
use reqwest::Method;
use uuid::Uuid;

use transcript::{Auth, Http, Payload, PeerError};

/// What the device shows its user, in the order shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceEvent {
    /// A request is on screen.
    OpenAuthOtp {
        /// Its transaction.
        transaction_id: Uuid,
        /// Its message.
        message: String,
    },
    /// The request left the screen.
    CloseAuthOtp,
}

/// Why the device could not do what it was asked, before or besides the server's answer.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The server refused or misbehaved.
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// No user is logged in.
    #[error("no user is authenticated on this device")]
    NotAuthenticated,
    /// The device holds no enrollment.
    #[error("this device is not enrolled")]
    NotEnrolled,
    /// No request is showing.
    #[error("no mobile authentication request is showing")]
    NothingShowing,
    /// The QR image did not give an OTP.
    #[error("cannot read the QR code: {0}")]
    Qr(String),
    /// The server's certificate does not certify this device's key or does not chain to its CA.
    #[error("the enrollment's certificate is not acceptable: {0}")]
    BadCertificate(String),
    /// The device driver (an SDK under test) answered an operation with an error reply.
    #[error(transparent)]
    Driver(#[from] DriverRefusal),
}

/// An SDK's refusal, as its device driver answered it: the code and type of the SDK's error
/// (contract section 9), which for a server refusal are the server's. The driver protocol carries
/// no HTTP status, and the server's event log is not read for one (the contract fixes only its
/// entries' `seq`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the device driver answered {op} with error {code} {error_type}: {message}{}", local_note(*refused_locally))]
pub struct DriverRefusal {
    /// The operation refused.
    pub op: String,
    /// `error_code`.
    pub code: u32,
    /// `error_type`.
    pub error_type: String,
    /// `error_message`.
    pub message: String,
    /// Known to be one of section 9's local refusals, made without a call to the server: the
    /// driver's own `state` said it had no user or no enrollment, and it refused with that state's
    /// code.
    pub refused_locally: bool,
}

/// What a message adds for a local refusal.
fn local_note(refused_locally: bool) -> &'static str {
    if refused_locally { " (a local refusal of section 9, made without calling the server)" } else { "" }
}

/// The enrollment the device keeps.
#[derive(Debug, Clone)]
pub struct DeviceEnrollment {
    /// The key the certificate is for.
    pub key: KeyPair,
    /// The certificate, PEM.
    pub certificate: String,
    /// The CA's certificate, PEM.
    pub ca_certificate: String,
    /// The server's answer.
    pub response: EnrollmentResponse,
}

/// A request fetched and on screen.
#[derive(Debug, Clone)]
pub struct ShowingRequest {
    /// The server's request.
    pub request: OtpRequestResponse,
}

/// An answer and its signature (base64 of the DER signature over the signing string of
/// `parts`), ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAnswer {
    /// What was signed; the transaction and answer are also what is sent.
    pub parts: SigningParts,
    /// The `signature` field.
    pub signature: String,
}

impl SignedAnswer {
    /// `parts` signed by `key`.
    pub fn new(key: &KeyPair, parts: SigningParts) -> Self {
        let signature = forge::answer::signature(key, &parts);
        Self { parts, signature }
    }
}

/// A simulated app installation.
#[derive(Debug)]
pub struct SimulatedDevice {
    name: String,
    device_id: Uuid,
    http: Http,
    app_client_id: String,
    rng: SeededRng,
    token: Option<(String, String)>,
    /// Enrollment is per device and user: one per user who enrolled on this installation.
    enrollments: std::collections::HashMap<String, DeviceEnrollment>,
    showing: Option<ShowingRequest>,
    events: Vec<DeviceEvent>,
}

impl SimulatedDevice {
    /// A new installation named `name` (for reports), with a device id from `rng`.
    pub fn new(name: &str, http: Http, app_client_id: &str, mut rng: SeededRng) -> Self {
        let device_id = protocol::rng::uuid(&mut rng);
        Self {
            name: name.to_string(),
            device_id,
            http,
            app_client_id: app_client_id.to_string(),
            rng,
            token: None,
            enrollments: std::collections::HashMap::new(),
            showing: None,
            events: Vec::new(),
        }
    }

    /// Forgets the events so far (a load run's device handles thousands of requests and reads
    /// none of them).
    pub fn clear_events(&mut self) {
        self.events.clear();
    }

    /// The server it talks to.
    pub fn server_url(&self) -> &str {
        self.http.base()
    }

    /// The app client it logs in with.
    pub fn app_client_id(&self) -> &str {
        &self.app_client_id
    }

    /// The name a scenario calls it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its device id.
    pub fn device_id(&self) -> Uuid {
        self.device_id
    }

    /// Takes `device_id` as its id, before it enrolls (a scenario may need a device whose id a
    /// fixture names, such as the OpenSSL-made CSRs of `fixtures/openssl/`).
    pub fn assume_device_id(&mut self, device_id: Uuid) {
        self.device_id = device_id;
    }

    /// The logged-in user, if any.
    pub fn user(&self) -> Option<&str> {
        self.token.as_ref().map(|(user, _)| user.as_str())
    }

    /// The access token, if a user is logged in.
    pub fn access_token(&self) -> Option<&str> {
        self.token.as_ref().map(|(_, token)| token.as_str())
    }

    /// The enrollment the device holds for the logged-in user.
    pub fn enrollment(&self) -> Option<&DeviceEnrollment> {
        self.enrollments.get(self.user()?)
    }

    /// The enrollment the device holds for `user`, whether or not they are logged in.
    pub fn enrollment_of(&self, user: &str) -> Option<&DeviceEnrollment> {
        self.enrollments.get(user)
    }

    /// Puts `enrollment` back as the logged-in user's (a device that keeps its key after the
    /// server said the enrollment is gone); nothing happens with nobody logged in.
    pub fn restore_enrollment(&mut self, enrollment: DeviceEnrollment) {
        if let Some(user) = self.user().map(str::to_string) {
            self.enrollments.insert(user, enrollment);
        }
    }

    /// The request on screen, if any.
    pub fn showing(&self) -> Option<&OtpRequestResponse> {
        self.showing.as_ref().map(|s| &s.request)
    }

    /// Points the installation at another server or app client: the session ends, the device id
    /// and keys stay.
    pub fn reconfigure(&mut self, http: Http, app_client_id: &str) {
        self.http = http;
        self.app_client_id = app_client_id.to_string();
        self.token = None;
    }

    /// Ends the session; nothing is sent to the server.
    pub fn log_out(&mut self) {
        self.token = None;
    }

    /// Puts the request on screen away without answering (a cancelled request).
    pub fn dismiss(&mut self) -> Option<OtpRequestResponse> {
        let showing = self.showing.take()?;
        self.events.push(DeviceEvent::CloseAuthOtp);
        Some(showing.request)
    }

    /// Removes this device's enrollment on the server (`DELETE`) and forgets its key. A server
    /// that no longer knows the enrollment (9021) also makes the device forget it.
    pub async fn disenroll(&mut self) -> Result<(), DeviceError> {
        let user = self.user().ok_or(DeviceError::NotAuthenticated)?.to_string();
        let path = format!("{}/{}", paths::ENROLLMENTS, self.device_id);
        let (status, body) =
            self.http.send(Method::DELETE, &path, Auth::Bearer(self.bearer()?), Payload::Empty).await?;
        if status == 204 {
            self.enrollments.remove(&user);
            return Ok(());
        }
        let err = transcript::interpret::<serde_json::Value>(status, &body, &[204], "no content").err();
        let err = err.unwrap_or_else(|| PeerError::Unexpected {
            status,
            expected: "204".into(),
            body: body.clone(),
        });
        if err.api_error().map(|(_, code, _)| code)
            == Some(protocol::ErrorCode::MobileAuthenticationNotEnrolled.code())
        {
            self.enrollments.remove(&user);
        }
        Err(err.into())
    }

    /// The exchanges this device has made.
    pub fn transcript(&self) -> &transcript::Transcript {
        self.http.transcript()
    }

    /// Events shown so far.
    pub fn events(&self) -> &[DeviceEvent] {
        &self.events
    }

    fn bearer(&self) -> Result<&str, DeviceError> {
        self.access_token().ok_or(DeviceError::NotAuthenticated)
    }

    /// Logs `username` in with the token endpoint.
    pub async fn log_in(&mut self, username: &str, password: &str) -> Result<(), DeviceError> {
        let form = [
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
            ("client_id", self.app_client_id.as_str()),
        ];
        let (_, token): (_, TokenResponse) =
            self.http.call(Method::POST, paths::TOKEN, Auth::None, Payload::Form(&form), &[200]).await?;
        self.token = Some((username.to_string(), token.access_token));
        Ok(())
    }

    /// Enrolls with a new key pair; the key is kept only if the server accepts it.
    pub async fn enroll(&mut self) -> Result<EnrollmentResponse, DeviceError> {
        let key = KeyPair::generate(&mut self.rng);
        let csr = protocol::csr::create_csr(&key, &self.device_id.to_string())
            .map_err(|e| DeviceError::BadCertificate(e.to_string()))?;
        self.enroll_with(key, csr).await
    }

    /// Enrolls with a given key and CSR (a scenario may send a malformed or foreign one).
    pub async fn enroll_with(
        &mut self,
        key: KeyPair,
        csr: String,
    ) -> Result<EnrollmentResponse, DeviceError> {
        let body = serde_json::json!({ "device_id": self.device_id, "csr": csr });
        let token = self.bearer()?.to_string();
        let (_, response): (_, EnrollmentResponse) = self
            .http
            .call(Method::POST, paths::ENROLLMENTS, Auth::Bearer(&token), Payload::Json(&body), &[200, 201])
            .await?;
        check_certificate(&response, &key, self.device_id)?;
        let user = self.user().ok_or(DeviceError::NotAuthenticated)?.to_string();
        self.enrollments.insert(
            user,
            DeviceEnrollment {
                key,
                certificate: response.certificate.clone(),
                ca_certificate: response.ca_certificate.clone(),
                response: response.clone(),
            },
        );
        Ok(response)
    }

    /// The server's view of this device's enrollment.
    pub async fn fetch_enrollment(&self) -> Result<EnrollmentInfo, DeviceError> {
        let path = format!("{}/{}", paths::ENROLLMENTS, self.device_id);
        let (_, info) =
            self.http.call(Method::GET, &path, Auth::Bearer(self.bearer()?), Payload::Empty, &[200]).await?;
        Ok(info)
    }

    /// A server that answers 9021 or 9023 no longer knows this enrollment: an SDK forgets its
    /// key then, so `is_enrolled` turns false at the next exchange (docs/PROTOCOL.md DRV-008).
    pub fn forget_if_disenrolled(&mut self, error: &PeerError) {
        let gone = [
            protocol::ErrorCode::MobileAuthenticationNotEnrolled.code(),
            protocol::ErrorCode::MobileAuthenticationDisenrolled.code(),
        ];
        if let (Some((_, code, _)), Some(user)) = (error.api_error(), self.user().map(str::to_string))
            && gone.contains(&code)
        {
            self.enrollments.remove(&user);
        }
    }

    /// Reads the OTP from a QR image, as the camera would.
    pub fn scan(&self, image: &[u8]) -> Result<String, DeviceError> {
        // The report shows each image a device was given, as the camera saw it.
        self.http.transcript().record_image(image);
        qr::decode(image).map_err(|e| DeviceError::Qr(e.to_string()))
    }

    /// Fetches the request behind `otp` and shows it.
    pub async fn handle_otp(&mut self, otp: &str) -> Result<OtpRequestResponse, DeviceError> {
        let body = serde_json::json!({ "device_id": self.device_id, "otp": otp });
        let token = self.bearer()?.to_string();
        let (_, request): (_, OtpRequestResponse) = self
            .http
            .call(Method::POST, paths::OTP_REQUESTS, Auth::Bearer(&token), Payload::Json(&body), &[200])
            .await
            .inspect_err(|e| self.forget_if_disenrolled(e))?;
        self.events.push(DeviceEvent::OpenAuthOtp {
            transaction_id: request.transaction_id,
            message: request.message.clone(),
        });
        self.showing = Some(ShowingRequest { request: request.clone() });
        Ok(request)
    }

    /// The user decides; the device signs and answers with its current key, then closes the request.
    pub async fn decide(&mut self, answer: Answer) -> Result<AnswerResponse, DeviceError> {
        let key = self.enrollment().map(|e| e.key.clone()).ok_or(DeviceError::NotEnrolled)?;
        self.decide_signed_by(answer, &key).await
    }

    /// Answers the showing request with a signature by `key` (a scenario may use a foreign key).
    pub async fn decide_signed_by(
        &mut self,
        answer: Answer,
        key: &KeyPair,
    ) -> Result<AnswerResponse, DeviceError> {
        let showing = self.showing.take().ok_or(DeviceError::NothingShowing)?;
        let request = &showing.request;
        let signed = self.signed_answer(key, request.transaction_id, &request.challenge, answer);
        let result = self.send_answer(&signed).await;
        self.events.push(DeviceEvent::CloseAuthOtp);
        result
    }

    /// `answer` to `transaction_id`, signed by `key` over `challenge` and this device's id: the
    /// one way an answer of this device, right or of the scenario's making, is signed.
    pub fn signed_answer(
        &self,
        key: &KeyPair,
        transaction_id: Uuid,
        challenge: &str,
        answer: Answer,
    ) -> SignedAnswer {
        SignedAnswer::new(
            key,
            SigningParts {
                transaction_id,
                challenge: challenge.to_string(),
                answer,
                device_id: self.device_id,
            },
        )
    }

    /// Sends a signed answer as it is, whether or not a request is showing.
    pub async fn send_answer(&self, signed: &SignedAnswer) -> Result<AnswerResponse, DeviceError> {
        let parts = &signed.parts;
        self.answer_raw(parts.transaction_id, parts.answer.as_str(), &signed.signature).await
    }

    /// Sends an answer exactly as given, without a showing request (to test the server's checks).
    pub async fn answer_raw(
        &self,
        transaction_id: Uuid,
        answer: &str,
        signature_b64: &str,
    ) -> Result<AnswerResponse, DeviceError> {
        let body =
            serde_json::json!({ "device_id": self.device_id, "answer": answer, "signature": signature_b64 });
        let path = format!("{}/{transaction_id}/answer", paths::OTP_REQUESTS);
        let (_, response) = self
            .http
            .call(Method::POST, &path, Auth::Bearer(self.bearer()?), Payload::Json(&body), &[200])
            .await?;
        Ok(response)
    }
}

/// The certificate must certify this device's key, with CN = device id, and chain to the CA given.
/// Its validity period is not judged here: a device's clock need not agree with the server's.
fn check_certificate(
    response: &EnrollmentResponse,
    key: &KeyPair,
    device_id: Uuid,
) -> Result<(), DeviceError> {
    let bad = |m: String| DeviceError::BadCertificate(m);
    let anchor =
        TrustAnchor::from_pem(&response.ca_certificate).map_err(|e| bad(format!("ca_certificate: {e}")))?;
    let cert = anchor.verify_chain(&response.certificate).map_err(|e| bad(format!("certificate: {e}")))?;
    if cert.public_key != key.public_key() {
        return Err(bad("the certificate is for another key than the CSR's".into()));
    }
    if cert.device_id != device_id || response.device_id != device_id {
        return Err(bad(format!("the certificate is for device {}, not {device_id}", cert.device_id)));
    }
    Ok(())
}

/// Decodes an OTP locally, as an SDK checks it before calling the server.
pub fn check_otp_locally(otp: &str) -> Result<Otp, protocol::otp::OtpError> {
    Otp::decode(otp)
}

/// What a certificate says of itself that the end-entity profile fixes (ENR-003): its serial
/// number, its validity, whether it is a CA's and whether it allows digital signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateProfile {
    /// The certificate's DER (two certificates are the same when these are).
    pub der: Vec<u8>,
    /// The serial number's bytes.
    pub serial: Vec<u8>,
    /// The start of its validity.
    pub not_before: time::OffsetDateTime,
    /// The end of its validity.
    pub not_after: time::OffsetDateTime,
    /// basicConstraints' `cA`, when the extension is there.
    pub is_ca: Option<bool>,
    /// keyUsage's `digitalSignature`, when the extension is there.
    pub digital_signature: Option<bool>,
}

/// Why a certificate's profile could not be read.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// Not a PEM X.509 certificate.
    #[error("not a PEM X.509 certificate: {0}")]
    NotCertificate(String),
    /// An extension of the profile does not parse.
    #[error("the certificate's {extension} does not parse: {reason}")]
    Extension {
        /// Which one.
        extension: &'static str,
        /// Why.
        reason: String,
    },
}

/// Reads the profile of the PEM certificate `pem`.
pub fn certificate_profile(pem: &str) -> Result<CertificateProfile, ProfileError> {
    use x509_cert::der::{DecodePem as _, Encode as _};
    use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
    let cert = x509_cert::Certificate::from_pem(pem.as_bytes())
        .map_err(|e| ProfileError::NotCertificate(e.to_string()))?;
    let der = cert.to_der().map_err(|e| ProfileError::NotCertificate(e.to_string()))?;
    let tbs = cert.tbs_certificate();
    let extension = |extension| {
        move |e: x509_cert::der::Error| ProfileError::Extension { extension, reason: e.to_string() }
    };
    let constraints = tbs.get_extension::<BasicConstraints>().map_err(extension("basicConstraints"))?;
    let usage = tbs.get_extension::<KeyUsage>().map_err(extension("keyUsage"))?;
    Ok(CertificateProfile {
        der,
        serial: tbs.serial_number().as_bytes().to_vec(),
        not_before: time::OffsetDateTime::from(tbs.validity().not_before.to_system_time()),
        not_after: time::OffsetDateTime::from(tbs.validity().not_after.to_system_time()),
        is_ca: constraints.map(|(_, bc)| bc.ca),
        digital_signature: usage.map(|(_, ku)| ku.digital_signature()),
    })
}
