//! The address policy, case by case: every bypass form we know of must be refused, public
//! addresses must pass, and the allow-list must lift exactly what it names.
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

fn strict() -> UpstreamPolicy {
    UpstreamPolicy::new(true, &[]).unwrap()
}

fn url(s: &str) -> Url {
    Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// URLs whose host is this machine, a private network or the metadata service, written every way
/// we could think of. Each must be refused before any connection.
pub(crate) const BYPASSES: &[&str] = &[
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/rest",
    "http://127.255.255.254/",
    "http://2130706433/",                             // decimal
    "http://0x7f000001/",                             // hex
    "http://0x7f.0x0.0x0.0x1/",                       // dotted hex
    "http://0x7f.1/",                                 // hex, short form
    "http://0177.0.0.1/",                             // octal
    "http://017700000001/",                           // octal, one number
    "http://127.1/",                                  // short form
    "http://127.0.1/",                                // short form
    "http://0/",                                      // 0.0.0.0
    "http://0.0.0.0/",                                // unspecified
    "http://[::]/",                                   // unspecified v6
    "http://[::1]/",                                  // loopback v6
    "http://[0:0:0:0:0:0:0:1]/",                      // loopback v6, long form
    "http://[::ffff:127.0.0.1]/",                     // IPv4-mapped
    "http://[::ffff:7f00:1]/",                        // IPv4-mapped, hex
    "http://[::127.0.0.1]/",                          // IPv4-compatible
    "http://[64:ff9b::7f00:1]/",                      // NAT64
    "http://[64:ff9b::a9fe:a9fe]/",                   // NAT64 of the metadata address
    "http://[2002:7f00:1::]/",                        // 6to4 of 127.0.0.1
    "http://[2002:a9fe:a9fe::1]/",                    // 6to4 of 169.254.169.254
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", // Teredo
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/", // 169.254.169.254 in decimal
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[fd00:ec2::254]/", // AWS metadata over IPv6
    "http://100.100.100.200/", // Alibaba metadata (CGNAT range)
    "http://10.0.0.1/",
    "http://10.255.255.255/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://192.0.0.170/",
    "http://198.18.0.1/",
    "http://192.0.2.1/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://[fe80::1]/",
    "http://[fe80::1%25eth0]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fec0::1]/",
    "http://[ff02::1]/",
    "http://[2001:db8::1]/",
    "http://localhost/",
    "http://localhost./",
    "http://LOCALHOST/",
    "http://LocalHost.:8080/",
    "http://api.localhost/",
    "http://a.b.localhost./",
    "http://localhost%2e/",                // percent-encoded dot
    "http://%6c%6f%63%61%6c%68%6f%73%74/", // percent-encoded name
    "http://\u{24db}ocalhost/",            // Unicode circled l, mapped to l by IDNA
    "http://ＬＯＣＡＬＨＯＳＴ/",          // full-width letters
    "http://127。0。0。1/",                // ideographic full stops
];

#[test]
fn every_bypass_form_is_refused() {
    let policy = strict();
    let mut unparsable = Vec::new();
    for raw in BYPASSES {
        match Url::parse(raw) {
            // A form the URL parser rejects can never be requested either.
            Err(_) => unparsable.push(*raw),
            Ok(u) => assert!(
                policy.check_url(&u).is_err(),
                "{raw} (parsed as {u}) was allowed"
            ),
        }
    }
    // Only the zone id form is rejected by the parser; every other one reaches the guard.
    assert_eq!(unparsable, ["http://[fe80::1%25eth0]/"]);
}

#[test]
fn the_url_parser_turns_numeric_hosts_into_addresses() {
    // The guard relies on this: these never reach a resolver as names.
    for (raw, ip) in [
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://0/", "0.0.0.0"),
        ("http://2852039166/", "169.254.169.254"),
    ] {
        assert_eq!(
            url(raw).host(),
            Some(Host::Ipv4(ip.parse().unwrap())),
            "{raw}"
        );
    }
    assert_eq!(url("http://localhost%2e/").host_str(), Some("localhost."));
}

#[test]
fn public_addresses_and_names_pass() {
    let policy = UpstreamPolicy::strict();
    for raw in [
        "https://acme.atlassian.net",
        "https://93.184.216.34/",
        "https://1.1.1.1/",
        "https://172.32.0.1/",     // just past 172.16/12
        "https://172.15.255.255/", // just before it
        "https://100.128.0.1/",    // just past 100.64/10
        "https://169.253.255.255/",
        "https://[2606:4700:4700::1111]/",
        "https://[::ffff:93.184.216.34]/",
        "https://[2002:5db8:d822::1]/", // 6to4 of a public address
        "https://notlocalhost/",
        "https://localhost.example.org/",
    ] {
        assert_eq!(policy.check_url(&url(raw)), Ok(()), "{raw}");
    }
}

#[test]
fn http_needs_the_operator_and_other_schemes_never_pass() {
    let https_only = UpstreamPolicy::strict();
    assert!(matches!(
        https_only.check_url(&url("http://acme.example.org")),
        Err(Refusal::Scheme(_))
    ));
    let http = UpstreamPolicy::new(true, &[]).unwrap();
    assert_eq!(http.check_url(&url("http://acme.example.org")), Ok(()));
    for raw in [
        "ftp://acme.example.org/",
        "file:///etc/passwd",
        "gopher://x/",
    ] {
        assert!(http.check_url(&url(raw)).is_err(), "{raw}");
    }
}

#[test]
fn embedded_ipv4_is_unwrapped() {
    for (v6, v4) in [
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::ffff:7f00:1", "127.0.0.1"),
        ("::10.0.0.1", "10.0.0.1"),
        ("::ffff:0:a9fe:a9fe", "169.254.169.254"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("2002:c0a8:101::", "192.168.1.1"),
    ] {
        let ip: IpAddr = v6.parse().unwrap();
        assert_eq!(canonical(ip), v4.parse::<IpAddr>().unwrap(), "{v6}");
    }
    for same in ["::1", "::", "2606:4700::1111", "fe80::1"] {
        let ip: IpAddr = same.parse().unwrap();
        assert_eq!(canonical(ip), ip, "{same}");
    }
}

#[test]
fn the_allow_list_lifts_exactly_what_it_names() {
    let policy = UpstreamPolicy::new(
        true,
        &[
            "127.0.0.1/32".into(),
            "10.20.0.0/16".into(),
            "Tracker.Internal.".into(),
            "fd12::/16".into(),
            "localhost".into(),
        ],
    )
    .unwrap();
    for ok in [
        "http://127.0.0.1:9000/",
        "http://[::ffff:127.0.0.1]/", // the same address, mapped
        "http://10.20.3.4/",
        "http://[fd12::1]/",
        "http://localhost/",
        "http://LOCALHOST./",
    ] {
        assert_eq!(policy.check_url(&url(ok)), Ok(()), "{ok}");
    }
    for refused in [
        "http://127.0.0.2/",
        "http://10.21.0.1/",
        "http://[::1]/",
        "http://[fd13::1]/",
        "http://api.localhost/",
        "http://169.254.169.254/",
    ] {
        assert!(policy.check_url(&url(refused)).is_err(), "{refused}");
    }
    // A host on the list may resolve to anything (an on-prem tracker on a private network).
    assert_eq!(
        policy.check_addr("tracker.internal", "192.168.7.7".parse().unwrap()),
        Ok(())
    );
    assert_eq!(
        policy.check_addr("TRACKER.internal.", "192.168.7.7".parse().unwrap()),
        Ok(())
    );
    assert!(
        policy
            .check_addr("tracker.internal.evil.org", "192.168.7.7".parse().unwrap())
            .is_err()
    );
}

#[test]
fn bad_allow_list_entries_are_refused() {
    for bad in [
        "10.0.0.0/33",
        "::1/129",
        "10.0.0/8x",
        "tracker internal",
        "a/b",
        "*.corp",
    ] {
        assert!(
            UpstreamPolicy::new(false, &[bad.to_string()]).is_err(),
            "{bad} was accepted"
        );
    }
    let p =
        UpstreamPolicy::new(false, &["[::1]".into(), " 10.0.0.0/8 ".into(), "".into()]).unwrap();
    assert_eq!(p.allowed(), vec!["::1/128", "10.0.0.0/8"]);
}

#[test]
fn cidr_edges() {
    let n = Cidr::parse("172.16.0.0/12").unwrap();
    assert!(n.contains("172.16.0.0".parse().unwrap()));
    assert!(n.contains("172.31.255.255".parse().unwrap()));
    assert!(!n.contains("172.32.0.0".parse().unwrap()));
    assert!(!n.contains("::ffff:172.16.0.1".parse().unwrap()));
    let all = Cidr::parse("0.0.0.0/0").unwrap();
    assert!(all.contains("8.8.8.8".parse().unwrap()));
    let v6 = Cidr::parse("fe80::/10").unwrap();
    assert!(v6.contains("febf:ffff::1".parse().unwrap()));
    assert!(!v6.contains("fec0::1".parse().unwrap()));
}

#[test]
fn refusals_say_what_to_do_and_name_the_range() {
    let e = strict()
        .filter("evil.example.org", &["169.254.169.254:80".parse().unwrap()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("evil.example.org resolves to 169.254.169.254"),
        "{e}"
    );
    assert!(e.contains("link-local"), "{e}");
    assert!(e.contains("--allow-upstream"), "{e}");
}

/// A DNS server under the test's control: answers in turn, the last one repeated.
struct Scripted {
    answers: Vec<Vec<SocketAddr>>,
    calls: AtomicUsize,
    asked: Mutex<Vec<String>>,
}

impl Lookup for Scripted {
    fn lookup(&self, host: String) -> BoxFuture<'static, std::io::Result<Vec<SocketAddr>>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.asked.lock().unwrap().push(host);
        let answer = self.answers[n.min(self.answers.len() - 1)].clone();
        Box::pin(async move { Ok(answer) })
    }
}

fn scripted(answers: &[&[&str]]) -> Arc<Scripted> {
    Arc::new(Scripted {
        answers: answers
            .iter()
            .map(|a| {
                a.iter()
                    .map(|ip| SocketAddr::new(ip.parse().unwrap(), 0))
                    .collect()
            })
            .collect(),
        calls: AtomicUsize::new(0),
        asked: Mutex::default(),
    })
}

#[tokio::test]
async fn dns_rebinding_to_loopback_is_refused_at_the_second_lookup() {
    let dns = scripted(&[&["93.184.216.34"], &["127.0.0.1"]]);
    let r = GuardedResolver::new(strict(), dns.clone());
    // First answer: public, passes (this is what a check at configuration time would have seen).
    let first = r.resolve_checked("rebind.example.org").await.unwrap();
    assert_eq!(first, vec!["93.184.216.34:0".parse().unwrap()]);
    // Second answer, at connect time: loopback, refused.
    let second = r.resolve_checked("rebind.example.org").await.unwrap_err();
    assert!(
        matches!(second, GuardError::Refused(Refusal::Address { .. })),
        "{second}"
    );
    assert_eq!(dns.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_mixed_answer_keeps_only_the_public_addresses() {
    let dns = scripted(&[&[
        "127.0.0.1",
        "93.184.216.34",
        "10.0.0.1",
        "::1",
        "2606:4700::1",
    ]]);
    let r = GuardedResolver::new(strict(), dns);
    let kept = r.resolve_checked("mixed.example.org").await.unwrap();
    assert_eq!(
        kept,
        vec![
            "93.184.216.34:0".parse().unwrap(),
            "[2606:4700::1]:0".parse().unwrap()
        ]
    );
}

#[tokio::test]
async fn localhost_names_are_refused_without_asking_dns() {
    let dns = scripted(&[&["93.184.216.34"]]);
    let r = GuardedResolver::new(strict(), dns.clone());
    for name in ["localhost", "localhost.", "x.localhost", "LOCALHOST"] {
        assert!(r.resolve_checked(name).await.is_err(), "{name}");
    }
    assert_eq!(dns.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_empty_answer_is_an_error() {
    let r = GuardedResolver::new(strict(), scripted(&[&[]]));
    let e = r.resolve_checked("nothing.example.org").await.unwrap_err();
    assert!(e.to_string().contains("has no address"), "{e}");
}
