//! A provider connection's credentials in the clear — only ever in memory, between the moment they
//! are typed and sealed, or unsealed and sent upstream.
use pm_core::{ConnectionId, Secret, UserId};
use serde::{Deserialize, Serialize};

use crate::seal::{MasterKeys, SealError, Sealed};

#[derive(Debug, Clone)]
pub struct ProviderCredentials {
    /// User name or account e-mail, for Basic auth.
    pub username: Option<String>,
    /// API token, personal access token, or password.
    pub token: Secret,
}

#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<std::borrow::Cow<'a, str>>,
    token: std::borrow::Cow<'a, str>,
}

impl ProviderCredentials {
    pub fn seal(&self, keys: &MasterKeys, connection: ConnectionId, owner: UserId) -> Sealed {
        let wire = Wire {
            username: self.username.as_deref().map(Into::into),
            token: self.token.expose().into(),
        };
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&wire).unwrap_or_default());
        keys.seal(&plain, connection, owner)
    }

    pub fn open(
        keys: &MasterKeys,
        sealed: &Sealed,
        connection: ConnectionId,
        owner: UserId,
    ) -> Result<Self, SealError> {
        let plain = keys.open(sealed, connection, owner)?;
        let wire: Wire<'_> = serde_json::from_slice(&plain).map_err(|_| SealError::Corrupt)?;
        Ok(Self {
            username: wire.username.map(|u| u.into_owned()),
            token: Secret::new(wire.token.into_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_round_trip_sealed() {
        let keys = MasterKeys::parse(&MasterKeys::generate_text(), None).unwrap();
        let (c, u) = (ConnectionId::new(), UserId::new());
        let creds = ProviderCredentials {
            username: Some("ann@acme.org".into()),
            token: Secret::new("tok-XYZ"),
        };
        let sealed = creds.seal(&keys, c, u);
        let back = ProviderCredentials::open(&keys, &sealed, c, u).unwrap();
        assert_eq!(back.username.as_deref(), Some("ann@acme.org"));
        assert_eq!(back.token.expose(), "tok-XYZ");
        assert!(!format!("{back:?}").contains("tok-XYZ"));
    }
}
