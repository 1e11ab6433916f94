//! What a provider connection is made of: the tracker kind, how it authenticates, its short
//! handle, and its base URL — each validated once here.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::InvalidInput;

/// The project-management systems pm-mcp speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    JiraCloud,
    JiraDataCenter,
    #[serde(rename = "openproject")]
    OpenProject,
    #[serde(rename = "clickup")]
    ClickUp,
    Redmine,
}

impl ProviderKind {
    pub const ALL: [ProviderKind; 5] = [
        ProviderKind::JiraCloud,
        ProviderKind::JiraDataCenter,
        ProviderKind::OpenProject,
        ProviderKind::ClickUp,
        ProviderKind::Redmine,
    ];

    /// The stored and displayed name (`jira_cloud`, `redmine`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::JiraCloud => "jira_cloud",
            ProviderKind::JiraDataCenter => "jira_data_center",
            ProviderKind::OpenProject => "openproject",
            ProviderKind::ClickUp => "clickup",
            ProviderKind::Redmine => "redmine",
        }
    }

    /// The product's name, for messages.
    pub fn display_name(self) -> &'static str {
        match self {
            ProviderKind::JiraCloud => "Jira Cloud",
            ProviderKind::JiraDataCenter => "Jira Data Center",
            ProviderKind::OpenProject => "OpenProject",
            ProviderKind::ClickUp => "ClickUp",
            ProviderKind::Redmine => "Redmine",
        }
    }

    /// The authentication schemes this provider accepts; the first is the default.
    pub fn auth_kinds(self) -> &'static [AuthKind] {
        match self {
            // Atlassian account e-mail + API token as Basic.
            ProviderKind::JiraCloud => &[AuthKind::Basic],
            // Personal access token as Bearer; Basic user + password on older servers.
            ProviderKind::JiraDataCenter => &[AuthKind::Bearer, AuthKind::Basic],
            // Basic `apikey:<token>`.
            ProviderKind::OpenProject => &[AuthKind::ApiKey],
            // Personal token in `Authorization`.
            ProviderKind::ClickUp => &[AuthKind::ApiKey],
            // `X-Redmine-API-Key`.
            ProviderKind::Redmine => &[AuthKind::ApiKey],
        }
    }

    pub fn default_auth_kind(self) -> AuthKind {
        self.auth_kinds()[0]
    }

    /// The Jira edition a plain `jira` means at `host`: Cloud for Atlassian's own hosts
    /// (`*.atlassian.net`, `*.jira.com`), Data Center otherwise.
    pub fn jira_at(host: &str) -> ProviderKind {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let cloud = [".atlassian.net", ".jira.com"]
            .iter()
            .any(|suffix| host.ends_with(suffix));
        if cloud {
            ProviderKind::JiraCloud
        } else {
            ProviderKind::JiraDataCenter
        }
    }

    /// The base URL a provider always has, when there is only one (ClickUp's cloud API).
    pub fn fixed_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::ClickUp => Some("https://api.clickup.com/api"),
            _ => None,
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProviderKind {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        Ok(match norm.as_str() {
            "jira_cloud" | "jira" => ProviderKind::JiraCloud,
            "jira_data_center" | "jira_dc" | "jira_server" => ProviderKind::JiraDataCenter,
            // The reference server's names for OpenProject's API generations.
            "openproject" | "open_project" | "openproject_v13" | "openproject_v16" => {
                ProviderKind::OpenProject
            }
            "clickup" | "click_up" => ProviderKind::ClickUp,
            "redmine" => ProviderKind::Redmine,
            _ => {
                let known: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
                return Err(InvalidInput::new(format!(
                    "unknown provider {s:?}; use one of {}",
                    known.join(", ")
                )));
            }
        })
    }
}

impl ProviderKind {
    /// The kind a reference-server `provider_type` means at `base_url`: `jira` is Jira Cloud on
    /// Atlassian's hosts (`*.atlassian.net`, `*.jira.com`) and Jira Data Center elsewhere;
    /// `openproject_v13` and `openproject_v16` are OpenProject; pm-mcp's own names are taken as
    /// they are. `None` for anything else (the reference stored unchecked values, and `mock`).
    pub fn from_reference(provider_type: &str, base_url: &str) -> Option<Self> {
        let norm = provider_type.trim().to_ascii_lowercase();
        match norm.as_str() {
            "jira" => {
                let host = url::Url::parse(base_url.trim())
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
                    .unwrap_or_default();
                Some(ProviderKind::jira_at(&host))
            }
            "openproject_v13" | "openproject_v16" => Some(ProviderKind::OpenProject),
            "mock" => None,
            other => other.parse().ok(),
        }
    }
}

/// How pm-mcp presents the stored credentials to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// HTTP Basic with a user name (or e-mail) and a token or password.
    Basic,
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// The provider's own API-key scheme.
    ApiKey,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Basic => "basic",
            AuthKind::Bearer => "bearer",
            AuthKind::ApiKey => "api_key",
        }
    }

    /// Whether credentials of this kind carry a user name beside the token.
    pub fn needs_username(self) -> bool {
        matches!(self, AuthKind::Basic)
    }
}

