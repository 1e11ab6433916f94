//! The admin API's operations, declared once: each with its method, path, access rule, body,
//! answers and handler. The router (`super::router`) and the OpenAPI 3.1 document served at
//! `/admin/v1/openapi.json` are both built from `operations()`, so they cannot drift apart; the
//! document is pinned in `snapshots/admin_openapi.json` so every change to it is reviewed.
use std::sync::Arc;

use axum::routing::{MethodRouter, delete, get, patch, post, put};
use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

use super::handlers::*;
use super::{Access, ErrorBody};
use crate::service::connections::{
    ConfigureArgs, ConfigureResult, ConnectionSummary, RemoveResult, TestResult,
};
use crate::state::AppState;

type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// One operation of the admin API.
pub struct Operation {
    /// Lower case: `get`, `post`, `patch`, `delete`.
    pub method: &'static str,
    /// With `{param}` segments, as both axum and OpenAPI write them.
    pub path: &'static str,
    pub id: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    pub access: Access,
    /// Query parameters: name and description (all optional strings).
    pub query: &'static [(&'static str, &'static str)],
    pub body: Option<SchemaFn>,
    /// The success answer: status, description and body (none for 204).
    pub ok: (u16, &'static str, Option<SchemaFn>),
    /// Error statuses beyond those every operation of its kind has (see `error_statuses`).
    pub errors: &'static [u16],
    pub handler: MethodRouter<Arc<AppState>>,
}

impl Operation {
    /// Every error status the operation may answer.
    pub fn error_statuses(&self) -> Vec<u16> {
        let mut all: Vec<u16> = self.errors.to_vec();
        if self.access != Access::Public {
            all.extend([401, 503]);
        }
        if self.access == Access::Admin {
            all.push(403);
        }
        if self.body.is_some() {
            all.extend([400, 413, 422]);
        }
        if self.path.contains('{') {
            all.push(404);
        }
        all.sort_unstable();
        all.dedup();
        all
    }
}

#[allow(clippy::too_many_arguments)]
fn op(
    method: &'static str,
    path: &'static str,
    id: &'static str,
    summary: &'static str,
    tag: &'static str,
    access: Access,
    body: Option<SchemaFn>,
    ok: (u16, &'static str, Option<SchemaFn>),
    errors: &'static [u16],
    handler: MethodRouter<Arc<AppState>>,
) -> Operation {
    Operation {
        method,
        path,
        id,
        summary,
        tag,
        access,
        query: &[],
        body,
        ok,
        errors,
        handler,
    }
}

const AUDIT_QUERY: &[(&str, &str)] = &[
    ("user", "Only this user's events (user id)."),
    ("tool", "Only this tool, or `admin.<operationId>`."),
    ("outcome", "ok, error or denied."),
    ("since", "Only events at or after this RFC 3339 time."),
    (
        "limit",
        "At most this many events, 1 to 1000 (default 100), newest first.",
    ),
    CURSOR,
];

const CURSOR: (&str, &str) = (
    "cursor",
    "The `X-Next-Cursor` header of the previous page: the page after it.",
);
const LIMIT: (&str, &str) = (
    "limit",
    "At most this many items, 1 to 1000 (default: all); the `X-Next-Cursor` header then names the next page.",
);
const PAGED: &[(&str, &str)] = &[CURSOR, LIMIT];

const USERS_QUERY: &[(&str, &str)] = &[
    (
        "email",
        "Only the user with this e-mail address (case-insensitively): a list of one, or empty.",
    ),
    CURSOR,
    LIMIT,
];

/// Every operation of the admin API.
pub fn operations() -> Vec<Operation> {
    use Access::{Admin, Own, Public};
    let users = "users";
    let keys = "keys";
    let conns = "connections";
    let me = "me";
    let mut all = vec![
        op(
            "get",
            "/admin/v1/openapi.json",
            "getOpenApi",
            "This document.",
            "docs",
            Public,
            None,
            (200, "The OpenAPI 3.1 document.", None),
            &[],
            get(openapi_json),
        ),
        op(
            "get",
            "/admin/v1/users",
            "listUsers",
            "List users.",
            users,
            Admin,
            None,
            (200, "Every user.", Some(schema::<Vec<UserOut>>)),
            &[422],
            get(list_users),
        ),
        op(
            "post",
            "/admin/v1/users",
            "createUser",
            "Create a user.",
            users,
            Admin,
            Some(schema::<CreateUserIn>),
            (201, "The new user.", Some(schema::<UserOut>)),
            &[409],
            post(create_user),
        ),
        op(
            "get",
            "/admin/v1/users/{id}",
            "getUser",
            "Get a user.",
            users,
            Admin,
            None,
            (200, "The user.", Some(schema::<UserOut>)),
            &[],
            get(get_user),
        ),
        op(
            "patch",
            "/admin/v1/users/{id}",
            "updateUser",
            "Rename a user, make them an administrator or not, disable or enable them.",
            users,
            Admin,
            Some(schema::<UpdateUserIn>),
            (200, "The user as changed.", Some(schema::<UserOut>)),
            &[409],
            patch(update_user),
        ),
        op(
            "delete",
            "/admin/v1/users/{id}",
            "deleteUser",
            "Delete a user with their keys and connections.",
            users,
            Admin,
            None,
            (204, "Deleted.", None),
            &[409],
            delete(delete_user),
        ),
        op(
            "get",
            "/admin/v1/users/{id}/keys",
            "listUserKeys",
            "List a user's API keys.",
            keys,
            Admin,
            None,
            (
                200,
                "The user's keys (never the keys themselves).",
                Some(schema::<Vec<KeyOut>>),
            ),
            &[],
            get(list_user_keys),
        ),
        op(
            "post",
            "/admin/v1/users/{id}/keys",
            "createUserKey",
            "Create an API key for a user; the key is in this answer only.",
            keys,
            Admin,
            Some(schema::<CreateKeyIn>),
            (201, "The new key, shown once.", Some(schema::<NewKeyOut>)),
            &[409],
            post(create_user_key),
        ),
        op(
            "post",
            "/admin/v1/users/{id}/keys/{key_id}/revoke",
            "revokeUserKey",
            "Revoke a user's key: it stops working at once.",
            keys,
            Admin,
            None,
            (200, "The revoked key.", Some(schema::<KeyOut>)),
            &[],
            post(revoke_user_key),
        ),
        op(
            "post",
            "/admin/v1/users/{id}/keys/{key_id}/rotate",
            "rotateUserKey",
            "Replace a user's key with a new one with the same settings; the old one is revoked.",
            keys,
            Admin,
            None,
            (
                201,
                "The new key, shown once, and the revoked one.",
                Some(schema::<RotatedKeyOut>),
            ),
            &[409],
            post(rotate_user_key),
        ),
        op(
            "get",
            "/admin/v1/users/{id}/connections",
            "listUserConnections",
            "List a user's tracker connections (never their credentials).",
            conns,
            Admin,
            None,
            (
                200,
                "The user's connections.",
                Some(schema::<Vec<ConnectionSummary>>),
            ),
            &[],
            get(list_user_connections),
        ),
        op(
            "post",
            "/admin/v1/users/{id}/connections",
            "addUserConnection",
            "Add a tracker connection for a user after testing it; the token is sealed and never shown again.",
            conns,
            Admin,
            Some(schema::<ConfigureArgs>),
            (
                201,
                "The connection and its test.",
                Some(schema::<ConfigureResult>),
            ),
            &[409],
            post(add_user_connection),
        ),
        op(
            "post",
            "/admin/v1/users/{id}/connections/{conn}/test",
            "testUserConnection",
            "Test a user's connection against its tracker now.",
            conns,
            Admin,
            None,
            (
                200,
                "What the test found (`test.ok` false when the tracker refused).",
                Some(schema::<TestResult>),
            ),
            &[500],
            post(test_user_connection),
        ),
        op(
            "delete",
            "/admin/v1/users/{id}/connections/{conn}",
            "removeUserConnection",
            "Remove a user's connection and its credentials.",
            conns,
            Admin,
            None,
            (
                200,
                "Removed; the user's default connection now.",
                Some(schema::<RemoveResult>),
            ),
            &[],
            delete(remove_user_connection),
        ),
        op(
            "patch",
            "/admin/v1/users/{id}/connections/{conn}",
            "updateUserConnection",
            "Change a user's connection: a new token, URL or options (tested against the tracker before they are stored unless `test` is false), its name, or whether it is active.",
            conns,
            Admin,
            Some(schema::<UpdateConnectionIn>),
            (
                200,
                "The connection as changed.",
                Some(schema::<ConnectionSummary>),
            ),
            &[409, 500],
            patch(update_user_connection),
        ),
        op(
            "put",
            "/admin/v1/users/{id}/connections/by-external-id/{external_id}",
            "putUserConnectionByExternalId",
            "Create or update a user's connection under another system's id for it (an agent backend's provider id): stored, then tested when asked.",
            conns,
            Admin,
            Some(schema::<ExternalConnectionIn>),
            (
                200,
                "What was done (`created` or `updated`) and the connection's id.",
                Some(schema::<crate::sync::SyncAnswer>),
            ),
            &[409],
            put(put_user_connection_by_external_id),
        ),
        op(
            "get",
            "/admin/v1/audit",
            "listAuditEvents",
            "List audit events (tool calls and admin changes), newest first.",
            "audit",
            Admin,
            None,
            (200, "The events.", Some(schema::<Vec<AuditEventOut>>)),
            &[422],
            get(list_audit),
        ),
        op(
            "get",
            "/admin/v1/me",
            "getMe",
            "The caller's user and key.",
            me,
            Own,
            None,
            (200, "You.", Some(schema::<MeOut>)),
            &[],
            get(get_me),
        ),
        op(
            "get",
            "/admin/v1/me/keys",
            "listMyKeys",
            "List your API keys.",
            me,
            Own,
            None,
            (200, "Your keys.", Some(schema::<Vec<KeyOut>>)),
            &[],
            get(list_my_keys),
        ),
        op(
            "post",
            "/admin/v1/me/keys",
            "createMyKey",
            "Create an API key for yourself, no stronger than the key you call with.",
            me,
            Own,
            Some(schema::<CreateKeyIn>),
            (201, "The new key, shown once.", Some(schema::<NewKeyOut>)),
            &[403, 409],
            post(create_my_key),
        ),
        op(
            "post",
            "/admin/v1/me/keys/{key_id}/revoke",
            "revokeMyKey",
            "Revoke one of your keys.",
            me,
            Own,
            None,
            (200, "The revoked key.", Some(schema::<KeyOut>)),
            &[403],
            post(revoke_my_key),
        ),
        op(
            "post",
            "/admin/v1/me/keys/{key_id}/rotate",
            "rotateMyKey",
            "Replace one of your keys with a new one with the same settings.",
            me,
            Own,
            None,
            (
                201,
                "The new key, shown once, and the revoked one.",
                Some(schema::<RotatedKeyOut>),
            ),
            &[403, 409],
            post(rotate_my_key),
        ),
        op(
            "get",
            "/admin/v1/me/connections",
            "listMyConnections",
            "List your tracker connections.",
            me,
            Own,
            None,
            (
                200,
                "Your connections.",
                Some(schema::<Vec<ConnectionSummary>>),
            ),
            &[],
            get(list_my_connections),
        ),
        op(
            "post",
            "/admin/v1/me/connections",
            "addMyConnection",
            "Add a tracker connection after testing it.",
            me,
            Own,
            Some(schema::<ConfigureArgs>),
            (
                201,
                "The connection and its test.",
                Some(schema::<ConfigureResult>),
            ),
            &[403, 409],
            post(add_my_connection),
        ),
        op(
            "post",
            "/admin/v1/me/connections/{conn}/test",
            "testMyConnection",
            "Test one of your connections now.",
            me,
            Own,
            None,
            (200, "What the test found.", Some(schema::<TestResult>)),
            &[500],
            post(test_my_connection),
        ),
        op(
            "patch",
            "/admin/v1/me/connections/{conn}",
            "updateMyConnection",
            "Change one of your connections: a new token, URL or options (tested before they are stored unless `test` is false), its name, or whether it is active.",
            me,
            Own,
            Some(schema::<UpdateConnectionIn>),
            (
                200,
                "The connection as changed.",
                Some(schema::<ConnectionSummary>),
            ),
            &[403, 409, 500],
            patch(update_my_connection),
        ),
        op(
            "delete",
            "/admin/v1/me/connections/{conn}",
            "removeMyConnection",
            "Remove one of your connections.",
            me,
            Own,
            None,
            (
                200,
                "Removed; your default connection now.",
                Some(schema::<RemoveResult>),
            ),
            &[403],
            delete(remove_my_connection),
        ),
    ];
    for o in &mut all {
        if o.id == "listAuditEvents" {
            o.query = AUDIT_QUERY;
        }
        if o.id == "listUsers" {
            o.query = USERS_QUERY;
        }
        if matches!(
            o.id,
            "listUserKeys" | "listUserConnections" | "listMyKeys" | "listMyConnections"
        ) {
            o.query = PAGED;
            o.errors = &[422];
        }
    }
    all
}

async fn openapi_json() -> axum::Json<Value> {
    axum::Json(document())
}

fn param_description(name: &str) -> &'static str {
    match name {
        "id" => "The user's id.",
        "key_id" => "The key's id.",
        "conn" => "The connection's name or id.",
        "external_id" => {
            "Another system's id for the connection (e.g. an agent backend's provider id)."
        }
        _ => "",
    }
}

fn status_text(status: u16) -> &'static str {
    match status {
        400 => "malformed_request: the body is not JSON.",
        401 => {
            "unauthorized: no key, or a key that is malformed, unknown, revoked, expired or whose user is disabled."
        }
        403 => "forbidden: the key lacks the scope or role this needs.",
        404 => "not_found: no such resource (or not one of yours).",
        409 => "conflict: the change conflicts with what is stored.",
        413 => "payload_too_large.",
        422 => {
            "invalid_request (or connection_test_failed): the request is well-formed but not acceptable."
        }
        500 => "internal_error.",
        503 => "database_unavailable.",
        _ => "",
    }
}

