//! What a tracker connection is made of, typed: the tracker, its address, how it signs in (with
//! the secret still a [`Secret`]) and its options. [`ConnectionSpec`] is the one thing a provider
//! client is built from; [`SignIn::choose`] holds the sign-in rules for every way a connection is
//! added (the tools, the admin API, an agent backend's sync, the CLI, the import).
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{AuthKind, BaseUrl, InvalidInput, ProviderKind, Secret};

/// A connection's options, as stored with it (its `config`). Each is taken by one tracker only;
/// [`ConnectionOptions::check`] refuses one given for another.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionOptions {
    /// ClickUp: the workspace (team) the connection works in; found from the token when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<WorkspaceId>,
    /// Redmine: the site's text formatting (its REST API does not tell); Textile when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_format: Option<TextFormat>,
    /// OpenProject: whether pm-mcp's changes mail the people interested in a work package
    /// (absent: single changes do, bulk changes do not).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "bool_or_text",
        serialize_with = "bool_as_text"
    )]
    pub notify: Option<bool>,
}

impl ConnectionOptions {
    /// Refuses an option `kind` does not take, naming the tracker it belongs to.
    pub fn check(&self, kind: ProviderKind) -> Result<(), InvalidInput> {
        let refuse = |option: &str, owner: &str| {
            Err(InvalidInput::new(format!(
                "{option} is a{owner} option; {kind} connections take no {option}"
            )))
        };
        if self.workspace_id.is_some() && kind != ProviderKind::ClickUp {
            return refuse("workspace_id", " ClickUp");
        }
        if self.text_format.is_some() && kind != ProviderKind::Redmine {
            return refuse("text_format", " Redmine");
        }
        if self.notify.is_some() && kind != ProviderKind::OpenProject {
            return refuse("notify", "n OpenProject");
        }
        Ok(())
    }

    /// Only the options `kind` takes: a stored row may hold another tracker's (earlier versions
    /// stored what was given, and a connection may have changed tracker), which no client reads.
    pub fn only_for(self, kind: ProviderKind) -> ConnectionOptions {
        ConnectionOptions {
            workspace_id: self.workspace_id.filter(|_| kind == ProviderKind::ClickUp),
            text_format: self.text_format.filter(|_| kind == ProviderKind::Redmine),
            notify: self.notify.filter(|_| kind == ProviderKind::OpenProject),
        }
    }

    /// These options over `older`: each one given here wins, the others are kept.
    pub fn over(self, older: &ConnectionOptions) -> ConnectionOptions {
        ConnectionOptions {
            workspace_id: self.workspace_id.or(older.workspace_id),
            text_format: self.text_format.or(older.text_format),
            notify: self.notify.or(older.notify),
        }
    }

    /// The options as `key=value` words (the CLI's `--option`), each key one of the fields.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), InvalidInput> {
        let value = value.trim();
        match key.trim() {
            "workspace_id" => self.workspace_id = Some(value.parse()?),
            "text_format" => self.text_format = Some(value.parse()?),
            "notify" => self.notify = parse_notify(value)?,
            other => {
                return Err(InvalidInput::new(format!(
                    "unknown connection option {other:?}; the options are workspace_id (ClickUp), \
                     text_format (Redmine) and notify (OpenProject)"
                )));
            }
        }
        Ok(())
    }
}

fn parse_notify(value: &str) -> Result<Option<bool>, InvalidInput> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        other => Err(InvalidInput::new(format!(
            "notify is true or false (whether OpenProject mails watchers, author and assignee \
             about pm-mcp's changes), not {other:?}"
        ))),
    }
}

/// `notify` was stored as the text "true"/"false" by earlier versions; both forms are read.
fn bool_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Bool(b)) => Ok(Some(b)),
        Some(Raw::Text(t)) => parse_notify(&t).map_err(serde::de::Error::custom),
    }
}

fn bool_as_text<S: Serializer>(v: &Option<bool>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(b) => s.serialize_str(if *b { "true" } else { "false" }),
        None => s.serialize_none(),
    }
}

