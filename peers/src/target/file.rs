//! Target files: a server under test described in TOML, as `mobauth run --target FILE` reads it,
//! and the defaults `mobauth run --server URL` stands for.
//!
//! ```toml
//! name = "acme-token-server"          # the report's and the matrix's name for it (default: the URL)
//! base_url = "https://tokens.acme.test:8443"
//! enrollment_mode = "override_allowed" # optional: the server's mode is fixed at this one
//!
//! [app_client]
//! client_id = "mobauth-app"
//!
//! [api_client]
//! client_id = "portal"
//! client_secret = "portal-secret"
//!
//! [[users]]                            # test users, used in turn when there is no admin API
//! username = "alice"
//! password = "alice-password"
//!
//! [admin]                              # optional: the test-control API
//! token = "mobauth-admin"
//!
//! [tls]                                # optional: trust only this CA, or (insecure = true) any
//! ca_file = "acme-ca.pem"
//!
//! [timeouts]                           # optional, in milliseconds
//! connect_ms = 5000
//! request_ms = 10000
//!
//! [portal]                             # optional: where the server reaches the harness's
//! callback_host = "host.docker.internal" # callback receivers (default 127.0.0.1)
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use protocol::wire::EnrollmentMode;
use serde::Deserialize;

use super::{CallbackListen, UserCredentials};
use transcript::{ClientSettings, Trust};

/// The app client id, API client and users of `mobauth serve`'s server files, which
/// `--server URL` assumes.
const DEFAULT_APP_CLIENT: &str = "mobauth-app";
const DEFAULT_API_CLIENT: (&str, &str) = ("portal", "portal-secret");
const DEFAULT_USERS: [(&str, &str); 2] = [("alice", "alice-password"), ("bob", "bob-password")];
const DEFAULT_ADMIN_TOKEN: &str = "mobauth-admin";

/// A server under test as a target file describes it, checked and with its paths resolved.
#[derive(Debug, Clone)]
pub struct TargetFile {
    /// A short name for reports and the compatibility matrix.
    pub name: String,
    /// The base URL, without a trailing slash.
    pub base_url: String,
    /// The mobile app's public client id.
    pub app_client_id: String,
    /// The relying party's `(client_id, client_secret)`.
    pub api_client: (String, String),
    /// Test users the server already has, for scenarios on a target without the admin API.
    pub users: Vec<UserCredentials>,
    /// The admin token, when the server offers the test-control API.
    pub admin_token: Option<String>,
    /// The enrollment mode the server is fixed at, if it declares one.
    pub enrollment_mode: Option<EnrollmentMode>,
    /// TLS trust and timeouts.
    pub client: ClientSettings,
    /// Where the harness's portals listen for the server's callbacks.
    pub callback_listen: CallbackListen,
    /// Where the file was read from (`None` for `--server URL`).
    pub path: Option<PathBuf>,
}

