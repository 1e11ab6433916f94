//! The comments toolset: comment on a task, read a task's comments.
use pm_core::{Comment, PageRequest};
use rmcp::handler::server::common::Extension;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ToolError;
use crate::auth::Principal;
use crate::server::PmServer;

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CommentArgs {
    pub task_id: String,
    /// Markdown.
    pub comment: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct TaskPageArgs {
    pub task_id: String,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CommentOut {
    pub comment: Comment,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CommentsOut {
    pub comments: Vec<Comment>,
    pub next_cursor: Option<String>,
}

/// The comments toolset.
pub(super) fn family() -> super::Family {
    super::Family {
        toolset: super::Toolset::Comments,
        router: PmServer::comments_router(),
        order: &["add_task_comment", "get_task_comments"],
    }
}

#[tool_router(router = comments_router, vis = "pub(crate)")]
impl PmServer {
    /// Add a comment (Markdown) to a task.
    #[tool(
        name = "add_task_comment",
        annotations(
            title = "Comment on a task",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn add_task_comment(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<CommentArgs>,
    ) -> Result<Json<CommentOut>, ToolError> {
        let (tracker, id) = self.tracker_of(&p, &a.task_id).await?;
        let body = a.comment;
        // Comments come back as the tracker gives them (their authors' ids unqualified).
        let comment = tracker
            .call_native(|t| async move { t.add_comment(&id, &body).await })
            .await?;
        Ok(Json(CommentOut { comment }))
    }

    /// A task's comments, oldest first, as Markdown.
    #[tool(
        name = "get_task_comments",
        annotations(
            title = "Read a task's comments",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_task_comments(
        &self,
        Extension(p): Extension<Principal>,
        Parameters(a): Parameters<TaskPageArgs>,
    ) -> Result<Json<CommentsOut>, ToolError> {
        let (tracker, id) = self.tracker_of(&p, &a.task_id).await?;
        let page = PageRequest::new(a.cursor, a.limit);
        let page = tracker
            .call_native(|t| async move { t.list_comments(&id, &page).await })
            .await?;
        Ok(Json(CommentsOut {
            comments: page.items,
            next_cursor: page.next,
        }))
    }
}
