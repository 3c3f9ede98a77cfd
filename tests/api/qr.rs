//! `GET /{code}/qr`: the images are decoded (rqrr; SVG rasterized with
//! resvg first) and must hold exactly the short URL; caching by ETag; bad
//! parameters are 422, unknown and deleted codes 404 and 410.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp};

/// The text of the one QR code in a greyscale image.
fn decode(width: usize, height: usize, grey: impl Fn(usize, usize) -> u8) -> String {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, grey);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().expect("decodes").1
}

fn decode_png(bytes: &[u8]) -> (u32, String) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("png header");
    let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut pixels).expect("png data");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let (w, h) = (info.width as usize, info.height as usize);
    let text = decode(w, h, |x, y| {
        let p = &pixels[(y * w + x) * 3..][..3];
        ((u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3) as u8
    });
    (info.width, text)
}

fn decode_svg(text: &str) -> (u32, String) {
    use resvg::{tiny_skia, usvg};
    let tree = usvg::Tree::from_str(text, &usvg::Options::default()).expect("svg");
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height()).expect("pixmap");
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    let w = size.width() as usize;
    let data = pixmap.data();
    let decoded = decode(w, size.height() as usize, |x, y| {
        let p = &data[(y * w + x) * 4..][..3];
        ((u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2])) / 3) as u8
    });
    (size.width(), decoded)
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.anon(Method::GET, path)
        .send()
        .await
        .expect("qr request")
}

#[tokio::test]
async fn png_and_svg_codes_hold_exactly_the_short_url() {
    let app = spawn_app().await;
    let link = app.create("https://example.com/a/long/target?x=1").await;
    let code = link["code"].as_str().expect("code");
    let short = link["short_url"].as_str().expect("short_url");
    for query in [
        "",
        "?size=120&margin=0&ec=l",
        "?size=1000&ec=h&fg=1a2b3c&bg=%23ffeedd",
        "?size=333&margin=10&ec=q",
    ] {
        let response = get(&app, &format!("/{code}/qr{query}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        assert_eq!(response.headers()["content-type"], "image/png");
        let (width, text) = decode_png(&response.bytes().await.expect("body"));
        assert_eq!(text, short, "{query}");
        let want = query
            .split("size=")
            .nth(1)
            .map_or(300, |s| s.split('&').next().unwrap().parse().unwrap());
        assert_eq!(width, want, "{query}");
    }
    for query in [
        "?format=svg",
        "?format=svg&size=50&margin=2&ec=h&fg=000&bg=fff",
        "?format=svg&size=640&ec=m",
    ] {
        let response = get(&app, &format!("/{code}/qr{query}")).await;
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        assert_eq!(response.headers()["content-type"], "image/svg+xml");
        let svg = response.text().await.expect("svg");
        // Rasterize small SVGs bigger, so each module is several pixels.
        let svg = svg.replacen(
            "width=\"50\" height=\"50\"",
            "width=\"400\" height=\"400\"",
            1,
        );
        let (_, text) = decode_svg(&svg);
        assert_eq!(text, short, "{query}");
    }
    // An alias and a capped link have codes like any other.
    let alias = app.create_with(serde_json::json!({"url": "https://example.com/", "alias": "qr-alias", "max_clicks": 1})).await;
    let (_, text) = decode_png(&get(&app, "/qr-alias/qr").await.bytes().await.expect("body"));
    assert_eq!(text, alias["short_url"].as_str().expect("short_url"));
    assert_eq!(
        app.follow("qr-alias").await.status(),
        StatusCode::FOUND,
        "the QR used no click"
    );
}

#[tokio::test]
async fn images_are_cached_by_etag() {
    let app = spawn_app().await;
    let code = app.create("https://example.com/").await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let first = get(&app, &format!("/{code}/qr?format=svg")).await;
    let etag = first.headers()["etag"].to_str().expect("etag").to_owned();
    assert_eq!(first.headers()["cache-control"], "public, max-age=86400");
    let again = app
        .anon(Method::GET, &format!("/{code}/qr?format=svg"))
        .header("if-none-match", format!("\"other\", {etag}"))
        .send()
        .await
        .expect("conditional");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.expect("body").is_empty());
    let png = get(&app, &format!("/{code}/qr")).await;
    assert_ne!(
        png.headers()["etag"],
        etag.as_str(),
        "each rendering has its own tag"
    );
}

#[tokio::test]
async fn bad_parameters_and_codes_are_refused() {
    let app = spawn_app().await;
    let code = app.create("https://example.com/").await["code"]
        .as_str()
        .expect("code")
        .to_owned();
    let response = get(
        &app,
        &format!("/{code}/qr?format=gif&size=49&margin=11&ec=x&fg=red&bg=12345"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.expect("problem");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["format", "size", "margin", "ec", "fg", "bg"]);
    for query in ["?size=1001", "?size=-5", "?margin=-1", "?fg=%23abcd"] {
        assert_eq!(
            get(&app, &format!("/{code}/qr{query}")).await.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
    }
    for query in [
        "?size=big",
        "?colour=red",
        &format!("?size={}", "9".repeat(30)),
    ] {
        assert_eq!(
            get(&app, &format!("/{code}/qr{query}")).await.status(),
            StatusCode::BAD_REQUEST,
            "{query}"
        );
    }
    assert_eq!(
        get(&app, "/NoSuchCode/qr").await.status(),
        StatusCode::NOT_FOUND
    );
    app.admin(Method::DELETE, &format!("/api/v1/links/{code}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(
        get(&app, &format!("/{code}/qr")).await.status(),
        StatusCode::GONE
    );
}