/// A ClickUp workspace (team) id: digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkspaceId(u64);

impl WorkspaceId {
    pub fn get(self) -> u64 {
        self.0
    }
}

impl FromStr for WorkspaceId {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(WorkspaceId).map_err(|_| {
            InvalidInput::new(format!(
                "workspace_id {s:?} is not a ClickUp workspace id (its digits, as in the address \
                 app.clickup.com/<workspace id>/…)"
            ))
        })
    }
}

impl fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

// Stored as text, as it was given (and as ClickUp's API spells team ids in JSON).
impl Serialize for WorkspaceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for WorkspaceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(WorkspaceId(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// The text formatting a Redmine site is configured with (Administration → Settings → General).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextFormat {
    #[default]
    Textile,
    /// Redmine's Redcarpet "Markdown".
    Markdown,
    /// "CommonMark Markdown (GitHub Flavored)", Redmine 5 and later.
    CommonMark,
}

impl TextFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            TextFormat::Textile => "textile",
            TextFormat::Markdown => "markdown",
            TextFormat::CommonMark => "common_mark",
        }
    }
}

impl fmt::Display for TextFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TextFormat {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "" | "textile" => Ok(TextFormat::Textile),
            "markdown" | "redcarpet" => Ok(TextFormat::Markdown),
            "common_mark" | "commonmark" => Ok(TextFormat::CommonMark),
            _ => Err(InvalidInput::new(format!(
                "text_format {s:?} is not one Redmine has; use textile, markdown or common_mark (as set in Redmine's Administration → Settings → General → Text formatting)"
            ))),
        }
    }
}

impl Serialize for TextFormat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TextFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// How a connection signs in to its tracker, with the secret kept a [`Secret`] until the
/// provider client turns it into the request header it sends.
#[derive(Debug, Clone)]
pub enum SignIn {
    /// HTTP Basic: a user name (Jira Cloud: the account e-mail) and a token or password.
    Basic { username: String, token: Secret },
    /// `Authorization: Bearer <token>` (Jira Data Center's personal access tokens).
    Bearer(Secret),
    /// The tracker's own API-key scheme (OpenProject, ClickUp, Redmine).
    ApiKey(Secret),
}

impl SignIn {
    /// How `kind` signs in, from what was given: `chosen` when the caller chose (it must be one
    /// `kind` takes), else the tracker's rule — Jira Cloud with the account e-mail and an API
    /// token (Basic), Jira Data Center with a personal access token (Bearer), or Basic when a
    /// user name comes with it; the others with their API key. Basic needs the user name; a user
    /// name the sign-in would not send is refused, never stored unused.
    pub fn kind_for(
        kind: ProviderKind,
        chosen: Option<AuthKind>,
        username: Option<&str>,
    ) -> Result<AuthKind, InvalidInput> {
        let username = username.map(str::trim).filter(|u| !u.is_empty());
        let auth_kind = match chosen {
            Some(k) if !kind.auth_kinds().contains(&k) => {
                let ok: Vec<&str> = kind.auth_kinds().iter().map(|k| k.as_str()).collect();
                return Err(InvalidInput::new(format!(
                    "{kind} does not use {k} auth; use {}",
                    ok.join(" or ")
                )));
            }
            Some(k) => k,
            None if kind == ProviderKind::JiraDataCenter && username.is_some() => AuthKind::Basic,
            None => kind.default_auth_kind(),
        };
        match (auth_kind, username) {
            (AuthKind::Basic, None) if kind == ProviderKind::JiraCloud => Err(InvalidInput::new(
                "Jira Cloud needs username (your Atlassian account e-mail) with the API token",
            )),
            (AuthKind::Basic, None) => Err(InvalidInput::new(format!(
                "{kind} with basic auth needs a username"
            ))),
            (AuthKind::Bearer | AuthKind::ApiKey, Some(_)) => Err(InvalidInput::new(format!(
                "{kind} signs in with {auth_kind} auth, which sends no username; leave username out"
            ))),
            _ => Ok(auth_kind),
        }
    }

