//! The service's front door, beside the portal: `/` (a page naming Ward and linking the
//! reporting portal, the analysts' sign-in and the service's main routes), `/report/` and
//! `/analyst/` sent to their pages, `/favicon.ico` (Ward's icon, drawn by `draw_icon` below
//! and committed as `crates/ward/portal/static/favicon.ico`) and `/robots.txt` (search
//! engines may read the portal, never the analysts' pages or the API).

use askama::Template;
use axum::Router;
use axum::extract::RawQuery;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use super::pages;
use crate::serve::SharedState;

/// The icon, as committed; `the_committed_icon_is_the_drawn_one` checks it is `draw_icon`'s.
pub const FAVICON: &[u8] = include_bytes!("../../portal/static/favicon.ico");

/// What crawlers may read: the portal's forms, so that people find where to report; never
/// the analysts' pages, the API (Ward's `/v1`, HMA's `/c`, `/h`, `/m`, `/status`), the
/// operations routes, nor a report's pages (its reference is the reporter's alone).
pub const ROBOTS: &str = "\
# Ward: search engines may index the public reporting portal, and nothing else.
User-agent: *
Disallow: /analyst
Disallow: /v1/
Disallow: /c/
Disallow: /h/
Disallow: /m/
Disallow: /status
Disallow: /healthz
Disallow: /readyz
Disallow: /metrics
Disallow: /openapi.json
Disallow: /report/filed/
Disallow: /report/*/filed/
Disallow: /report/status
Disallow: /report/*/status
Allow: /report
Allow: /$
";

/// The front door's routes (the portal's headers are added by `super::routes`).
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/", get(front_page))
        .route("/report/", get(report_slash))
        .route(
            "/analyst/",
            get(|| async { Redirect::to("/analyst/queue").into_response() }),
        )
        .route("/favicon.ico", get(favicon))
        .route("/robots.txt", get(robots))
}

/// `/`: what this service is, and where its parts are.
#[derive(Debug, Template)]
#[template(path = "portal/front.html")]
struct FrontPage {
    css: &'static str,
}

async fn front_page() -> Response {
    let page = FrontPage {
        css: pages::css_href(),
    };
    super::render(StatusCode::OK, &page)
}

/// `/report/`: the international form, keeping the query (`?lang=fr`).
async fn report_slash(RawQuery(query): RawQuery) -> Response {
    let target = match query {
        Some(query) if !query.is_empty() => format!("/report?{query}"),
        _ => "/report".to_string(),
    };
    Redirect::permanent(&target).into_response()
}

async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/x-icon"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
        .into_response()
}

async fn robots() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ROBOTS,
    )
        .into_response()
}

// The icon's drawing, which only the tests run: the served bytes are the committed file.

/// The icon's side, in pixels.
#[cfg(test)]
const SIDE: usize = 32;

/// Ward's icon as an ICO file: one 32x32 image, 32-bit BMP (no compression, so these bytes
/// are exactly what this code draws): a white "W" on the portal's blue, in a rounded square.
#[cfg(test)]
pub fn draw_icon() -> Vec<u8> {
    let pixels = draw_pixels();
    let bitmap_size = 40 + SIDE * SIDE * 4 + SIDE * (SIDE / 8);
    let mut ico = Vec::with_capacity(6 + 16 + bitmap_size);
    // ICONDIR: reserved, type 1 (icon), one image.
    ico.extend_from_slice(&[0, 0, 1, 0, 1, 0]);
    // ICONDIRENTRY: width, height, no palette, reserved, 1 plane, 32 bits, size, offset.
    ico.extend_from_slice(&[SIDE as u8, SIDE as u8, 0, 0, 1, 0, 32, 0]);
    ico.extend_from_slice(&(bitmap_size as u32).to_le_bytes());
    ico.extend_from_slice(&22u32.to_le_bytes());
    // BITMAPINFOHEADER: its height counts the colour rows and the mask's, so twice the side.
    ico.extend_from_slice(&40u32.to_le_bytes());
    ico.extend_from_slice(&(SIDE as i32).to_le_bytes());
    ico.extend_from_slice(&(2 * SIDE as i32).to_le_bytes());
    ico.extend_from_slice(&1u16.to_le_bytes());
    ico.extend_from_slice(&32u16.to_le_bytes());
    ico.extend_from_slice(&[0; 24]);
    // Rows bottom up, each pixel blue, green, red, alpha.
    for row in pixels.chunks(SIDE).rev() {
        for [r, g, b, a] in row {
            ico.extend_from_slice(&[*b, *g, *r, *a]);
        }
    }
    // The AND mask: all clear, the alpha channel says what shows.
    ico.extend(std::iter::repeat_n(0, SIDE * (SIDE / 8)));
    ico
}

