//! The audit log: one JSON object per line for every write and every
//! denied call — who, which method, which article, when, and the outcome.
//! It goes to the file `audit.file` names (appended, one `write` per line
//! so lines from concurrent calls never interleave), else to the tracing
//! target `newswire::audit` in the server's own log.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use chrono::{SecondsFormat, Utc};
use serde::Serialize;

/// What became of an audited call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The write was committed.
    Ok,
    /// Refused before it ran: no or bad credentials, no permission, a limit.
    Denied,
    /// Ran and failed (the status code says why).
    Failed,
}

/// One audited event.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    /// RFC 3339, UTC, microseconds.
    pub time: String,
    /// The caller's name, `None` when it did not authenticate.
    pub caller: Option<String>,
    /// `package.Service/Method`.
    pub method: String,
    pub outcome: Outcome,
    /// The gRPC status code name (`OK`, `PERMISSION_DENIED` …).
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article_key: Option<String>,
    /// The status message or a summary (an import's counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl AuditEvent {
    /// An event of `method` (`package.Service/Method`) now.
    pub fn new(method: &str, caller: Option<&str>, outcome: Outcome, code: tonic::Code) -> Self {
        Self {
            time: Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
            caller: caller.map(str::to_string),
            method: method.trim_start_matches('/').to_string(),
            outcome,
            code: code_name(code).to_string(),
            article_id: None,
            article_key: None,
            detail: None,
            request_id: None,
        }
    }
}

/// Where audit events go; cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    file: Option<Arc<Mutex<File>>>,
}

impl AuditLog {
    /// Events go to the server's log (`newswire::audit`).
    pub fn to_tracing() -> Self {
        Self { file: None }
    }

    /// Events are appended to `path` (created if missing).
    pub fn to_file(path: &Path) -> anyhow::Result<Self> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("audit.file: cannot open {}", path.display()))?;
        Ok(Self {
            file: Some(Arc::new(Mutex::new(file))),
        })
    }

    /// Records `event`. A failure to write is logged, never hidden, but
    /// does not fail the call that was audited.
    pub fn record(&self, event: &AuditEvent) {
        let line = match serde_json::to_string(event) {
            Ok(line) => line,
            Err(error) => {
                tracing::error!(%error, "cannot serialize an audit event");
                return;
            }
        };
        match &self.file {
            None => tracing::info!(target: "newswire::audit", "{line}"),
            Some(file) => {
                let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if let Err(error) = file.write_all(format!("{line}\n").as_bytes()) {
                    tracing::error!(%error, event = %line, "cannot write the audit log");
                }
            }
        }
    }
}

/// The canonical name of a gRPC code, as in the gRPC spec.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
