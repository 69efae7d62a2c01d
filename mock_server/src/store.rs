//! Where a server started with a state file keeps what outlives its process
//! ([`crate::core::durable::Durable`]): a redb database (pure Rust, ACID, each commit durable on
//! disk before it returns) holding the state as one JSON value. A change is saved in a write
//! transaction before the request that made it is answered, so a server killed at any moment has
//! lost no answered request. Each save writes the whole state: meant for tests and demonstrations
//! that must survive a restart, not for load.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase as _, ReadableTable as _, TableDefinition};

use crate::core::durable::Durable;

const STATE: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("state");
const KEY: &str = "server";

/// Why the state file cannot be used.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be opened, read or written.
    #[error("the state file {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// It holds something that is not a server's state.
    #[error("the state file {path} holds no server state this version reads: {reason}")]
    Foreign {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// An open state file.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    db: Database,
}

impl Store {
    /// Opens (or creates) the state file at `path`, with the state it holds, if any.
    pub fn open(path: &Path) -> Result<(Self, Option<Durable>), StoreError> {
        let io =
            |e: &dyn std::fmt::Display| StoreError::Io { path: path.to_path_buf(), reason: e.to_string() };
        let db = Database::create(path).map_err(|e| io(&e))?;
        let read = db.begin_read().map_err(|e| io(&e))?;
        let state =
            match read.open_table(STATE) {
                Err(redb::TableError::TableDoesNotExist(_)) => None,
                Err(e) => return Err(io(&e)),
                Ok(table) => match table.get(KEY).map_err(|e| io(&e))? {
                    None => None,
                    Some(bytes) => Some(serde_json::from_slice(bytes.value()).map_err(|e| {
                        StoreError::Foreign { path: path.to_path_buf(), reason: e.to_string() }
                    })?),
                },
            };
        drop(read);
        Ok((Self { path: path.to_path_buf(), db }, state))
    }

    /// Saves `state` in place of what the file held; returns once it is on disk.
    pub fn save(&self, state: &Durable) -> Result<(), StoreError> {
        let io =
            |e: &dyn std::fmt::Display| StoreError::Io { path: self.path.clone(), reason: e.to_string() };
        let bytes = serde_json::to_vec(state).map_err(|e| io(&e))?;
        let write = self.db.begin_write().map_err(|e| io(&e))?;
        {
            let mut table = write.open_table(STATE).map_err(|e| io(&e))?;
            table.insert(KEY, bytes.as_slice()).map_err(|e| io(&e))?;
        }
        write.commit().map_err(|e| io(&e))
    }
}
