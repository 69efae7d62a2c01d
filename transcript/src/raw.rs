//! Raw requests: a method, a path, headers and body bytes sent exactly as a scenario wrote them,
//! for the rules about the wire itself (content types, body sizes, routing, credentials) that a
//! well-behaved peer never breaks. They go through the scenario's [`Http`], so every raw exchange
//! lands in its [`Transcript`](crate::Transcript) like any other, secrets redacted, bodies cut.

use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::de::DeserializeOwned;

use crate::{Exchange, Http, PeerError, error_chain, header_list, interpret};

/// How long a raw exchange may take unless its request says otherwise: long enough for a server
/// to read a body over its size limit, short enough that a server that never answers ends the step.
pub const RAW_TIMEOUT: Duration = Duration::from_secs(10);

/// A request sent exactly as written: nothing is added to its headers but what HTTP/1.1 itself
/// needs on the connection (`Host`, `Content-Length`), so a request without a `Content-Type`
/// goes without one, and no redirect is followed (a redirect is an answer to check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRequest {
    /// The method as written (`GET`, `POST`, ...).
    pub method: String,
    /// The path and query, after the server's base URL.
    pub path: String,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes; `None` sends no body.
    pub body: Option<Vec<u8>>,
    /// How long the exchange may take, from connecting to the end of the answer's body.
    pub timeout: Duration,
}

impl RawRequest {
    /// `method path`, with no header, no body and [`RAW_TIMEOUT`].
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
            timeout: RAW_TIMEOUT,
        }
    }

    /// The request with one more header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The request with these headers, after any it has.
    pub fn headers<'a>(mut self, headers: impl IntoIterator<Item = &'a (String, String)>) -> Self {
        self.headers.extend(headers.into_iter().cloned());
        self
    }

    /// The request with this body, its exact bytes.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The request with another bound on its exchange.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `METHOD path`, as failure messages name the request.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The value of an `Authorization` header with HTTP Basic credentials: `credentials` (written
/// `<id>:<secret>`) in base64 as they are, not form-encoded first, so a scenario can send
/// credentials a well-behaved client never would.
pub fn basic_authorization(credentials: &str) -> String {
    format!("Basic {}", STANDARD.encode(credentials))
}

/// An HTTP answer as it came.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// Status.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as text, any byte that is not UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        self.json_as()
    }

    /// The body as a `T`, when it reads as one.
    pub fn json_as<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The value of the header `name`, when it is there and is text.
    pub fn header(&self, name: impl reqwest::header::AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// Why a raw request got no whole answer.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RawFailure {
    /// The request cannot be sent as written (a method or header that is not HTTP): a defect of
    /// whoever wrote it, not of the server.
    #[error("the request cannot be sent as written: {0}")]
    Unsendable(String),
    /// No answer: the connection was refused or dropped, or the exchange timed out.
    #[error("no answer: {0}")]
    NoAnswer(String),
    /// The status and headers came, then the body broke off.
    #[error("the answer's body broke off: {reason}")]
    BodyBrokeOff {
        /// The status that came.
        status: u16,
        /// Why the body ended early.
        reason: String,
    },
    /// The status and headers came, then more body than the harness reads
    /// ([`crate::MAX_RESPONSE_BODY`]).
    #[error("the answer's body is longer than the {} bytes the harness reads", crate::MAX_RESPONSE_BODY)]
    BodyTooLarge {
        /// The status that came.
        status: u16,
    },
}

/// One raw exchange: which request, what came and how long it took. The same exchange is in the
/// transcript, redacted; this one keeps what came whole, for checks.
#[derive(Debug, Clone)]
pub struct RawExchange {
    /// `METHOD path`, for failure messages.
    pub request: String,
    /// The answer, or why none came.
    pub outcome: Result<RawResponse, RawFailure>,
    /// From sending the request to the end of the answer's body.
    pub elapsed: Duration,
}

