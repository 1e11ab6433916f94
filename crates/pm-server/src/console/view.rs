//! The console's page frame, shared pieces and assets. maud escapes every value put in a page;
//! nothing here marks text as HTML.
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use pm_store::StoreError;

use super::context::{Ctx, Page};

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// Which section of the navigation a page belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    None,
    Keys,
    Trackers,
    Activity,
    Users,
    Audit,
    Usage,
}

/// A whole page: the header with navigation (signed in) and `body` as the main content.
pub fn page(ctx: &Ctx, nav: Nav, title: &str, body: Markup) -> Markup {
    let link = |to: Nav, path: &str, label: &str| {
        html! {
            li { a href=(ctx.href(path)) aria-current=[(nav == to).then_some("page")] { (label) } }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                link rel="icon" href="data:,";
                title { (title) " · pm-mcp" }
                link rel="stylesheet" href=(ctx.href("/assets/console.css"));
                script src=(ctx.href("/assets/console.js")) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "pm-mcp" }
                    @if let Some(v) = &ctx.viewer {
                        nav aria-label="Console" {
                            ul {
                                (link(Nav::Keys, "/keys", "My keys"))
                                (link(Nav::Trackers, "/trackers", "My trackers"))
                                (link(Nav::Activity, "/activity", "My activity"))
                                @if v.user.is_admin {
                                    (link(Nav::Users, "/admin/users", "Users"))
                                    (link(Nav::Audit, "/admin/audit", "Audit"))
                                    (link(Nav::Usage, "/admin/usage", "Usage"))
                                }
                            }
                        }
                        form.signout method="post" action=(ctx.href("/signout")) {
                            (csrf(ctx))
                            span.who {
                                (v.user.name) " (" (v.user.email) ")"
                                @if v.issued_by.is_some() { " · by an administrator's link" }
                            }
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field of a change's form.
pub fn csrf(ctx: &Ctx) -> Markup {
    html! {
        @if let Some(v) = &ctx.viewer {
            input type="hidden" name="csrf" value=(v.csrf);
        }
    }
}

/// A notice above a page's content: `ok` (green) or an error (red, announced).
pub fn notice(text: Option<&str>, ok: bool) -> Markup {
    html! {
        @if let Some(t) = text {
            @if ok {
                p.notice.ok role="status" { (t) }
            } @else {
                p.notice.error role="alert" { (t) }
            }
        }
    }
}

pub fn when(at: Option<DateTime<Utc>>) -> Markup {
    html! {
        @match at {
            Some(t) => time datetime=(t.to_rfc3339()) { (t.format("%Y-%m-%d %H:%M UTC")) },
            None => span.muted { "never" },
        }
    }
}

/// A page that only says something (an error in words, a refusal).
pub fn message(ctx: &Ctx, status: StatusCode, title: &str, text: &str) -> Response {
    let back = if ctx.viewer.is_some() {
        "/keys"
    } else {
        "/signin"
    };
    let body = html! {
        p { (text) }
        p { a href=(ctx.href(back)) { "Back to the console" } }
    };
    (
        status,
        Html(page(ctx, Nav::None, title, body).into_string()),
    )
        .into_response()
}

/// The database could not answer: said in words, logged for the operator.
pub fn store_error(ctx: &Ctx, e: StoreError) -> Response {
    let unavailable = e.is_unavailable();
    tracing::error!(error = %e, "console: store error");
    if unavailable {
        message(
            ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            "pm-mcp's database cannot be reached",
            "Nothing was changed. Try again in a moment; if it keeps happening, tell the operator.",
        )
    } else {
        message(
            ctx,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "pm-mcp's database could not answer. Nothing was changed; the server log says more.",
        )
    }
}

pub async fn not_found(Page(ctx): Page) -> Response {
    message(
        &ctx,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no console page at this address.",
    )
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    res
}

pub async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

pub async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

/// Renders a page with a status.
pub fn render(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}
