//! `pm-mcp health`: asks a running server's `/healthz` (or `/readyz`) and exits 0 only on a 200.
//! It is the container health check: distroless images have no curl, and the binary already knows
//! where the server listens (`PM_MCP_LISTEN`, the config file, or the default).
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cli::HealthArgs;

/// The most of an answer read: the status line is all that matters.
const MAX_ANSWER: u64 = 64 * 1024;

/// Where to ask: `--url`, else `http://<listen>/healthz` (or `/readyz` with `--ready`), an
/// unspecified listen address (0.0.0.0, ::) meaning this machine's loopback.
pub fn target(args: &HealthArgs, listen: SocketAddr) -> Result<url::Url> {
    let url = match &args.url {
        Some(u) => url::Url::parse(u).with_context(|| format!("--url {u} is not a URL"))?,
        None => {
            let mut addr = listen;
            if addr.ip().is_unspecified() {
                addr.set_ip(if addr.is_ipv4() {
                    std::net::Ipv4Addr::LOCALHOST.into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                });
            }
            let path = if args.ready { "readyz" } else { "healthz" };
            url::Url::parse(&format!("http://{addr}/{path}"))
                .with_context(|| format!("cannot build a URL from the listen address {addr}"))?
        }
    };
    if url.scheme() != "http" {
        bail!(
            "--url must be http:// (the health check asks the server's own listener, which serves plain http)"
        );
    }
    Ok(url)
}

/// GETs `url` with a plain HTTP/1.1 request; Ok with the status line's text when it is 200.
pub async fn check(url: &url::Url, timeout: Duration) -> Result<String> {
    tokio::time::timeout(timeout, get(url))
        .await
        .map_err(|_| anyhow::anyhow!("{url} did not answer within {} s", timeout.as_secs_f32()))?
}

async fn get(url: &url::Url) -> Result<String> {
    let host = url
        .host_str()
        .with_context(|| format!("{url} has no host"))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let mut stream = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .with_context(|| format!("cannot connect to {url} (is pm-mcp serve running there?)"))?;
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: pm-mcp-health\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .with_context(|| format!("cannot send the request to {url}"))?;
    let mut answer = Vec::new();
    (&mut stream)
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .await
        .with_context(|| format!("cannot read the answer from {url}"))?;
    let text = String::from_utf8_lossy(&answer);
    let status_line = text.lines().next().unwrap_or_default();
    let code = status_line.split_whitespace().nth(1).unwrap_or_default();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().trim();
    match code {
        "200" => Ok(body.to_string()),
        "" => bail!("{url} did not answer with HTTP"),
        other => bail!("{url} answered {other}: {body}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: Option<&str>, ready: bool) -> HealthArgs {
        HealthArgs {
            url: url.map(str::to_string),
            ready,
            listen: Vec::new(),
            timeout: 3,
        }
    }

    #[test]
    fn an_unspecified_listen_address_is_asked_on_loopback() {
        let t = target(&args(None, false), "0.0.0.0:8765".parse().expect("addr")).expect("url");
        assert_eq!(t.as_str(), "http://127.0.0.1:8765/healthz");
        let t = target(&args(None, true), "[::]:9000".parse().expect("addr")).expect("url");
        assert_eq!(t.as_str(), "http://[::1]:9000/readyz");
        let t = target(&args(None, false), "10.1.2.3:80".parse().expect("addr")).expect("url");
        assert_eq!(t.as_str(), "http://10.1.2.3/healthz");
    }

    #[test]
    fn only_plain_http_urls() {
        let listen = "127.0.0.1:8765".parse().expect("addr");
        assert!(target(&args(Some("https://x.org/healthz"), false), listen).is_err());
        assert!(target(&args(Some("not a url"), false), listen).is_err());
        let t = target(&args(Some("http://[::1]:1/readyz"), false), listen).expect("url");
        assert_eq!(t.as_str(), "http://[::1]:1/readyz");
    }
}
