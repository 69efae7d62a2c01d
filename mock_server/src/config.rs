//! Server files: the TOML a standalone or in-process mock server starts from
//! (fixtures/servers/*.toml).

use std::path::Path;

use protocol::wire::{Fault, ServerConfig};
use serde::Deserialize;

use crate::core::Seed;
use crate::readings::{DefaultOtpMessage, Readings};

/// The admin token when a file names none.
pub const DEFAULT_ADMIN_TOKEN: &str = "mobauth-admin";

/// A server file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFile {
    /// Bearer token of the admin API.
    #[serde(default)]
    pub admin_token: Option<String>,
    /// Seed of the server's randomness (ids, OTPs, challenges, keys, fault dice).
    #[serde(default)]
    pub seed: Option<u64>,
    /// The admin settings (contract section 6).
    #[serde(default)]
    pub settings: ServerConfig,
    /// Users.
    #[serde(default)]
    pub users: Vec<FileUser>,
    /// Relying parties.
    #[serde(default)]
    pub api_clients: Vec<FileApiClient>,
    /// App clients.
    #[serde(default)]
    pub app_clients: Vec<FileAppClient>,
    /// Faults the server injects from the start, as `PUT /_admin/v1/faults` would install them
    /// with `?seed=` the file's seed; a reset puts them back. For a server that breaks a rule on
    /// purpose (fixtures/servers/faulty.toml).
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Which legal reading of the contract to take wherever it leaves a choice; every default is
    /// the mock's own (docs/PROTOCOL.md). For checking that a suite accepts other readings
    /// (fixtures/servers/alternative-readings.toml).
    #[serde(default)]
    pub readings: Readings,
}

/// A user of a server file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUser {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A relying party of a server file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileApiClient {
    /// Its id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
}

/// An app client of a server file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAppClient {
    /// Its id.
    pub client_id: String,
}

/// Why a server file could not be used.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid server file.
    #[error("{path} is not a valid server file: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong, with line and column.
        message: String,
    },
}

impl ServerFile {
    /// Parses a server file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let parse_error = |message: String| ConfigError::Parse { path: origin.to_string(), message };
        let mut file: Self = toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
        crate::faults::Faults::validate(&file.faults).map_err(parse_error)?;
        if file.readings.default_otp_message != DefaultOtpMessage::Standard {
            // Settings that name no OTP types get the readings' default one.
            let table: toml::Table = toml::from_str(text).map_err(|e| parse_error(e.to_string()))?;
            let names_types = table.get("settings").and_then(|s| s.get("otp_types")).is_some();
            if !names_types {
                file.settings.otp_types = file.readings.default_otp_types();
            }
        }
        Ok(file)
    }

    /// Reads and parses a server file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// What the server starts with and returns to on reset.
    pub fn seed(&self) -> Seed {
        Seed {
            config: self.settings.clone(),
            users: self.users.iter().map(|u| (u.username.clone(), u.password.clone())).collect(),
            api_clients: self
                .api_clients
                .iter()
                .map(|c| (c.client_id.clone(), c.client_secret.clone()))
                .collect(),
            app_clients: self.app_clients.iter().map(|c| c.client_id.clone()).collect(),
        }
    }
}