    /// The sign-in for `kind` from what was given ([`SignIn::kind_for`]'s rule) and its token.
    pub fn choose(
        kind: ProviderKind,
        chosen: Option<AuthKind>,
        username: Option<String>,
        token: Secret,
    ) -> Result<Self, InvalidInput> {
        let auth_kind = Self::kind_for(kind, chosen, username.as_deref())?;
        if token.expose().trim().is_empty() {
            return Err(InvalidInput::new(format!(
                "an API token is required for {kind}"
            )));
        }
        Ok(match (auth_kind, username) {
            (AuthKind::Basic, Some(username)) => SignIn::Basic {
                username: username.trim().to_string(),
                token,
            },
            (AuthKind::Basic, None) => {
                return Err(InvalidInput::new(format!(
                    "{kind} with basic auth needs a username"
                )));
            }
            (AuthKind::Bearer, _) => SignIn::Bearer(token),
            (AuthKind::ApiKey, _) => SignIn::ApiKey(token),
        })
    }

    pub fn auth_kind(&self) -> AuthKind {
        match self {
            SignIn::Basic { .. } => AuthKind::Basic,
            SignIn::Bearer(_) => AuthKind::Bearer,
            SignIn::ApiKey(_) => AuthKind::ApiKey,
        }
    }

    pub fn username(&self) -> Option<&str> {
        match self {
            SignIn::Basic { username, .. } => Some(username),
            _ => None,
        }
    }

    pub fn token(&self) -> &Secret {
        match self {
            SignIn::Basic { token, .. } | SignIn::Bearer(token) | SignIn::ApiKey(token) => token,
        }
    }
}

/// Everything a provider client is built from: one constructor shape for every tracker.
#[derive(Debug, Clone)]
pub struct ConnectionSpec {
    pub kind: ProviderKind,
    pub base_url: BaseUrl,
    pub sign_in: SignIn,
    pub options: ConnectionOptions,
}

impl ConnectionSpec {
    /// A spec whose options are checked against its tracker.
    pub fn new(
        kind: ProviderKind,
        base_url: BaseUrl,
        sign_in: SignIn,
        options: ConnectionOptions,
    ) -> Result<Self, InvalidInput> {
        options.check(kind)?;
        if !kind.auth_kinds().contains(&sign_in.auth_kind()) {
            return Err(InvalidInput::new(format!(
                "{kind} does not use {} auth",
                sign_in.auth_kind()
            )));
        }
        Ok(Self {
            kind,
            base_url,
            sign_in,
            options,
        })
    }