/// Why a target file cannot be used.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum TargetFileError {
    /// The file cannot be read.
    #[error("cannot read the target file {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not TOML of the expected shape.
    #[error("the target file {path} is not valid: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, with the line.
        reason: String,
    },
    /// The CA file cannot be read or holds no certificate.
    #[error("the target file's tls.ca_file {path}: {reason}")]
    CaFile {
        /// The CA file.
        path: String,
        /// Why.
        reason: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: Option<String>,
    base_url: String,
    enrollment_mode: Option<EnrollmentMode>,
    #[serde(default)]
    app_client: Option<RawAppClient>,
    #[serde(default)]
    api_client: Option<RawApiClient>,
    #[serde(default)]
    users: Option<Vec<RawUser>>,
    #[serde(default)]
    admin: Option<RawAdmin>,
    #[serde(default)]
    tls: RawTls,
    #[serde(default)]
    timeouts: RawTimeouts,
    #[serde(default)]
    portal: RawPortal,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPortal {
    callback_host: Option<String>,
    callback_bind: Option<std::net::IpAddr>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAppClient {
    client_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApiClient {
    client_id: String,
    client_secret: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    username: String,
    password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    token: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    ca_file: Option<PathBuf>,
    #[serde(default)]
    insecure: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeouts {
    #[serde(default = "default_connect_ms")]
    connect_ms: u64,
    #[serde(default = "default_request_ms")]
    request_ms: u64,
}

impl Default for RawTimeouts {
    fn default() -> Self {
        Self { connect_ms: default_connect_ms(), request_ms: default_request_ms() }
    }
}

fn default_connect_ms() -> u64 {
    5_000
}

fn default_request_ms() -> u64 {
    10_000
}

impl TargetFile {
    /// Reads and checks the target file at `path`; a relative `tls.ca_file` is relative to the
    /// file's folder.
    pub fn load(path: &Path) -> Result<Self, TargetFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| TargetFileError::Read { path: shown.clone(), reason: e.to_string() })?;
        let mut file = Self::parse(&text, &shown, path.parent().unwrap_or(Path::new(".")))?;
        file.path = Some(path.to_path_buf());
        Ok(file)
    }

    /// Parses a target file's text; `shown` names it in errors, `dir` anchors relative paths.
    pub fn parse(text: &str, shown: &str, dir: &Path) -> Result<Self, TargetFileError> {
        let invalid = |reason: String| TargetFileError::Invalid { path: shown.to_string(), reason };
        let raw: Raw = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let base_url = check_url(&raw.base_url).map_err(invalid)?;
        let nonempty = |what: &str, value: &str| {
            if value.is_empty() { Err(invalid(format!("{what} must not be empty"))) } else { Ok(()) }
        };
        let app_client_id = match raw.app_client {
            Some(app) => {
                nonempty("app_client.client_id", &app.client_id)?;
                app.client_id
            }
            None => DEFAULT_APP_CLIENT.to_string(),
        };
        let api_client = match raw.api_client {
            Some(api) => {
                nonempty("api_client.client_id", &api.client_id)?;
                (api.client_id, api.client_secret)
            }
            None => (DEFAULT_API_CLIENT.0.to_string(), DEFAULT_API_CLIENT.1.to_string()),
        };
        let users = match raw.users {
            Some(users) => {
                let mut seen = std::collections::HashSet::new();
                for user in &users {
                    nonempty("users.username", &user.username)?;
                    if !seen.insert(user.username.as_str()) {
                        return Err(invalid(format!("the user {:?} is listed twice", user.username)));
                    }
                }
                users
                    .into_iter()
                    .map(|u| UserCredentials { username: u.username, password: u.password })
                    .collect()
            }
            None => default_users(),
        };
        let admin_token = match raw.admin {
            Some(admin) => {
                nonempty("admin.token", &admin.token)?;
                Some(admin.token)
            }
            None => None,
        };
        let trust = match (raw.tls.ca_file, raw.tls.insecure) {
            (Some(_), true) => {
                return Err(invalid("tls: give either ca_file or insecure = true, not both".into()));
            }
            (Some(ca_file), false) => Trust::Only(read_ca_file(&dir.join(ca_file))?),
            (None, true) => Trust::Insecure,
            (None, false) => Trust::System,
        };
        if raw.timeouts.connect_ms == 0 || raw.timeouts.request_ms == 0 {
            return Err(invalid("timeouts must be at least 1 ms".into()));
        }
        let client = ClientSettings {
            request_timeout: Duration::from_millis(raw.timeouts.request_ms),
            connect_timeout: Duration::from_millis(raw.timeouts.connect_ms),
            trust,
        };
        let callback_listen = match (raw.portal.callback_host, raw.portal.callback_bind) {
            (None, None) => CallbackListen::default(),
            (Some(host), bind) => {
                if host.is_empty() || host.contains(['/', ' ', '@']) {
                    return Err(invalid(format!(
                        "portal.callback_host must be a host name or address, got {host:?}"
                    )));
                }
                // A host other machines use to reach this one: listen on every interface unless
                // told otherwise.
                CallbackListen {
                    bind: bind.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into()),
                    host: Some(host),
                }
            }
            (None, Some(bind)) => CallbackListen { bind, host: None },
        };
        Ok(Self {
            callback_listen,
            name: raw.name.filter(|n| !n.is_empty()).unwrap_or_else(|| base_url.clone()),
            base_url,
            app_client_id,
            api_client,
            users,
            admin_token,
            enrollment_mode: raw.enrollment_mode,
            client,
            path: None,
        })
    }

    /// What `--server URL` stands for: the clients, users and admin token of `mobauth serve`'s
    /// server files, the system's roots, the default timeouts.
    pub fn for_url(url: &str) -> Result<Self, TargetFileError> {
        let base_url =
            check_url(url).map_err(|reason| TargetFileError::Invalid { path: "--server".into(), reason })?;
        Ok(Self {
            name: base_url.clone(),
            base_url,
            app_client_id: DEFAULT_APP_CLIENT.to_string(),
            api_client: (DEFAULT_API_CLIENT.0.to_string(), DEFAULT_API_CLIENT.1.to_string()),
            users: default_users(),
            admin_token: Some(DEFAULT_ADMIN_TOKEN.to_string()),
            enrollment_mode: None,
            client: ClientSettings {
                request_timeout: Duration::from_millis(default_request_ms()),
                connect_timeout: Duration::from_millis(default_connect_ms()),
                trust: Trust::System,
            },
            callback_listen: CallbackListen::default(),
            path: None,
        })
    }
}

fn default_users() -> Vec<UserCredentials> {
    DEFAULT_USERS
        .iter()
        .map(|(username, password)| UserCredentials {
            username: (*username).to_string(),
            password: (*password).to_string(),
        })
        .collect()
}

/// An `http://` or `https://` URL with a host and no query or fragment, without a trailing slash.
fn check_url(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("base_url must start with http:// or https://, got {url:?}"))?;
    if rest.split('/').next().is_none_or(str::is_empty) {
        return Err(format!("base_url has no host: {url:?}"));
    }
    if rest.contains(['?', '#', ' ']) {
        return Err(format!("base_url must not hold a query, a fragment or spaces: {url:?}"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The PEM certificates of a CA file.
fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, TargetFileError> {
    let error = |reason: String| TargetFileError::CaFile { path: path.display().to_string(), reason };
    let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| error(e.to_string()))?;
    if certs.is_empty() {
        return Err(error("holds no PEM certificate".into()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TargetFile, String> {
        TargetFile::parse(text, "t.toml", Path::new(".")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_minimal_file_takes_the_defaults() {
        let file = parse("base_url = \"http://127.0.0.1:8080/\"").expect("valid");
        assert_eq!(file.base_url, "http://127.0.0.1:8080");
        assert_eq!(file.name, "http://127.0.0.1:8080");
        assert_eq!(file.app_client_id, "mobauth-app");
        assert_eq!(file.api_client, ("portal".into(), "portal-secret".into()));
        assert_eq!(file.users.len(), 2);
        assert_eq!(file.admin_token, None);
        assert_eq!(file.enrollment_mode, None);
        assert!(matches!(file.client.trust, Trust::System));
        assert_eq!(file.client.request_timeout, Duration::from_secs(10));
    }

    #[test]
    fn a_callback_host_listens_on_every_interface_unless_told() {
        let file = parse("base_url = \"http://x\"\n[portal]\ncallback_host = \"host.docker.internal\"")
            .expect("valid");
        assert_eq!(file.callback_listen.host.as_deref(), Some("host.docker.internal"));
        assert_eq!(file.callback_listen.bind, std::net::IpAddr::from([0, 0, 0, 0]));
        let file = parse(
            "base_url = \"http://x\"\n[portal]\ncallback_host = \"10.0.0.5\"\ncallback_bind = \"10.0.0.5\"",
        )
        .expect("valid");
        assert_eq!(file.callback_listen.bind, std::net::IpAddr::from([10, 0, 0, 5]));
        assert_eq!(
            parse("base_url = \"http://x\"").expect("valid").callback_listen,
            CallbackListen::default()
        );
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        let table = [
            ("", "missing field `base_url`"),
            ("base_url = \"ftp://x\"", "must start with http:// or https://"),
            ("base_url = \"http://\"", "has no host"),
            ("base_url = \"http://x/?a=1\"", "must not hold a query"),
            ("base_url = \"http://x\"\nport = 1", "unknown field `port`"),
            ("base_url = \"http://x\"\nenrollment_mode = \"two\"", "unknown variant `two`"),
            ("base_url = \"http://x\"\n[admin]\ntoken = \"\"", "admin.token must not be empty"),
            ("base_url = \"http://x\"\n[tls]\nca_file = \"a.pem\"\ninsecure = true", "not both"),
            ("base_url = \"http://x\"\n[tls]\nca_file = \"/nonexistent/ca.pem\"", "tls.ca_file"),
            ("base_url = \"http://x\"\n[timeouts]\nrequest_ms = 0", "at least 1 ms"),
            ("base_url = \"http://x\"\n[portal]\ncallback_host = \"a/b\"", "must be a host name"),
            ("base_url = \"http://x\"\n[portal]\ncallback_bind = \"nowhere\"", "invalid IP address"),
            (
                "base_url = \"http://x\"\n[[users]]\nusername = \"a\"\npassword = \"p\"\n[[users]]\nusername = \"a\"\npassword = \"q\"",
                "listed twice",
            ),
        ];
        for (text, expected) in table {
            match parse(text) {
                Ok(file) => panic!("{text:?} was accepted: {file:?}"),
                Err(e) => assert!(e.contains(expected), "{text:?}: expected {expected:?} in {e:?}"),
            }
        }
    }
}
