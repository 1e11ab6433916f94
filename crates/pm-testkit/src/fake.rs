//! What every tracker fake shares: one layer in front of its axum `Router` that records each
//! request, answers injected failures and checks the credentials, and one way to start it.
//!
//! Each fake brings its own routes, how its tracker checks a credential and refuses a bad one,
//! and how its tracker words an error of a given status (see [`Guard`]); this module does the
//! rest the same way for all of them. Tests read what a fake was asked through its
//! [`Recorder`] (`running.recorder`), and make it fail with [`Recorder::fail_next`].
#![allow(clippy::unwrap_used)] // test fixture code: a poisoned lock is a failed test already

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// A started fake: the base URL a connection is configured with, the fake's own state (its
/// tracker data and switches), and the recorder of what it was asked.
pub struct Running<S> {
    pub url: String,
    pub state: Arc<S>,
    pub recorder: Recorder,
}

/// A running fake reads as its state (`running.issues`, `running.set_admin(..)`), besides its
/// `url` and `recorder`.
impl<S> std::ops::Deref for Running<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.state
    }
}

/// One request as the fake received it, before anything answered it (failures and refused
/// credentials included).
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    /// The path as sent (not decoded), from the server's root: the fake's sub-path included.
    pub path: String,
    /// The raw query string, when there is one.
    pub query: Option<String>,
    /// The body as text (empty when none).
    pub body: String,
}

