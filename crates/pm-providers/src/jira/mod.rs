//! Jira Cloud (REST v3, e-mail + API token as Basic) and Jira Data Center / Server (REST v2,
//! personal access token as Bearer, or Basic). One client; the edition picks the API version and
//! the paging style.
mod map;
pub mod wire;

use async_trait::async_trait;
use base64::Engine as _;
use pm_core::{
    Page, PageRequest, Project, Provider, ProviderError, ProviderKind, ProviderResult, SiteInfo,
    User,
};
use reqwest::header::HeaderValue;

use crate::http::{HttpSettings, Upstream};
use crate::{Credentials, cursor};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edition {
    Cloud,
    DataCenter,
}

pub struct Jira {
    up: Upstream,
    edition: Edition,
}

impl Jira {
    pub fn new(
        client: reqwest::Client,
        edition: Edition,
        base_url: &str,
        creds: &Credentials,
        settings: HttpSettings,
    ) -> ProviderResult<Self> {
        let auth = match (&creds.username, creds.bearer) {
            (_, true) => format!("Bearer {}", creds.token),
            (Some(user), false) => {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD
                        .encode(format!("{user}:{}", creds.token))
                )
            }
            (None, false) => {
                return Err(ProviderError::BadInput(
                    "Jira Basic auth needs a user name or e-mail".into(),
                ));
            }
        };
        let auth = HeaderValue::from_str(&auth).map_err(|_| {
            ProviderError::BadInput("the token contains characters a header cannot carry".into())
        })?;
        let name = match edition {
            Edition::Cloud => "Jira Cloud",
            Edition::DataCenter => "Jira Data Center",
        };
        let up = Upstream::new(
            client,
            base_url,
            "authorization",
            auth,
            name,
            map::error_text,
            settings,
        )?;
        Ok(Self { up, edition })
    }

    fn api(&self, path: &str) -> String {
        match self.edition {
            Edition::Cloud => format!("rest/api/3/{path}"),
            Edition::DataCenter => format!("rest/api/2/{path}"),
        }
    }

    fn site_url(&self) -> String {
        self.up.base().as_str().trim_end_matches('/').to_string()
    }
}

#[async_trait]
impl Provider for Jira {
    fn kind(&self) -> ProviderKind {
        match self.edition {
            Edition::Cloud => ProviderKind::JiraCloud,
            Edition::DataCenter => ProviderKind::JiraDataCenter,
        }
    }

    async fn whoami(&self) -> ProviderResult<User> {
        let me: wire::User = self.up.get(&self.api("myself"), &[]).await?;
        Ok(map::user(me))
    }

    async fn site(&self) -> ProviderResult<SiteInfo> {
        let info: wire::ServerInfo = self.up.get(&self.api("serverInfo"), &[]).await?;
        let product = match info.deployment_type.as_deref() {
            Some("Cloud") => "Jira Cloud".to_string(),
            Some("DataCenter") => "Jira Data Center".to_string(),
            Some("Server") => "Jira Server".to_string(),
            _ => self.up.provider().to_string(),
        };
        Ok(SiteInfo {
            product,
            version: info.version,
            base_url: info.base_url.unwrap_or_else(|| self.site_url()),
        })
    }

    async fn list_projects(&self, page: &PageRequest) -> ProviderResult<Page<Project>> {
        self.projects(None, page).await
    }

    async fn search_projects(
        &self,
        query: &str,
        page: &PageRequest,
    ) -> ProviderResult<Page<Project>> {
        let query = query.trim();
        if query.is_empty() {
            return Err(ProviderError::BadInput("the search text is empty".into()));
        }
        self.projects(Some(query), page).await
    }

    async fn get_project(&self, id: &str) -> ProviderResult<Project> {
        let id = id.trim();
        if id.is_empty() || id.contains('/') || id.contains('?') || id.contains('#') {
            return Err(ProviderError::BadInput(format!(
                "{id:?} is not a Jira project key or id"
            )));
        }
        let p: wire::Project = self
            .up
            .get(&self.api(&format!("project/{id}")), &[])
            .await
            .map_err(|e| match e {
                ProviderError::NotFound { .. } => ProviderError::NotFound {
                    what: format!("Jira project {id}"),
                },
                other => other,
            })?;
        Ok(map::project(p, &self.site_url()))
    }
}

impl Jira {
    /// Cloud pages on the server (`project/search`); Data Center lists every project at once
    /// (`project`), so pm-mcp pages that list itself.
    async fn projects(
        &self,
        query: Option<&str>,
        page: &PageRequest,
    ) -> ProviderResult<Page<Project>> {
        let start = cursor::decode_offset(page.cursor.as_deref())?;
        let site = self.site_url();
        match self.edition {
            Edition::Cloud => {
                let mut q = vec![
                    ("startAt", start.to_string()),
                    ("maxResults", page.limit.to_string()),
                    ("orderBy", "key".to_string()),
                ];
                if let Some(text) = query {
                    q.push(("query", text.to_string()));
                }
                let bean: wire::PageBean<wire::Project> =
                    self.up.get(&self.api("project/search"), &q).await?;
                let got = bean.values.len() as u64;
                let last = bean.is_last.unwrap_or(got == 0)
                    || bean.total.is_some_and(|t| bean.start_at + got >= t);
                Ok(Page {
                    items: bean
                        .values
                        .into_iter()
                        .map(|p| map::project(p, &site))
                        .collect(),
                    next: (!last && got > 0).then(|| cursor::encode_offset(bean.start_at + got)),
                })
            }
            Edition::DataCenter => {
                let all: Vec<wire::Project> = self.up.get(&self.api("project"), &[]).await?;
                let needle = query.map(str::to_lowercase);
                let matching: Vec<wire::Project> = all
                    .into_iter()
                    .filter(|p| {
                        needle.as_ref().is_none_or(|n| {
                            p.name.to_lowercase().contains(n) || p.key.to_lowercase().contains(n)
                        })
                    })
                    .collect();
                let total = matching.len() as u64;
                let items: Vec<Project> = matching
                    .into_iter()
                    .skip(start as usize)
                    .take(page.limit as usize)
                    .map(|p| map::project(p, &site))
                    .collect();
                let end = start + items.len() as u64;
                Ok(Page {
                    items,
                    next: (end < total).then(|| cursor::encode_offset(end)),
                })
            }
        }
    }
}
