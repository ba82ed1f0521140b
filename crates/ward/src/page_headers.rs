//! The security headers every HTML page Ward serves to a browser carries, the public
//! portal's and the analyst's alike, defined once so that the two cannot drift apart; each
//! kind of page brings its own Content-Security-Policy.

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Sets the headers every page shares, and `content_security_policy`: no sniffing, no
/// referrer, never framed, no window of another origin keeps a handle on the page, no other
/// origin embeds its answers, and no camera, microphone or location.
pub fn insert(headers: &mut HeaderMap, content_security_policy: &'static str) {
    let fixed: [(HeaderName, &'static str); 7] = [
        (header::CONTENT_SECURITY_POLICY, content_security_policy),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_gets_the_shared_set_and_its_own_policy() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
        insert(&mut headers, "default-src 'none'");
        let check = |name: &str, value: &str| {
            assert_eq!(
                headers.get(name).and_then(|v| v.to_str().ok()),
                Some(value),
                "{name}"
            );
        };
        check("content-security-policy", "default-src 'none'");
        check("x-content-type-options", "nosniff");
        check("referrer-policy", "no-referrer");
        check("x-frame-options", "DENY");
        check("cross-origin-opener-policy", "same-origin");
        check("cross-origin-resource-policy", "same-origin");
        check(
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        );
        assert_eq!(headers.len(), 7);
    }
}