impl Hit {
    /// `METHOD /path?query`, the way logs and assertions read a request.
    pub fn line(&self) -> String {
        match &self.query {
            Some(q) => format!("{} {}?{q}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }

    /// The body as JSON (`Null` when it is none or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// An answer the fake gives instead of its own, to the next requests that match.
#[derive(Debug, Clone)]
pub struct Failure {
    status: u16,
    retry_after: Option<u64>,
    body: FailureBody,
    method: Option<Method>,
    path_contains: String,
    times: usize,
}

/// What an injected failure says.
#[derive(Debug, Clone)]
pub enum FailureBody {
    /// The tracker's own error body for the status, in its own words or in these (`message`,
    /// and `code` where the tracker's errors carry one).
    Tracker {
        message: Option<String>,
        code: Option<String>,
    },
    /// A JSON body not in the tracker's shape (e.g. a gateway in front of it).
    Json(Value),
    /// A short `text/plain` body (proxies answer 502/503/504 so).
    Text(String),
}

impl Failure {
    /// One request, any method and path, answered `status` with the tracker's own error body and
    /// headers for it.
    pub fn status(status: u16) -> Self {
        Failure {
            status,
            retry_after: None,
            body: FailureBody::Tracker {
                message: None,
                code: None,
            },
            method: None,
            path_contains: String::new(),
            times: 1,
        }
    }

    /// With `Retry-After: secs`.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// In the tracker's error shape, with these words (and error code, where it has one).
    pub fn said(mut self, message: &str, code: Option<&str>) -> Self {
        self.body = FailureBody::Tracker {
            message: Some(message.to_string()),
            code: code.map(str::to_string),
        };
        self
    }

    /// With this JSON body instead of the tracker's.
    pub fn json(mut self, body: Value) -> Self {
        self.body = FailureBody::Json(body);
        self
    }

    /// With this plain-text body instead of the tracker's.
    pub fn text(mut self, text: &str) -> Self {
        self.body = FailureBody::Text(text.to_string());
        self
    }

    /// Only to requests with this method (any when `None`) whose path contains `path_contains`.
    pub fn on(mut self, method: Option<&str>, path_contains: &str) -> Self {
        self.method = method.map(|m| Method::from_bytes(m.as_bytes()).unwrap());
        self.path_contains = path_contains.to_string();
        self
    }

    /// To this many matching requests (default 1).
    pub fn times(mut self, n: usize) -> Self {
        self.times = n;
        self
    }

    pub fn status_code(&self) -> u16 {
        self.status
    }

    /// The words given with [`Failure::said`], if any.
    pub fn message(&self) -> Option<&str> {
        match &self.body {
            FailureBody::Tracker { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    /// The error code given with [`Failure::said`], if any.
    pub fn code(&self) -> Option<&str> {
        match &self.body {
            FailureBody::Tracker { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    fn matches(&self, method: &Method, path: &str) -> bool {
        self.times > 0
            && self.method.as_ref().is_none_or(|m| m == method)
            && path.contains(&self.path_contains)
    }
}

#[derive(Default)]
struct Log {
    hits: Mutex<Vec<Hit>>,
    failures: Mutex<Vec<Failure>>,
}

/// What a fake was asked, in order, and the failures it is to answer next. Cheap to clone: all
/// clones see the same log.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Log>);

impl Recorder {
    /// Every request so far, in order.
    pub fn hits(&self) -> Vec<Hit> {
        self.0.hits.lock().unwrap().clone()
    }

    /// How many requests so far (an index for [`Recorder::since`]).
    pub fn len(&self) -> usize {
        self.0.hits.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The requests after the first `from`.
    pub fn since(&self, from: usize) -> Vec<Hit> {
        self.0.hits.lock().unwrap()[from..].to_vec()
    }

    /// Every request so far as `METHOD /path?query`.
    pub fn lines(&self) -> Vec<String> {
        self.lines_since(0)
    }

    /// The requests after the first `from`, as `METHOD /path?query`.
    pub fn lines_since(&self, from: usize) -> Vec<String> {
        self.since(from).iter().map(Hit::line).collect()
    }

    /// How many requests were `method` on exactly `path` (the query aside).
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.0
            .hits
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.method == method && h.path == path)
            .count()
    }

    /// The next matching requests answer `failure` instead (see [`Failure`]). Failures queue:
    /// the first one that matches a request answers it.
    pub fn fail_next(&self, failure: Failure) {
        self.0.failures.lock().unwrap().push(failure);
    }

    /// Forgets every failure not answered yet.
    pub fn stop_failing(&self) {
        self.0.failures.lock().unwrap().clear();
    }

    fn take_failure(&self, method: &Method, path: &str) -> Option<Failure> {
        let mut failures = self.0.failures.lock().unwrap();
        let i = failures.iter().position(|f| f.matches(method, path))?;
        failures[i].times -= 1;
        let failure = failures[i].clone();
        if failures[i].times == 0 {
            failures.remove(i);
        }
        Some(failure)
    }
}

/// How one tracker checks a request's credentials and words an error: what the shared layer
/// needs from a fake.
pub struct Guard<S> {
    /// `Ok` for a request the tracker accepts; else the tracker's own refusal (status, headers
    /// and body as the real one answers).
    pub auth: fn(&S, &HeaderMap) -> Result<(), Response>,
    /// The tracker's own error answer for an injected failure in its shape
    /// ([`FailureBody::Tracker`]); the status and any words are in the [`Failure`].
    pub refusal: fn(&Failure) -> Response,
    /// Which requests the credential check sees.
    pub checks: Checks,
}

/// Which requests a tracker checks the credentials of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    /// Every request, before anything else (ClickUp, OpenProject: a bad credential is refused
    /// whatever the path).
    Every,
    /// Only requests to a path and method the fake serves; any other is the router's 404 whatever
    /// the credentials (Jira: a Cloud client sent to a Data Center site finds no REST v3 there,
    /// and is told so by the 404, not by a refusal).
    Routed,
}

/// The largest body the fakes read (OpenProject's attachments aside, nothing sent is near it).
const MAX_BODY: usize = 16 << 20;

/// Serves `app` on a free local port behind the shared layer: every request is recorded, then
/// answered by an injected failure if one matches, then refused by the tracker's credential check
/// (before routing, or only on a served route: [`Checks`]), and only then handled. `sub_path` is where the tracker's API lives on the server (`""`,
/// `/api`, `/openproject`): the returned URL ends with it.
pub async fn serve<S: Send + Sync + 'static>(
    app: Router,
    state: Arc<S>,
    guard: Guard<S>,
    sub_path: &str,
) -> Running<S> {
    let recorder = Recorder::default();
    let checks = guard.checks;
    let guard = Arc::new(guard);
    let front = {
        let (recorder, guard) = (recorder.clone(), guard.clone());
        axum::middleware::from_fn(move |req: Request, next: Next| {
            let (recorder, guard) = (recorder.clone(), guard.clone());
            async move { front(&recorder, &guard, req, next).await }
        })
    };
    let auth = {
        let (state, guard) = (state.clone(), guard.clone());
        axum::middleware::from_fn(move |req: Request, next: Next| {
            let (state, guard) = (state.clone(), guard.clone());
            async move {
                match (guard.auth)(&state, req.headers()) {
                    Ok(()) => next.run(req).await,
                    Err(refused) => refused,
                }
            }
        })
    };
    // Layers run outermost last added: the recording and the failures first, then the check.
    let app = match checks {
        Checks::Every => app.layer(auth).layer(front),
        Checks::Routed => app.route_layer(auth).layer(front),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Running {
        url: format!("http://{addr}{sub_path}"),
        state,
        recorder,
    }
}

/// Records the request, then answers it with an injected failure if one matches.
async fn front<S>(recorder: &Recorder, guard: &Guard<S>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    recorder.0.hits.lock().unwrap().push(Hit {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().map(str::to_string),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    if let Some(failure) = recorder.take_failure(&parts.method, parts.uri.path()) {
        return answer(guard, &failure);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn answer<S>(guard: &Guard<S>, failure: &Failure) -> Response {
    let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = match &failure.body {
        FailureBody::Tracker { .. } => (guard.refusal)(failure),
        FailureBody::Json(v) => (status, axum::Json(v.clone())).into_response(),
        FailureBody::Text(t) => {
            (status, [(header::CONTENT_TYPE, "text/plain")], t.clone()).into_response()
        }
    };
    if let Some(secs) = failure.retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

/// The `Authorization` header's value, when it is text.
pub fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}
