//! The admin page's import upload over HTTP: the report of a dry run and
//! of a real import, who may upload, the CSRF token, bad fields answered
//! next to the field with nothing written, and the upload's size limit.

use reqwest::StatusCode;
use serde_json::json;

use crate::browser::{Browser, Page};
use crate::helpers::{spawn_app, TestApp, ADMIN_TOKEN};

const SHLINK: &[u8] = include_bytes!("fixtures/import/shlink.csv");

async fn admin(app: &TestApp) -> (Browser<'_>, String) {
    let mut browser = Browser::new(app);
    browser.sign_in(ADMIN_TOKEN).await;
    let csrf = browser.get("/ui/admin").await.csrf();
    (browser, csrf)
}

async fn upload(browser: &mut Browser<'_>, fields: &[(&str, &str)], file: &[u8]) -> Page {
    browser
        .upload("/ui/admin/import", fields, ("links.csv", file.to_vec()))
        .await
}

async fn exists(app: &TestApp, code: &str) -> bool {
    let response = app
        .admin(reqwest::Method::GET, &format!("/api/v1/links/{code}"))
        .send()
        .await
        .unwrap();
    response.status() == StatusCode::OK
}

/// The report's table rows, as (line, code, reason) cell text.
fn report_rows(page: &Page) -> Vec<(String, String, String)> {
    let Some(start) = page.body.find("<tbody>") else {
        return Vec::new();
    };
    let body = &page.body[start..page.body[start..].find("</tbody>").unwrap() + start];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            let cells: Vec<String> = row
                .split("<td")
                .skip(1)
                .map(|c| {
                    let text = &c[c.find('>').unwrap() + 1..c.find("</td>").unwrap()];
                    text.replace("&#34;", "\"").replace("&quot;", "\"")
                })
                .collect();
            (cells[0].clone(), cells[1].clone(), cells[2].clone())
        })
        .collect()
}

#[tokio::test]
async fn a_dry_run_reports_every_row_and_writes_nothing_then_the_import_does() {
    let app = spawn_app().await;
    app.create_with(json!({"url": "https://example.com/mine", "alias": "taken"}))
        .await;
    app.put_user("ada").await;
    let (mut browser, csrf) = admin(&app).await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("format", "shlink"),
        ("owner", "ada"),
        ("dry_run", "on"),
    ];
    let dry = upload(&mut browser, &fields, SHLINK).await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    assert!(dry
        .body
        .contains("Dry run of links.csv: nothing was written"));
    let rows = report_rows(&dry);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0].0, "4");
    assert_eq!(rows[0].1, "taken");
    assert!(rows[0].2.contains("already taken"), "{rows:?}");
    assert_eq!(rows[1].0, "5");
    assert_eq!(rows[2].0, "6");
    assert!(rows[2].2.contains("is not a usable code"), "{rows:?}");
    assert!(
        dry.body.contains("<dt>Would be imported</dt><dd>3</dd>"),
        "{}",
        dry.body
    );
    assert!(!exists(&app, "hello").await, "a dry run imported");

    let real = upload(&mut browser, &fields[..3], SHLINK).await;
    assert_eq!(real.status, StatusCode::OK);
    assert!(real.body.contains("Imported links.csv"));
    assert!(
        real.body.contains("<dt>Imported</dt><dd>3</dd>"),
        "{}",
        real.body
    );
    assert_eq!(report_rows(&real).len(), 3);
    for code in ["hello", "docs-2", "tagged"] {
        assert!(exists(&app, code).await, "{code} not imported");
    }
    let hello: serde_json::Value = app.get_link("hello").await.json().await.unwrap();
    assert_eq!(hello["owner"], "ada");
    assert_eq!(hello["tags"], json!(["blog", "news"]));
    // The same file again: every code is taken now, nothing overwritten.
    let again = upload(&mut browser, &fields[..3], SHLINK).await;
    assert!(
        again.body.contains("<dt>Code taken</dt><dd>4</dd>"),
        "{}",
        again.body
    );
}

