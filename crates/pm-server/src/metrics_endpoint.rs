//! `GET /metrics` on its own listener (`--metrics-listen`): the counters of `metrics`, rendered
//! when scraped.
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::metrics::CONTENT_TYPE;
use crate::state::AppState;

/// The metrics application: `GET /metrics`, nothing else. Unauthenticated: serve it on an address
/// only the scraper reaches (`--metrics-listen`), never on the public MCP listener.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<Arc<AppState>>) -> Response {
    let body = state.metrics.render(state.store.pool_stats());
    let mut res = (StatusCode::OK, body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    res
}

/// Serves `/metrics` on `listener` until `shutdown` is cancelled (bounded like the main listener).
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let limits = state.http.connections;
    crate::listen::serve(listener, app(state), limits, shutdown).await
}
