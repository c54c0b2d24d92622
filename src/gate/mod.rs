//! The gate every call passes before it reaches a service (a tower layer
//! around all of them, streams included): it names the call with a request
//! id, decides on its credentials (`auth`), admits it within the limits
//! (`admission`), audits a refusal, and returns the request id to the
//! caller in the `x-request-id` response header.
//!
//! - `admission`     per-caller rate limits and load shedding
//! - `call_metrics`  the series every call is counted in, keyed once per method
//! - `refusal`       the statuses the gate refuses or cuts a call with
//! - `request_id`    the caller's `x-request-id`, or a fresh one

pub mod admission;
mod call_metrics;
pub mod refusal;
pub mod request_id;

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::http::{Request, Response};
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tower::{Layer, Service};

use crate::audit::{AuditEvent, AuditLog, Outcome};
use crate::auth::{AccessControl, Identity, Presented};
use admission::Admission;
use call_metrics::{CallMetrics, MethodMetrics};
use request_id::RequestId;

/// What the gate learnt about a call, in its request extensions for the
/// services (which audit their writes with it).
#[derive(Debug, Clone)]
pub struct CallContext {
    /// `None` for an open method called without credentials.
    pub identity: Option<Identity>,
    pub request_id: RequestId,
}

impl CallContext {
    /// The caller's name, if it authenticated.
    pub fn caller(&self) -> Option<&str> {
        self.identity
            .as_ref()
            .map(|identity| identity.caller.as_str())
    }
}

/// Shared by every connection.
pub struct Gate {
    pub access: AccessControl,
    pub admission: Admission,
    pub audit: AuditLog,
    /// Set when the shutdown grace period is over: calls still running are
    /// ended with UNAVAILABLE, which clients may retry elsewhere.
    pub cut: tokio::sync::watch::Sender<bool>,
    metrics: CallMetrics,
}

/// The tower layer applying the gate to every service.
#[derive(Clone)]
pub struct GateLayer {
    gate: Arc<Gate>,
}

impl GateLayer {
    pub fn new(gate: Arc<Gate>) -> Self {
        Self { gate }
    }
}

impl<S> Layer<S> for GateLayer {
    type Service = GateService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GateService {
            inner,
            gate: self.gate.clone(),
        }
    }
}

/// The gate around one service stack.
#[derive(Clone)]
pub struct GateService<S> {
    inner: S,
    gate: Arc<Gate>,
}

impl<S> Service<Request<Body>> for GateService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        // The clone is the one that was not polled ready; keep the ready one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let gate = self.gate.clone();
        Box::pin(async move {
            let started = Instant::now();
            let request_id = RequestId::of(request.headers());
            let in_flight = InFlight::start();
            let decision = gate.decide(request.uri().path(), &request);
            let mut response = match decision {
                Err((status, caller)) => {
                    let path = request.uri().path();
                    let response = gate.refuse(path, &request_id, status, caller);
                    let method = gate.metrics.of(path);
                    gate.observe(path, method, &response, &request_id, started.elapsed());
                    response
                }
                Ok((method, identity, permit)) => {
                    request.extensions_mut().insert(CallContext {
                        identity,
                        request_id: request_id.clone(),
                    });
                    let response = gate.serve(inner.call(request)).await?;
                    drop(permit);
                    gate.observe(
                        method.path(),
                        method,
                        &response,
                        &request_id,
                        started.elapsed(),
                    );
                    response
                }
            };
            drop(in_flight);
            request_id.attach(&mut response);
            Ok(response)
        })
    }
}

/// An admitted call: its method's series, the caller and its place.
type Admitted<'gate> = (&'gate MethodMetrics, Option<Identity>, admission::Permit);

/// Counts a call in `newswire_requests_in_flight` while it lives.
struct InFlight;

impl InFlight {
    fn start() -> Self {
        metrics::gauge!(crate::metrics::IN_FLIGHT).increment(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(crate::metrics::IN_FLIGHT).decrement(1.0);
    }
}

/// The gRPC code a response carries in its headers (an error, or a
/// stream's start: `OK`); a unary success puts it in the trailers: `OK`.
fn status_code(response: &Response<Body>) -> tonic::Code {
    response
        .headers()
        .get("grpc-status")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<i32>().ok())
        .map_or(tonic::Code::Ok, tonic::Code::from_i32)
}

impl Gate {
    /// The gate of a server with these parts; not yet cut.
    pub fn new(access: AccessControl, admission: Admission, audit: AuditLog) -> Self {
        Self {
            metrics: CallMetrics::new(access.methods()),
            access,
            admission,
            audit,
            cut: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Runs an admitted call until its response, or until the cut. Most
    /// calls (reads from the cache) are done at their first poll; only a
    /// call that is not is raced against the cut, so they do not pay for a
    /// subscription to it.
    async fn serve<F, E>(&self, call: F) -> Result<Response<Body>, E>
    where
        F: Future<Output = Result<Response<Body>, E>>,
    {
        let mut call = std::pin::pin!(call);
        if let Poll::Ready(response) = futures::poll!(call.as_mut()) {
            return response;
        }
        let mut cut = self.cut.subscribe();
        tokio::select! {
            biased;
            response = call => response,
            _ = cut.wait_for(|cut| *cut) => Ok(refusal::grace_period_over().into_http()),
        }
    }

    /// The response refusing a call, audited.
    fn refuse(
        &self,
        method: &str,
        request_id: &RequestId,
        status: Status,
        caller: Option<String>,
    ) -> Response<Body> {
        let mut event = AuditEvent::new(method, caller.as_deref(), Outcome::Denied, status.code());
        event.detail = Some(status.message().to_string());
        event.request_id = Some(request_id.as_str().to_string());
        self.audit.record(&event);
        tracing::debug!(%method, %request_id, code = ?status.code(), "refused");
        status.into_http()
    }

    /// Logs and counts a call that got its response.
    fn observe(
        &self,
        path: &str,
        method: &MethodMetrics,
        response: &Response<Body>,
        request_id: &RequestId,
        elapsed: Duration,
    ) {
        tracing::debug!(method = %path, %request_id, ?elapsed, "served");
        method.record(status_code(response), elapsed);
    }

    /// The caller's identity and an admission permit, or the status that
    /// refuses the call and who was refused.
    #[allow(clippy::result_large_err)]
    fn decide(
        &self,
        path: &str,
        request: &Request<Body>,
    ) -> Result<Admitted<'_>, (Status, Option<String>)> {
        let certificates = request
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .and_then(|info| info.peer_certs());
        let presented = Presented {
            headers: request.headers(),
            client_certificates: certificates.as_deref().map(Vec::as_slice),
        };
        let identity = self
            .access
            .check(path, &presented)
            .map_err(|denial| (refusal::denied(denial.code, denial.message), denial.caller))?;
        let caller = identity.as_ref().map(|identity| identity.caller.as_str());
        let permit = self
            .admission
            .admit(caller)
            .map_err(|status| (status, caller.map(str::to_string)))?;
        Ok((self.metrics.of(path), identity, permit))
    }
}
