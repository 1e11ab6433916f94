//! Entry points for the fuzz targets in `fuzz/` (cargo feature `fuzzing`, never in a release
//! build): the parsers that read what a caller sends — admin API bodies and cursors, Host and
//! Origin headers, bearer tokens — reached here without making them part of the crate's API.
use axum::extract::FromRequest;
use serde::de::DeserializeOwned;

pub use crate::admin_api::handlers::{
    CreateKeyIn, CreateUserIn, ExternalConnectionIn, UpdateConnectionIn, UpdateUserIn,
};
pub use crate::admin_api::{ApiError, Body};
pub use crate::allow_list::{host_allowed, origin_allowed};
pub use crate::http::{MAX_JSON_DEPTH, nesting_exceeds};
pub use crate::service::connections::ConfigureArgs;

/// `host` split as the Host and Origin checks split it: (name, port).
pub fn split_host_port(host: &str) -> (&str, Option<&str>) {
    crate::allow_list::split_host_port(host)
}

/// An admin API body read as the handlers read it (axum's JSON extractor, then pm-mcp's
/// rejection messages).
pub fn admin_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let request = axum::http::Request::builder()
        .method("POST")
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(bytes.to_vec()))
        .map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "fuzz",
                e.to_string(),
            )
        })?;
    futures::executor::block_on(Body::<T>::from_request(request, &())).map(|Body(v)| v)
}

/// The offset a list cursor of the admin API stands for.
pub fn decode_cursor(raw: &str) -> Option<usize> {
    crate::admin_api::handlers::decode_cursor(raw).ok()
}

/// The cursor the admin API gives out for `offset`.
pub fn encode_cursor(offset: usize) -> String {
    crate::admin_api::handlers::encode_cursor(offset)
}