impl fmt::Display for AuthKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuthKind {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "basic" => Ok(AuthKind::Basic),
            "bearer" | "pat" => Ok(AuthKind::Bearer),
            "api_key" | "apikey" | "token" => Ok(AuthKind::ApiKey),
            _ => Err(InvalidInput::new(format!(
                "unknown auth kind {s:?}; use basic, bearer or api_key"
            ))),
        }
    }
}

/// A connection's short handle (`acme-jira`): unique per user, and the prefix of qualified ids
/// (`acme-jira:PROJ-42`), so it may not contain `:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConnectionHandle(String);

impl ConnectionHandle {
    pub const MAX_LEN: usize = 40;

    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let value = raw.trim();
        let ok_len = !value.is_empty() && value.len() <= Self::MAX_LEN;
        let mut chars = value.chars();
        let ok_first = chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let ok_rest =
            chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if ok_len && ok_first && ok_rest {
            Ok(Self(value.to_string()))
        } else {
            Err(InvalidInput::new(format!(
                "{raw:?} is not a valid connection name: use 1-{} lower-case letters, digits, '-' or '_', starting with a letter or digit (e.g. acme-jira)",
                Self::MAX_LEN
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A handle made from a display name ("My JIRA" → `my-jira`): lower-case letters, digits
    /// and `_` kept, every run of other characters one `-`, trimmed, at most `MAX_LEN`; `None`
    /// when nothing usable is left.
    pub fn derive(name: &str) -> Option<Self> {
        let mut out = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                out.push(c);
            } else if !out.ends_with('-') {
                out.push('-');
            }
        }
        let trimmed = |s: &str| s.trim_matches(|c| c == '-' || c == '_').to_string();
        let mut out = trimmed(&out);
        if out.len() > Self::MAX_LEN {
            out.truncate(Self::MAX_LEN);
            out = trimmed(&out);
        }
        Self::parse(&out).ok()
    }

    /// `derive`, or `fallback` when nothing usable is left.
    pub fn derive_or(name: &str, fallback: &str) -> Result<Self, InvalidInput> {
        match Self::derive(name) {
            Some(h) => Ok(h),
            None => Self::parse(fallback),
        }
    }

    /// This handle with `-n` at the end (shortened to fit), to tell it from a taken one.
    pub fn with_suffix(&self, n: usize) -> Self {
        let tail = format!("-{n}");
        let keep = Self::MAX_LEN.saturating_sub(tail.len());
        let head: String = self.0.chars().take(keep).collect();
        Self(format!("{}{tail}", head.trim_end_matches('-')))
    }
}

impl fmt::Display for ConnectionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ConnectionHandle {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ConnectionHandle {
    type Error = InvalidInput;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ConnectionHandle> for String {
    fn from(value: ConnectionHandle) -> Self {
        value.0
    }
}

/// A provider's base URL: http(s), a host, no credentials, no query or fragment, no trailing `/`.
/// Plain `http` is refused unless the caller allows it (an operator's choice for on-prem and tests).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BaseUrl(String);

impl BaseUrl {
    /// Parses an https URL; `http` only if `allow_http`.
    pub fn parse(raw: &str, allow_http: bool) -> Result<Self, InvalidInput> {
        let url = Url::parse(raw.trim()).map_err(|e| {
            InvalidInput::new(format!(
                "{raw:?} is not a URL ({e}); expected e.g. https://acme.atlassian.net"
            ))
        })?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            "http" => {
                return Err(InvalidInput::new(format!(
                    "{raw:?} uses plain http; provider URLs must be https (an operator can allow http for on-prem trackers)"
                )));
            }
            other => {
                return Err(InvalidInput::new(format!(
                    "{raw:?} has scheme {other:?}; expected https"
                )));
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(InvalidInput::new(format!("{raw:?} has no host")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidInput::new(
                "the base URL must not contain credentials; pass them separately so they are sealed",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(InvalidInput::new(format!(
                "{raw:?} must not have a query or fragment"
            )));
        }
        let text = url.as_str().trim_end_matches('/').to_string();
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host name (or address), lower-case.
    pub fn host(&self) -> String {
        Url::parse(&self.0)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
            .unwrap_or_default()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for BaseUrl {
    type Error = InvalidInput;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        // Values read back from storage were validated when written, http included.
        Self::parse(&value, true)
    }
}

impl From<BaseUrl> for String {
    fn from(value: BaseUrl) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_provider_types_and_display_names() {
        let k = |t: &str, u: &str| ProviderKind::from_reference(t, u);
        assert_eq!(
            k("jira", "https://acme.atlassian.net"),
            Some(ProviderKind::JiraCloud)
        );
        assert_eq!(
            k("jira", "https://x.jira.com/"),
            Some(ProviderKind::JiraCloud)
        );
        assert_eq!(
            k("jira", "https://jira.acme.internal"),
            Some(ProviderKind::JiraDataCenter)
        );
        assert_eq!(
            k("openproject_v13", "http://op"),
            Some(ProviderKind::OpenProject)
        );
        assert_eq!(
            k("openproject_v16", "http://op"),
            Some(ProviderKind::OpenProject)
        );
        assert_eq!(k("clickup", ""), Some(ProviderKind::ClickUp));
        assert_eq!(k("mock", ""), None);
        assert_eq!(k("trello", ""), None);
        let d = |s: &str| ConnectionHandle::derive(s).map(|h| h.as_str().to_string());
        assert_eq!(d("My JIRA"), Some("my-jira".into()));
        assert_eq!(
            d("  Équipe — OpenProject (v13) "),
            Some("quipe-openproject-v13".into())
        );
        assert_eq!(d("!!!"), None);
        assert_eq!(
            d(&"x".repeat(60)).map(|h| h.len()),
            Some(ConnectionHandle::MAX_LEN)
        );
        let h = ConnectionHandle::parse("my-jira").unwrap();
        assert_eq!(h.with_suffix(2).as_str(), "my-jira-2");
        let long = ConnectionHandle::derive(&"y".repeat(60)).unwrap();
        assert_eq!(
            long.with_suffix(12).as_str().len(),
            ConnectionHandle::MAX_LEN
        );
    }

    #[test]
    fn provider_kinds_parse_with_aliases() {
        assert_eq!(
            "jira-cloud".parse::<ProviderKind>(),
            Ok(ProviderKind::JiraCloud)
        );
        assert_eq!(
            "Jira_DC".parse::<ProviderKind>(),
            Ok(ProviderKind::JiraDataCenter)
        );
        for k in ProviderKind::ALL {
            assert_eq!(k.as_str().parse::<ProviderKind>(), Ok(k));
        }
        for k in ProviderKind::ALL {
            let json = serde_json::to_value(k).unwrap();
            assert_eq!(json, k.as_str(), "serde and as_str agree");
        }
        let err = "trello".parse::<ProviderKind>().unwrap_err();
        assert!(err.0.contains("redmine"), "lists the known kinds: {err}");
    }

    #[test]
    fn handles_are_short_lowercase_and_colon_free() {
        assert!(ConnectionHandle::parse("acme-jira").is_ok());
        assert!(ConnectionHandle::parse("r2_d2").is_ok());
        for bad in ["", "Acme", "acme:jira", "-x", "a b", &"x".repeat(41), "ü"] {
            assert!(ConnectionHandle::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn display_names_become_handles() {
        let d = |s: &str| ConnectionHandle::derive_or(s, "jira").map(|h| h.to_string());
        assert_eq!(d("My JIRA").as_deref(), Ok("my-jira"));
        assert_eq!(
            d("jira - https://acme.atlassian.net/").as_deref(),
            Ok("jira-https-acme-atlassian-net")
        );
        assert_eq!(d("  --Team_A  (prod)--").as_deref(), Ok("team_a-prod"));
        assert_eq!(d("Übersicht Büro").as_deref(), Ok("bersicht-b-ro"));
        assert_eq!(d("!!!").as_deref(), Ok("jira"));
        assert_eq!(d("").as_deref(), Ok("jira"));
        let long = d(&format!("{} x", "a".repeat(39))).expect("derives");
        assert_eq!(long, "a".repeat(39), "cut at 40 and the dash trimmed");
        assert_eq!(d(&"B".repeat(60)).map(|h| h.len()), Ok(40));
        // A valid handle comes back unchanged.
        assert_eq!(d("acme-jira").as_deref(), Ok("acme-jira"));
    }

    #[test]
    fn plain_jira_is_cloud_on_atlassian_hosts_only() {
        assert_eq!(
            ProviderKind::jira_at("acme.atlassian.net"),
            ProviderKind::JiraCloud
        );
        assert_eq!(
            ProviderKind::jira_at("ACME.Jira.com."),
            ProviderKind::JiraCloud
        );
        assert_eq!(
            ProviderKind::jira_at("jira.acme.org"),
            ProviderKind::JiraDataCenter
        );
        assert_eq!(
            ProviderKind::jira_at("127.0.0.1"),
            ProviderKind::JiraDataCenter
        );
        assert_eq!(
            ProviderKind::jira_at("atlassian.net.evil.org"),
            ProviderKind::JiraDataCenter
        );
        for v in ["openproject_v13", "OpenProject-v16"] {
            assert_eq!(v.parse::<ProviderKind>(), Ok(ProviderKind::OpenProject));
        }
    }

    #[test]
    fn base_urls_are_https_without_secrets() {
        assert_eq!(
            BaseUrl::parse("https://acme.atlassian.net/", false)
                .unwrap()
                .as_str(),
            "https://acme.atlassian.net"
        );
        assert_eq!(
            BaseUrl::parse("https://x.org/redmine/", false)
                .unwrap()
                .as_str(),
            "https://x.org/redmine"
        );
        assert!(BaseUrl::parse("http://x.org", false).is_err());
        assert!(BaseUrl::parse("http://127.0.0.1:3000", true).is_ok());
        assert!(BaseUrl::parse("ftp://x.org", true).is_err());
        assert!(BaseUrl::parse("https://user:pw@x.org", false).is_err());
        assert!(BaseUrl::parse("https://x.org/?a=1", false).is_err());
        assert!(BaseUrl::parse("not a url", false).is_err());
    }
}
