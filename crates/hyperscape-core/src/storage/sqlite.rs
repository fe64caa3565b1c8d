//! placeholder
pub struct SqliteStorage;
