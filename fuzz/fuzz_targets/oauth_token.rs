//! Bearer tokens from an identity provider (OAuth sign-in): everything read before and around
//! the signature check — the JWT shape test, header (algorithm, type, key id), the unverified
//! issuer, the signature — and the claims read after it (scopes, user, `email_verified`, name).
//! No input verifies (the fuzzer holds no signing key), no refusal repeats the token, and what
//! the claims grant follows the rules.
#![no_main]
use std::sync::OnceLock;
use std::time::Duration;

use jsonwebtoken::DecodingKey;
use libfuzzer_sys::fuzz_target;
use pm_mcp_fuzz::text;
use pm_server::manage::is_unprintable;
use pm_server::oauth::{ClaimMatch, OAuthSettings, ScopeNames, TokenVerifier};
use serde_json::{Map, Value};

const ISSUER: &str = "https://idp.example.org";

fn verifier() -> &'static TokenVerifier {
    static V: OnceLock<TokenVerifier> = OnceLock::new();
    V.get_or_init(|| {
        let settings = OAuthSettings {
            issuers: vec![ISSUER.into()],
            resource: "https://pm.example.org/mcp".into(),
            extra_audiences: vec![],
            scope_names: ScopeNames::default(),
            user_claim: "email".into(),
            create_users: false,
            admin_claim: ClaimMatch::parse("groups=pm-admins").ok(),
            leeway: Duration::from_secs(60),
        };
        let v = TokenVerifier::new(settings).expect("the settings are valid");
        // RFC 8037's example Ed25519 public key: its private half is published, not ours.
        let key = DecodingKey::from_ed_components("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .expect("a key");
        v.trust_key_for_fuzzing(ISSUER, "k1", key);
        v
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let v = verifier();
    if mode % 2 == 0 {
        let token = text(rest);
        let _ = TokenVerifier::looks_like_jwt(&token);
        match v.verify_for_fuzzing(&token) {
            Ok(t) => panic!("{token:?} verified without a signature: {t:?}"),
            Err(e) => {
                let shown = e.to_string();
                // A token's text (base64url parts and dots), not words of the messages' own
                // wording, which the fuzzer learns and sends back.
                let t = token.trim();
                if t.len() >= 16
                    && t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                {
                    assert!(!shown.contains(t), "the refusal repeats the token");
                }
            }
        }
        return;
    }
    let Ok(Value::Object(claims)) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    let claims: Map<String, Value> = claims;
    if let Ok(t) = v.read_claims_for_fuzzing(ISSUER, &claims) {
        assert!(!t.scopes.to_vec().is_empty(), "a sign-in without a scope");
        assert_eq!(Some(&Value::from(t.email.clone())), claims.get("email"));
        assert_eq!(Some(&Value::from(t.subject.clone())), claims.get("sub"));
        match claims.get("email_verified") {
            None | Some(Value::Null) | Some(Value::Bool(true)) => {}
            Some(Value::String(s)) => assert!(s.trim().eq_ignore_ascii_case("true"), "{s:?}"),
            Some(other) => panic!("email_verified {other} signed in"),
        }
        if let Some(name) = &t.name {
            assert!(!name.chars().any(is_unprintable), "name {name:?}");
        }
        assert_eq!(
            t.expires_at.timestamp(),
            claims.get("exp").and_then(Value::as_i64).unwrap_or(0)
        );
        assert!(t.admin.is_some(), "the admin claim is configured");
    }
});