/// The OpenAPI 3.1 document of the admin API.
pub fn document() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.definitions_path = "/components/schemas".into();
    let mut generator = SchemaGenerator::new(settings);
    let error = generator.subschema_for::<ErrorBody>();
    let mut paths = Map::new();
    for o in operations() {
        let mut parameters: Vec<Value> = o
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| {
                json!({ "name": name, "in": "path", "required": true,
                        "description": param_description(name), "schema": { "type": "string" } })
            })
            .collect();
        parameters.extend(o.query.iter().map(|(name, description)| {
            json!({ "name": name, "in": "query", "required": false,
                    "description": description, "schema": { "type": "string" } })
        }));
        let mut responses = Map::new();
        let (status, description, body) = o.ok;
        let mut ok = json!({ "description": description });
        if o.query.iter().any(|(name, _)| *name == "cursor") {
            ok["headers"] = json!({ "X-Next-Cursor": {
                "description": "The cursor of the next page; absent on the last page.",
                "schema": { "type": "string" } } });
        }
        match body {
            Some(f) => {
                ok["content"] =
                    json!({ "application/json": { "schema": f(&mut generator).to_value() } })
            }
            None if status != 204 => {
                ok["content"] = json!({ "application/json": { "schema": { "type": "object" } } })
            }
            None => {}
        }
        responses.insert(status.to_string(), ok);
        for e in o.error_statuses() {
            responses.insert(
                e.to_string(),
                json!({ "description": status_text(e),
                        "content": { "application/json": { "schema": error.clone().to_value() } } }),
            );
        }
        let mut operation = json!({
            "operationId": o.id,
            "summary": o.summary,
            "tags": [o.tag],
            "responses": responses,
        });
        if !parameters.is_empty() {
            operation["parameters"] = Value::Array(parameters);
        }
        if let Some(f) = o.body {
            operation["requestBody"] = json!({ "required": true,
                "content": { "application/json": { "schema": f(&mut generator).to_value() } } });
        }
        operation["security"] = match o.access {
            Access::Public => json!([]),
            _ => json!([{ "bearer": [] }, { "apiKey": [] }]),
        };
        if o.access == Access::Admin {
            operation["x-pm-mcp-access"] = json!("admin");
        } else if o.access == Access::Own {
            operation["x-pm-mcp-access"] = json!("own");
        }
        let entry = paths.entry(o.path.to_string()).or_insert_with(|| json!({}));
        entry[o.method] = operation;
    }
    let schemas = generator.take_definitions(true);
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "pm-mcp admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Users, their API keys and tracker connections, and the audit trail. Admin operations need an administrator's key with the admin scope; `/admin/v1/me` operations act on the caller's own account (changes need the write scope). Errors are `{\"error\": \"<code>\", \"message\": \"…\"}`. Secrets are write-only: a new API key is shown once, in the answer that created it."
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "Authorization: Bearer pmcp_…" },
                "apiKey": { "type": "apiKey", "in": "header", "name": "X-API-Key" }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_unique_and_every_one_is_documented() {
        let ops = operations();
        let mut ids: Vec<&str> = ops.iter().map(|o| o.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ops.len(), "operation ids are unique");
        let doc = document();
        let mut documented = 0;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                documented += 1;
                assert!(
                    ops.iter().any(|o| o.path == path && o.method == method),
                    "{method} {path}"
                );
                let responses = operation["responses"].as_object().expect("responses");
                assert!(
                    responses.keys().any(|s| s.starts_with('2')),
                    "{method} {path}"
                );
            }
        }
        assert_eq!(documented, ops.len());
        // Every $ref points at a schema the document defines.
        let text = doc.to_string();
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().expect("name");
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "dangling $ref {name}"
            );
        }
    }

    #[test]
    fn no_answer_schema_has_a_place_for_a_provider_token() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                let answers = operation["responses"].to_string();
                for secret in ["api_token", "api_key\":{\"type\":\"string", "password"] {
                    assert!(!answers.contains(secret), "{method} {path}: {secret}");
                }
            }
        }
    }

    #[test]
    fn admin_openapi_is_pinned() {
        // After a deliberate change, regenerate with UPDATE_SNAPSHOTS=1 and review the diff.
        let pretty = serde_json::to_string_pretty(&document()).expect("serialise") + "\n";
        crate::assert_pinned("admin_openapi.json", &pretty, "the admin OpenAPI document");
    }
}