    /// The spec of a stored connection: its recorded auth kind, user name and token. A user name
    /// stored beside a token that is not sent as Basic (earlier versions kept what was given) is
    /// left out, as it always was; Basic without one cannot sign in.
    pub fn stored(
        kind: ProviderKind,
        base_url: BaseUrl,
        auth_kind: AuthKind,
        username: Option<String>,
        token: Secret,
        options: ConnectionOptions,
    ) -> Result<Self, InvalidInput> {
        let sign_in = match (auth_kind, username) {
            (AuthKind::Basic, Some(username)) => SignIn::Basic { username, token },
            (AuthKind::Basic, None) => {
                return Err(InvalidInput::new(format!(
                    "this {kind} connection signs in with basic auth but has no username; add it again with one"
                )));
            }
            (AuthKind::Bearer, _) => SignIn::Bearer(token),
            (AuthKind::ApiKey, _) => SignIn::ApiKey(token),
        };
        Self::new(kind, base_url, sign_in, options.only_for(kind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("t0ken")
    }

    #[test]
    fn sign_in_follows_each_trackers_rule() {
        let cloud = SignIn::choose(
            ProviderKind::JiraCloud,
            None,
            Some(" ann@acme.org ".into()),
            secret(),
        )
        .expect("cloud");
        assert_eq!(cloud.auth_kind(), AuthKind::Basic);
        assert_eq!(cloud.username(), Some("ann@acme.org"));
        let no_mail = SignIn::choose(ProviderKind::JiraCloud, None, None, secret())
            .expect_err("cloud without e-mail");
        assert!(no_mail.0.contains("Atlassian account e-mail"), "{no_mail}");
        let pat = SignIn::choose(ProviderKind::JiraDataCenter, None, None, secret()).expect("pat");
        assert_eq!(pat.auth_kind(), AuthKind::Bearer);
        let dc_basic = SignIn::choose(
            ProviderKind::JiraDataCenter,
            None,
            Some("ann".into()),
            secret(),
        )
        .expect("dc basic");
        assert_eq!(dc_basic.auth_kind(), AuthKind::Basic);
        let op = SignIn::choose(ProviderKind::OpenProject, None, None, secret()).expect("op");
        assert_eq!(op.auth_kind(), AuthKind::ApiKey);
        // A user name nothing would send is refused, not stored unused.
        let stray = SignIn::choose(ProviderKind::Redmine, None, Some("ann".into()), secret())
            .expect_err("stray username");
        assert!(stray.0.contains("leave username out"), "{stray}");
        let pat_with_user = SignIn::choose(
            ProviderKind::JiraDataCenter,
            Some(AuthKind::Bearer),
            Some("ann".into()),
            secret(),
        )
        .expect_err("bearer with username");
        assert!(pat_with_user.0.contains("sends no username"));
        let wrong = SignIn::choose(ProviderKind::ClickUp, Some(AuthKind::Basic), None, secret())
            .expect_err("clickup basic");
        assert_eq!(wrong.0, "clickup does not use basic auth; use api_key");
        let empty = SignIn::choose(ProviderKind::Redmine, None, None, Secret::new("  "))
            .expect_err("empty token");
        assert!(empty.0.contains("required"));
        assert!(!format!("{cloud:?}").contains("t0ken"));
    }

    #[test]
    fn options_belong_to_one_tracker_and_read_what_earlier_versions_stored() {
        let stored = serde_json::json!({
            "workspace_id": "9001", "notify": "false", "organization_id": "x", "account_id": "y"
        });
        let o: ConnectionOptions = serde_json::from_value(stored).expect("stored options");
        assert_eq!(o.workspace_id.map(WorkspaceId::get), Some(9001));
        assert_eq!(o.notify, Some(false));
        // Written back without the keys nothing reads.
        assert_eq!(
            serde_json::to_value(&o).expect("json"),
            serde_json::json!({ "workspace_id": "9001", "notify": "false" })
        );
        let e = o
            .check(ProviderKind::ClickUp)
            .expect_err("notify on clickup");
        assert_eq!(
            e.0,
            "notify is an OpenProject option; clickup connections take no notify"
        );
        let redmine = ConnectionOptions {
            text_format: Some(TextFormat::Markdown),
            ..ConnectionOptions::default()
        };
        assert!(redmine.check(ProviderKind::Redmine).is_ok());
        // A stored row with another tracker's option still builds: the option is left out.
        let stored = ConnectionSpec::stored(
            ProviderKind::JiraCloud,
            BaseUrl::parse("https://acme.atlassian.net", false).expect("url"),
            AuthKind::Basic,
            Some("ann@acme.org".into()),
            Secret::new("t"),
            ConnectionOptions {
                workspace_id: Some(WorkspaceId(123)),
                ..redmine.clone()
            },
        )
        .expect("a stored row with a stray option");
        assert_eq!(stored.options, ConnectionOptions::default());
        assert!(redmine.check(ProviderKind::JiraCloud).is_err());
        let mut cli = ConnectionOptions::default();
        cli.set("text_format", "common-mark").expect("format");
        assert_eq!(cli.text_format, Some(TextFormat::CommonMark));
        assert!(cli.set("project_key", "PROJ").is_err());
        assert!(cli.set("notify", "yes").is_err());
        assert!("12a".parse::<WorkspaceId>().is_err());
        let bad: Result<ConnectionOptions, _> =
            serde_json::from_value(serde_json::json!({ "text_format": "html" }));
        assert!(bad.is_err());
    }
}
