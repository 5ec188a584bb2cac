//! Database URLs: `sqlite://PATH` (or a bare path) and `postgres://...`.

use crate::{Store, StoreError};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<DatabaseUrl, StoreError> {
        let u = url.trim();
        if u.is_empty() {
            return Err(StoreError::BadUrl("empty database URL".into()));
        }
        if u.starts_with("postgres://") || u.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(u.to_string()));
        }
        if let Some(path) = u
            .strip_prefix("sqlite://")
            .or_else(|| u.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(StoreError::BadUrl("sqlite:// needs a file path".into()));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if u.contains("://") {
            return Err(StoreError::BadUrl(format!(
                "'{u}': use sqlite://PATH or postgres://USER@HOST/DB"
            )));
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(u)))
    }

    /// The directory beside the database where mfalens keeps its local signing key.
    pub fn data_dir(&self) -> Option<PathBuf> {
        match self {
            DatabaseUrl::Sqlite(p) => Some(
                p.parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from(".")),
            ),
            DatabaseUrl::Postgres(_) => None,
        }
    }

    /// For logs: the URL without a password.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => redact_password(u),
        }
    }
}

fn redact_password(u: &str) -> String {
    let Some((scheme, rest)) = u.split_once("://") else {
        return u.to_string();
    };
    match rest.split_once('@') {
        Some((cred, host)) if cred.contains(':') => {
            let user = cred.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => u.to_string(),
    }
}

/// Opens (creating and migrating as needed) the store a URL names.
pub async fn open(url: &DatabaseUrl) -> Result<Arc<dyn Store>, StoreError> {
    match url {
        DatabaseUrl::Sqlite(path) => Ok(Arc::new(crate::sqlite::SqliteStore::open(path).await?)),
        DatabaseUrl::Postgres(url) => {
            Ok(Arc::new(crate::postgres::PostgresStore::open(url).await?))
        }
    }
}

/// Brings the schema of the database a URL names up to date without serving anything (for a
/// `mfalens migrate` step); returns the schema version now in force. Refuses a newer schema.
pub async fn migrate(url: &DatabaseUrl) -> Result<i64, StoreError> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            drop(crate::sqlite::SqliteStore::open(path).await?);
            Ok(crate::sqlite::schema_version())
        }
        DatabaseUrl::Postgres(url) => Ok(crate::postgres::migrate(url).await?.to),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./x/m.db").unwrap(),
            DatabaseUrl::Sqlite("./x/m.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("m.db").unwrap().data_dir(),
            Some(PathBuf::from("."))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u:p@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert_eq!(
            DatabaseUrl::parse("postgres://u:secret@h/db")
                .unwrap()
                .redacted(),
            "postgres://u:***@h/db"
        );
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
        assert!(DatabaseUrl::parse("").is_err());
    }
}
