//! API keys as presented: the header a key comes in (`Authorization: Bearer`, `X-MCP-API-Key`,
//! `X-API-Key`) and the key's shape and checksum. A parsed key parses again to itself, never
//! shows its secret part in `Debug`, and a one-character change of a valid key never passes the
//! checksum.
#![no_main]
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use pm_mcp_fuzz::text;
use pm_server::auth::key_from_headers;
use pm_store::apikey::ApiKey;

/// A well-formed key (not one any server issued).
const VALID: &str = "pmcp_3fA9xQ2bK7mN1pR4sT6uV8wY0zC2eG4iJ6kL8nP0qS20AcCyO";

fuzz_target!(|data: &[u8]| {
    let s = text(data);
    if let Ok(key) = ApiKey::parse(&s) {
        let again = ApiKey::parse(key.expose()).expect("a parsed key parses again");
        assert!(again == key && again.hash() == key.hash());
        assert!(key.expose().starts_with("pmcp_") || key.expose().starts_with("mcp_"));
        assert!(key.expose().starts_with(&key.display_prefix()));
        assert!(
            !format!("{key:?}").contains(key.expose()),
            "Debug shows the key"
        );
        if !key.is_legacy() {
            assert_eq!(key.expose().len(), VALID.len());
        }
    }
    // One character of the valid key changed: refused (CRC-32 catches every one-byte change).
    if let [at, byte, ..] = data
        && (*byte as char).is_ascii_alphanumeric()
    {
        let at = usize::from(*at) % VALID.len();
        if at >= "pmcp_".len() && VALID.as_bytes()[at] != *byte {
            let mut changed = VALID.as_bytes().to_vec();
            changed[at] = *byte;
            let changed = String::from_utf8(changed).expect("ASCII");
            assert!(
                ApiKey::parse(&changed).is_err(),
                "{changed} passed the checksum"
            );
        }
    }
    // Header lines `name: value`; what comes back was sent, trimmed, in one of them.
    let mut headers = HeaderMap::new();
    for line in s.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = match name.trim().to_ascii_lowercase().as_str() {
            "a" => "authorization",
            "m" => "x-mcp-api-key",
            "k" => "x-api-key",
            other => other,
        }
        .to_string();
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.trim_start().as_bytes()),
        ) {
            headers.append(n, v);
        }
    }
    if let Ok(key) = key_from_headers(&headers) {
        assert!(!key.is_empty() && key.trim() == key, "{key:?}");
        assert!(
            headers
                .values()
                .any(|v| v.as_bytes().windows(key.len()).any(|w| w == key.as_bytes())),
            "{key:?} was not sent"
        );
    }
});
