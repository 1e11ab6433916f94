//! The context every console page renders with: the origin and base path, and the signed-in
//! user when there is one. The session guard puts it in the request; pages take it back out.
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use pm_core::UserId;
use pm_store::User;

/// The user signed in to the console, and their session's CSRF token.
#[derive(Clone)]
pub struct Viewer {
    pub user: User,
    pub csrf: String,
    /// The administrator whose sign-in link opened this session (the actor of its changes).
    pub issued_by: Option<UserId>,
    pub(super) token_hash: [u8; 32],
}

/// What every page needs besides its own content.
#[derive(Clone)]
pub struct Ctx {
    /// The origin users reach the console at: the public URL's, else `http://{Host}`.
    pub origin: String,
    /// `{prefix}/console`.
    pub base: String,
    pub viewer: Option<Viewer>,
}

impl Ctx {
    pub fn href(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// Any console page's context (signed in or not).
pub struct Page(pub Ctx);

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .map(Page)
            .ok_or_else(|| StatusCode::NOT_FOUND.into_response())
    }
}