#[tokio::test]
async fn only_a_signed_in_admin_with_the_forms_token_may_upload() {
    let app = spawn_app().await;
    let file = b"Long URL,Short code\nhttps://example.com/x,x-code\n";

    let mut stranger = Browser::new(&app);
    let csrf = stranger.get("/").await.csrf();
    let page = upload(
        &mut stranger,
        &[("csrf", &csrf), ("format", "shlink")],
        file,
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().starts_with("/ui/login"));

    app.put_user("bob").await;
    let key = app.issue_key("bob", json!({})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bob = Browser::new(&app);
    bob.sign_in(&key).await;
    let csrf = bob.get("/ui/links").await.csrf();
    let page = upload(&mut bob, &[("csrf", &csrf), ("format", "shlink")], file).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);

    let (mut admin, _) = admin(&app).await;
    let forged = [("csrf", "not-the-token"), ("format", "shlink")];
    let page = upload(&mut admin, &forged, file).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(!exists(&app, "x-code").await, "imported without the token");
}

#[tokio::test]
async fn bad_fields_are_answered_next_to_the_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let (mut browser, csrf) = admin(&app).await;
    let good = b"Long URL,Short code\nhttps://example.com/x,x-code\n".as_slice();
    let cases: [(&str, &str, &[u8], &str, &str); 5] = [
        ("shlink", "", b"", "file-error", "choose a file"),
        ("csv", "", good, "format-error", "choose one of the formats"),
        ("shlink", "ghost", good, "owner-error", "there is no user"),
        ("shlink", "bad id!", good, "owner-error", "id"),
        ("bitly", "", good, "file-error", "cannot be read as bitly"),
    ];
    for (format, owner, file, id, message) in cases {
        let fields = [
            ("csrf", csrf.as_str()),
            ("format", format),
            ("owner", owner),
        ];
        let page = upload(&mut browser, &fields, file).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{format} {owner}"
        );
        let at = page
            .body
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no {id} for {format} {owner}: {}", page.body));
        assert!(
            page.body[at..].contains(message),
            "{format} {owner}: {message:?} missing"
        );
        assert!(page.body.contains("Nothing was imported"));
    }
    assert!(!exists(&app, "x-code").await);

    let extra = [
        ("csrf", csrf.as_str()),
        ("format", "shlink"),
        ("padding", "x"),
    ];
    let page = upload(&mut browser, &extra, good).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

/// Posts `file` as the upload over a raw connection, reading the answer
/// while the body is still being written: the server answers 413 as soon
/// as the limit is passed and closes the connection, which an HTTP client
/// reports as a broken pipe instead of the answer.
async fn oversized_upload(address: &str, cookies: &str, csrf: &str, file: Vec<u8>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = address.trim_start_matches("http://").to_owned();
    let boundary = "shorty-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\nshlink\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST /ui/admin/import HTTP/1.1\r\nHost: {host}\r\nCookie: {cookies}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let stream = tokio::net::TcpStream::connect(&host).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let write = tokio::spawn(async move {
        let _ = writer.write_all(head.as_bytes()).await;
        for chunk in body.chunks(64 * 1024) {
            if writer.write_all(chunk).await.is_err() {
                break;
            }
        }
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    write.abort();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn an_upload_past_the_limit_is_refused_with_413() {
    let app = spawn_app().await;
    let (mut browser, csrf) = admin(&app).await;
    let mut big = b"Long URL,Short code\n".to_vec();
    while big.len() <= 33 * 1024 * 1024 {
        big.extend_from_slice(b"https://example.com/a-fairly-long-path-to-fill-space,code\n");
    }
    let fields = [("csrf", csrf.as_str()), ("format", "shlink")];
    let cookies = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let answer = oversized_upload(&app.address, &cookies, &csrf, big).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:.300}");
    assert!(answer.contains("larger than 32 MiB"), "{answer:.2000}");
    // Just under the limit is read: one row with a 31 MiB title (which
    // shorty does not keep).
    let mut near = b"Long URL,Short code,Title\nhttps://example.com/x,code,".to_vec();
    near.resize(31 * 1024 * 1024, b'a');
    near.push(b'\n');
    let page = upload(&mut browser, &fields, &near).await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "{}",
        &page.body[..500.min(page.body.len())]
    );
    assert!(exists(&app, "code").await);
}