/// The icon's pixels, top row first, RGBA with straight alpha.
#[cfg(test)]
fn draw_pixels() -> Vec<[u8; 4]> {
    const BLUE: [f32; 3] = [29.0, 78.0, 137.0];
    // The "W": four strokes through these points (pixel centres are at +0.5).
    const W: [(f32, f32); 5] = [
        (7.0, 9.0),
        (11.5, 23.5),
        (16.0, 12.5),
        (20.5, 23.5),
        (25.0, 9.0),
    ];
    const HALF_STROKE: f32 = 1.75;
    let mut pixels = Vec::with_capacity(SIDE * SIDE);
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            // Coverage of the rounded square (corner radius 6), one pixel of edge softening.
            let square = 1.0 - rounded_square_distance(px, py, 6.0).clamp(0.0, 1.0);
            let nearest = W
                .windows(2)
                .map(|s| segment_distance((px, py), s[0], s[1]))
                .fold(f32::INFINITY, f32::min);
            let white = (HALF_STROKE + 0.5 - nearest).clamp(0.0, 1.0);
            let channel = |c: f32| (c + (255.0 - c) * white).round() as u8;
            pixels.push([
                channel(BLUE[0]),
                channel(BLUE[1]),
                channel(BLUE[2]),
                (255.0 * square).round() as u8,
            ]);
        }
    }
    pixels
}

/// How far (px, py) lies outside the icon's square with corners of `radius` (0 inside).
#[cfg(test)]
fn rounded_square_distance(px: f32, py: f32, radius: f32) -> f32 {
    let half = SIDE as f32 / 2.0;
    let inner = half - radius;
    let dx = ((px - half).abs() - inner).max(0.0);
    let dy = ((py - half).abs() - inner).max(0.0);
    ((dx * dx + dy * dy).sqrt() - radius + 0.5).max(0.0)
}

/// The distance from `p` to the segment from `a` to `b`.
#[cfg(test)]
fn segment_distance(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (abx, aby) = (b.0 - a.0, b.1 - a.1);
    let t = (((p.0 - a.0) * abx + (p.1 - a.1) * aby) / (abx * abx + aby * aby)).clamp(0.0, 1.0);
    let (dx, dy) = (p.0 - a.0 - t * abx, p.1 - a.1 - t * aby);
    (dx * dx + dy * dy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_icon_is_the_drawn_one() {
        let drawn = draw_icon();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/portal/static/favicon.ico");
        if std::env::var_os("WARD_DRAW_ICON").is_some() {
            std::fs::write(path, &drawn).unwrap();
        }
        assert_eq!(
            FAVICON, drawn,
            "{path} differs from draw_icon(): run this test with WARD_DRAW_ICON=1 (it writes the file), then again"
        );
    }

    #[test]
    fn the_icon_is_an_ico_of_one_32_pixel_image() {
        let ico = draw_icon();
        assert_eq!(&ico[..6], &[0, 0, 1, 0, 1, 0]);
        assert_eq!((ico[6], ico[7]), (32, 32));
        assert_eq!(ico.len(), 6 + 16 + 40 + 32 * 32 * 4 + 32 * 4);
        let size = u32::from_le_bytes(ico[14..18].try_into().unwrap()) as usize;
        let offset = u32::from_le_bytes(ico[18..22].try_into().unwrap()) as usize;
        assert_eq!(offset + size, ico.len());
    }

    fn pixel(x: usize, y: usize) -> [u8; 4] {
        draw_pixels()[y * SIDE + x]
    }

    #[test]
    fn the_icon_shows_a_white_w_on_blue_with_clear_corners() {
        assert_eq!(pixel(0, 0)[3], 0, "a clear corner");
        assert_eq!(pixel(16, 4), [29, 78, 137, 255], "blue above the W");
        assert_eq!(pixel(16, 28), [29, 78, 137, 255], "blue below the W");
        assert_eq!(pixel(7, 9), [255, 255, 255, 255], "the W's first stroke");
        assert_eq!(pixel(15, 12), [255, 255, 255, 255], "the W's middle");
    }

    #[test]
    fn robots_keep_the_analysts_and_the_api_out() {
        let rules: Vec<&str> = ROBOTS
            .lines()
            .filter(|l| l.starts_with("Disallow: "))
            .collect();
        for prefix in ["/analyst", "/v1/", "/metrics", "/report/filed/"] {
            assert!(
                rules.contains(&format!("Disallow: {prefix}").as_str()),
                "{prefix}"
            );
        }
        assert!(!rules.contains(&"Disallow: /report"));
    }
}
