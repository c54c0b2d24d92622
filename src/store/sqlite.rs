//! The embedded default store: SQLite through rusqlite.