impl RawExchange {
    /// The answer as a peer's call reads it ([`interpret`]): a 2xx's JSON body (null when empty)
    /// as a success, an error body as a refusal, anything else [`PeerError::Unexpected`], and no
    /// whole answer [`PeerError::Unreachable`].
    pub fn peer_outcome(&self) -> Result<serde_json::Value, PeerError> {
        let response = self.outcome.as_ref().map_err(|failure| match failure {
            RawFailure::BodyTooLarge { status } => PeerError::Unexpected {
                status: *status,
                expected: format!("an answer of at most {} bytes", crate::MAX_RESPONSE_BODY),
                body: crate::too_large(),
            },
            _ => PeerError::Unreachable { url: self.request.clone(), reason: failure.to_string() },
        })?;
        let success: &[u16] = if (200..300).contains(&response.status) { &[response.status] } else { &[] };
        interpret(response.status, &response.text(), success, "JSON value").map(|(_, value)| value)
    }
}

impl Http {
    /// Sends `request` to this client's server exactly as written and records the exchange in
    /// the transcript: the headers and body bytes as sent, what came (or why nothing did).
    pub async fn send_raw(&self, request: &RawRequest) -> RawExchange {
        let url = format!("{}{}", self.base, request.path);
        let started = Instant::now();
        // The headers as written, until the client has read them as it sends them.
        let mut request_headers: Vec<(String, String)> =
            request.headers.iter().map(|(name, value)| (name.clone(), value.clone())).collect();
        let mut response_headers = Vec::new();
        let outcome = match self.build_raw(request, &url) {
            Err(failure) => Err(failure),
            Ok(built) => {
                request_headers = header_list(built.headers());
                match self.client.execute(built).await {
                    Err(e) => Err(RawFailure::NoAnswer(error_chain(&e))),
                    Ok(response) => {
                        let status = response.status().as_u16();
                        let headers = response.headers().clone();
                        response_headers = header_list(&headers);
                        match crate::read_body(response).await {
                            Ok(body) => Ok(RawResponse { status, headers, body }),
                            Err(crate::BodyFailure::TooLarge) => Err(RawFailure::BodyTooLarge { status }),
                            Err(crate::BodyFailure::Broke(reason)) => {
                                Err(RawFailure::BodyBrokeOff { status, reason })
                            }
                        }
                    }
                }
            }
        };
        let elapsed = started.elapsed();
        let (status, response_body) = match &outcome {
            Ok(response) => (Some(response.status), response.text()),
            Err(
                failure @ (RawFailure::BodyBrokeOff { status, .. } | RawFailure::BodyTooLarge { status }),
            ) => (Some(*status), failure.to_string()),
            Err(failure) => (None, failure.to_string()),
        };
        let request_body = request.body.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
        self.transcript.push(Exchange {
            method: request.method.clone(),
            url,
            request_headers,
            request_body: request_body.into_owned(),
            status,
            response_headers,
            response_body,
            at: SystemTime::now(),
            elapsed,
        });
        RawExchange { request: request.line(), outcome, elapsed }
    }

