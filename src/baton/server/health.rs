//! HTTP health checks for a serving connector (`--health-check`): `/live`, `/ready`, `/health`.
//!
//! - `GET /live`: 200 while the process serves at all (liveness).
//! - `GET /ready`: 200 once a `Validate` has succeeded (the shared readiness flag the gRPC
//!   server sets, see [`super::ServeOptions::ready`]), 503 before that or after a failed one.
//! - `GET /health`: the same verdict as `/ready`, with a small JSON body saying why.
//!
//! Bodies are JSON (`{"status": …}`); nothing secret is ever included. Like the gRPC server,
//! [`serve_health`] takes a bound listener and a shutdown future.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tracing::info;

/// Serves the health endpoints on `listener` until `shutdown` completes. `ready` is the flag a
/// successful `Validate` sets.
pub async fn serve_health(
    listener: TcpListener,
    ready: Arc<AtomicBool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let router = Router::new()
        .route("/live", get(live))
        .route("/ready", get(readiness))
        .route("/health", get(health))
        .with_state(ready);
    info!(%addr, "serving health checks (/live, /ready, /health)");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn live() -> Json<Value> {
    Json(json!({ "status": "live" }))
}

async fn readiness(State(ready): State<Arc<AtomicBool>>) -> (StatusCode, Json<Value>) {
    if ready.load(Ordering::Relaxed) {
        (StatusCode::OK, Json(json!({ "status": "ready" })))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not ready" })),
        )
    }
}

async fn health(State(ready): State<Arc<AtomicBool>>) -> (StatusCode, Json<Value>) {
    if ready.load(Ordering::Relaxed) {
        (
            StatusCode::OK,
            Json(json!({ "status": "healthy", "validated": true })),
        )
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "unhealthy",
                "validated": false,
                "reason": "the connector has not validated its credentials successfully yet",
            })),
        )
    }
}