    /// The client's request for `request`: its method, headers and bytes, its timeout.
    fn build_raw(&self, request: &RawRequest, url: &str) -> Result<reqwest::Request, RawFailure> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| {
            RawFailure::Unsendable(format!("{:?} is not an HTTP method: {e}", request.method))
        })?;
        let mut builder = self.client.request(method, url).timeout(request.timeout);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        builder.build().map_err(|e| RawFailure::Unsendable(error_chain(&e)))
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpListener;

    use super::*;
    use crate::Transcript;

    const TOKEN_ANSWER: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: sid=42\r\n\
                                Content-Length: 46\r\n\r\n{\"access_token\":\"tok-1\",\"token_type\":\"Bearer\"}";
    const REFUSAL: &str =
        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 26\r\n\r\n{\"error\":\"invalid_client\"}";
    const REDIRECT: &str = "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n";

    /// What a server on this machine does with the one connection it takes.
    #[derive(Debug, Clone, Copy)]
    enum Server {
        /// Reads the request and answers these bytes.
        Answers(&'static str),
        /// Takes no connection: the port is bound but nobody listens, so connecting is refused.
        Refuses,
        /// Reads the request and never answers.
        Silent,
        /// Answers a head promising more body than it sends, then closes.
        BreaksOff,
        /// Answers a chunked body of 100 MB, or until the client stops reading.
        Floods,
    }

    /// Starts `server` on 127.0.0.1:0; gives its base URL and, once the exchange is over, the
    /// request bytes it read. The unlistened socket is returned so its port stays bound.
    async fn start(
        server: Server,
    ) -> (String, tokio::task::JoinHandle<Vec<u8>>, Option<tokio::net::TcpSocket>) {
        if let Server::Refuses = server {
            let socket = tokio::net::TcpSocket::new_v4().expect("this machine makes TCP sockets");
            socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("a local port is free");
            let port = socket.local_addr().expect("a bound socket has an address").port();
            return (format!("http://127.0.0.1:{port}"), tokio::spawn(async { Vec::new() }), Some(socket));
        }
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("a local port is free");
        let base = format!("http://{}", listener.local_addr().expect("a listener has an address"));
        let task = tokio::spawn(async move {
            let Ok((mut stream, _)) = listener.accept().await else { return Vec::new() };
            let request = read_request(&mut stream).await;
            let answer = match server {
                Server::Answers(answer) => answer,
                Server::BreaksOff => "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\"",
                Server::Floods => {
                    let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
                    let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
                    let mut written = stream.write_all(head.as_bytes()).await;
                    // 1,600 chunks of 64 KiB: 100 MB, unless the client hangs up first.
                    for _ in 0..1_600 {
                        if written.is_err() {
                            break;
                        }
                        written = stream.write_all(chunk.as_bytes()).await;
                    }
                    return request;
                }
                Server::Silent => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    return request;
                }
                Server::Refuses => unreachable!("a refusing server takes no connection"),
            };
            // The client may have given up already; what it read is the test's business.
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
            request
        });
        (base, task, None)
    }

    /// Reads one request: its head, then as many body bytes as its `Content-Length` says.
    async fn read_request(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let text = String::from_utf8_lossy(&bytes).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .filter_map(|line| line.split_once(':'))
                    .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if bytes.len() >= end + 4 + length {
                    return bytes;
                }
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return bytes,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The parts of a recorded exchange a report shows, but when and how long.
    type Seen = (String, String, Vec<(String, String)>, String, Option<u16>, Vec<(String, String)>, String);

    /// `text` with each mask's hash (this process's own) left out: which values are masked is
    /// what these tables check; that masks tell values apart is `a_secret_seen_once_is_masked_everywhere`'s.
    fn unkeyed(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("[redacted:") {
            out.push_str(&rest[..at]);
            out.push_str("[redacted]");
            rest = rest[at..].split_once(']').map_or("", |(_, after)| after);
        }
        out.push_str(rest);
        out
    }

    fn seen(exchange: &Exchange) -> Seen {
        let headers =
            |list: &[(String, String)]| list.iter().map(|(n, v)| (n.clone(), unkeyed(v))).collect::<Vec<_>>();
        let exchange = &Exchange {
            request_headers: headers(&exchange.request_headers),
            response_headers: headers(&exchange.response_headers),
            request_body: unkeyed(&exchange.request_body),
            response_body: unkeyed(&exchange.response_body),
            ..exchange.clone()
        };
        let mut url = exchange.url.clone();
        // The port is the test's choice; the path is what is checked.
        if let Some(at) = url.find("/x") {
            url.replace_range(..at, "http://server");
        }
        (
            exchange.method.clone(),
            url,
            exchange.request_headers.clone(),
            exchange.request_body.clone(),
            exchange.status,
            exchange.response_headers.clone(),
            exchange.response_body.clone(),
        )
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect()
    }

    #[tokio::test]
    async fn a_raw_exchange_is_in_the_transcript_as_sent_and_redacted() {
        let form = "grant_type=password&username=alice&password=s3cret&client_id=app";
        let token_headers =
            [("content-type", "application/json"), ("set-cookie", "[redacted]"), ("content-length", "46")];
        let token_body = r#"{"access_token":"[redacted]","token_type":"Bearer"}"#;
        // (server, request, what the transcript shows of it)
        let table: Vec<(Server, RawRequest, Seen)> = vec![
            (
                Server::Answers(TOKEN_ANSWER),
                RawRequest::new("POST", "/x/token")
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form),
                (
                    "POST".into(),
                    "http://server/x/token".into(),
                    pairs(&[("content-type", "application/x-www-form-urlencoded")]),
                    "grant_type=password&username=alice&password=[redacted]&client_id=app".into(),
                    Some(200),
                    pairs(&token_headers),
                    token_body.into(),
                ),
            ),
            (
                Server::Answers(REFUSAL),
                RawRequest::new("GET", "/x/enabled")
                    .header("Authorization", basic_authorization("portal:secret")),
                (
                    "GET".into(),
                    "http://server/x/enabled".into(),
                    pairs(&[("authorization", "Basic [redacted]")]),
                    String::new(),
                    Some(401),
                    pairs(&[("content-length", "26")]),
                    r#"{"error":"invalid_client"}"#.into(),
                ),
            ),
            (
                // Bytes that are not a form nor JSON, with no Content-Type: sent as they are.
                Server::Answers(REDIRECT),
                RawRequest::new("PUT", "/x/config")
                    .header("Authorization", "Bearer adm-1")
                    .body(&br#"{"client_secret": "zz", "access_token" : "t", "n": 1}"#[..]),
                (
                    "PUT".into(),
                    "http://server/x/config".into(),
                    pairs(&[("authorization", "Bearer [redacted]")]),
                    r#"{"client_secret": "[redacted]", "access_token" : "[redacted]", "n": 1}"#.into(),
                    Some(302),
                    pairs(&[("location", "/elsewhere"), ("content-length", "0")]),
                    String::new(),
                ),
            ),
            (
                Server::Answers(TOKEN_ANSWER),
                RawRequest::new("POST", "/x/token")
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body("client_id=portal&client_secret=hush"),
                (
                    "POST".into(),
                    "http://server/x/token".into(),
                    pairs(&[("content-type", "application/x-www-form-urlencoded")]),
                    "client_id=portal&client_secret=[redacted]".into(),
                    Some(200),
                    pairs(&token_headers),
                    token_body.into(),
                ),
            ),
        ];
        for (server, request, expected) in table {
            let (base, task, _socket) = start(server).await;
            let transcript = Transcript::default();
            let http = Http::new(&base, Duration::from_secs(5), transcript.clone());
            let exchange = http.send_raw(&request).await;
            let sent = task.await.expect("the server task ends");
            let recorded: Vec<Seen> = transcript.reported_exchanges().iter().map(seen).collect();
            // The body went as its exact bytes, and no header was added but the connection's own.
            let body = request.body.clone().unwrap_or_default();
            let added_type = !request.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                && String::from_utf8_lossy(&sent).to_ascii_lowercase().contains("content-type");
            assert_eq!(
                (recorded, exchange.outcome.map(|r| r.status).ok(), sent.ends_with(&body), added_type),
                (vec![expected.clone()], expected.4, true, false),
                "{}",
                request.line()
            );
        }
    }

    #[tokio::test]
    async fn an_exchange_without_a_whole_answer_is_recorded_with_why() {
        // (server, the status recorded, which failure, what the recorded body begins with)
        let table = [
            (Server::Refuses, None, "NoAnswer", "no answer: "),
            (Server::Silent, None, "NoAnswer", "no answer: "),
            (Server::BreaksOff, Some(200), "BodyBrokeOff", "the answer's body broke off: "),
            (Server::Floods, Some(200), "BodyTooLarge", "the answer's body is longer than the 1048576 bytes"),
        ];
        for (server, status, failure, body) in table {
            let (base, _task, _socket) = start(server).await;
            let transcript = Transcript::default();
            let http = Http::new(&base, Duration::from_secs(5), transcript.clone());
            let request = RawRequest::new("GET", "/x/status").timeout(Duration::from_millis(300));
            let exchange = http.send_raw(&request).await;
            let which = match &exchange.outcome {
                Ok(_) => "an answer",
                Err(RawFailure::NoAnswer(_)) => "NoAnswer",
                Err(RawFailure::BodyBrokeOff { .. }) => "BodyBrokeOff",
                Err(RawFailure::BodyTooLarge { .. }) => "BodyTooLarge",
                Err(RawFailure::Unsendable(_)) => "Unsendable",
            };
            let recorded: Vec<(Option<u16>, bool, bool)> = transcript
                .exchanges()
                .iter()
                .map(|e| (e.status, e.response_body.starts_with(body), e.url.ends_with("/x/status")))
                .collect();
            assert_eq!((which, recorded), (failure, vec![(status, true, true)]), "{server:?}");
            // No whole answer reads as unreachable; an answer too long to read is the peer's fault.
            let read_as = match exchange.peer_outcome() {
                Err(PeerError::Unreachable { .. }) => "Unreachable",
                Err(PeerError::Unexpected { status: 200, .. }) => "Unexpected 200",
                _ => "something else",
            };
            let expected = if failure == "BodyTooLarge" { "Unexpected 200" } else { "Unreachable" };
            assert_eq!(read_as, expected, "{server:?}");
        }
    }

    /// The typed path reads no more of a body than the raw one: an endless answer is the peer's
    /// misbehaviour, recorded with what was cut.
    #[tokio::test]
    async fn an_endless_answer_to_a_call_is_unexpected_and_not_read_on() {
        let (base, _task, _socket) = start(Server::Floods).await;
        let transcript = Transcript::default();
        let http = Http::new(&base, Duration::from_secs(5), transcript.clone());
        let outcome = http
            .call::<serde_json::Value>(
                reqwest::Method::GET,
                "/x/status",
                crate::Auth::None,
                crate::Payload::Empty,
                &[200],
            )
            .await;
        let Err(PeerError::Unexpected { status, expected, body }) = outcome else {
            panic!("expected an unexpected answer, got {outcome:?}");
        };
        assert_eq!(
            (status, expected.as_str(), body.as_str()),
            (200, "an answer of at most 1048576 bytes", "a body of more than 1048576 bytes (not read on)")
        );
        let recorded: Vec<Option<u16>> = transcript.exchanges().iter().map(|e| e.status).collect();
        assert_eq!(recorded, vec![Some(200)], "the exchange is recorded with the status that came");
    }

    #[tokio::test]
    async fn a_request_that_is_not_http_is_recorded_unsent() {
        // (method, header name, which failure)
        let table = [("GET", "Bad Name", "Unsendable"), ("G E T", "X-Ok", "Unsendable")];
        for (method, header, failure) in table {
            let transcript = Transcript::default();
            let http = Http::new("http://127.0.0.1:9", Duration::from_secs(1), transcript.clone());
            let exchange = http.send_raw(&RawRequest::new(method, "/x").header(header, "v")).await;
            let which = match &exchange.outcome {
                Err(RawFailure::Unsendable(_)) => "Unsendable",
                _ => "something else",
            };
            assert_eq!((which, transcript.exchanges().len()), (failure, 1), "{method} with {header}");
        }
    }

    #[test]
    fn raw_answers_read_as_a_peers_call_would() {
        let response = |status, body: &str| RawExchange {
            request: "GET /x".into(),
            outcome: Ok(RawResponse { status, headers: Default::default(), body: body.as_bytes().to_vec() }),
            elapsed: Duration::ZERO,
        };
        let refusal = r#"{"error_code":9016,"error_type":"DEVICE_ALREADY_ENROLLED","error_message":"x"}"#;
        // (status, body, what the outcome reads as)
        let table = [
            (200, r#"{"a":1}"#, "success"),
            (204, "", "success"),
            (409, refusal, "refused 409 9016"),
            (401, r#"{"error":"invalid_client"}"#, "oauth refused 401"),
            (500, "<html>", "unexpected 500"),
        ];
        for (status, body, expected) in table {
            let read = match response(status, body).peer_outcome() {
                Ok(_) => "success".to_string(),
                Err(PeerError::Refused { status, body }) => format!("refused {status} {}", body.error_code),
                Err(PeerError::OAuthRefused { status, .. }) => format!("oauth refused {status}"),
                Err(PeerError::Unexpected { status, .. }) => format!("unexpected {status}"),
                Err(other) => format!("{other}"),
            };
            assert_eq!(read, expected, "{status} {body}");
        }
    }
}
