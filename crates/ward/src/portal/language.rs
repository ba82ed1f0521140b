//! The portal's languages: the Fluent files under `crates/ward/locales/<tag>/` built into the
//! binary, the choice of a page's language (`?lang=`, else the browser's `Accept-Language`,
//! else the page's first language) and a page's words in it.
//!
//! A language is a folder: adding one needs no code, only its `portal.ftl` with every
//! message English has (a test compares the files).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader as _};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
    };
}

/// The language every page falls back to, and the first the international page offers.
const FALLBACK: &str = "en";

/// The most `Accept-Language` entries read (a header is bounded anyway; this bounds work).
const MAX_ACCEPTED: usize = 32;

/// One language of the portal.
#[derive(Debug, PartialEq, Eq)]
pub struct Language {
    /// The folder's name, a BCP 47 tag (`en`, `ar`, `pt`).
    tag: String,
    id: LanguageIdentifier,
    rtl: bool,
}

impl Language {
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The `dir` attribute of a page in this language.
    pub fn dir(&self) -> &'static str {
        if self.rtl { "rtl" } else { "ltr" }
    }

    /// The message `id`, in this language.
    pub fn t(&self, id: &str) -> String {
        self.lookup(id, None)
    }

    /// The message `id` with one argument.
    pub fn t_with(
        &self,
        id: &str,
        name: &'static str,
        value: impl Into<FluentValue<'static>>,
    ) -> String {
        let args = HashMap::from([(Cow::Borrowed(name), value.into())]);
        self.lookup(id, Some(&args))
    }

    /// The message `id` with several arguments.
    pub fn t_with_all(&self, id: &str, args: [(&'static str, FluentValue<'static>); 2]) -> String {
        let args = args
            .into_iter()
            .map(|(name, value)| (Cow::Borrowed(name), value))
            .collect();
        self.lookup(id, Some(&args))
    }

    fn lookup(&self, id: &str, args: Option<&HashMap<Cow<'static, str>, FluentValue>>) -> String {
        match LOCALES.try_lookup_complete(&self.id, id, args) {
            Some(text) => text,
            None => {
                // Every language has every message (tested); this is a bug, shown as the id
                // rather than as a broken page.
                tracing::error!(language = %self.tag, id, "a portal message is missing");
                id.to_string()
            }
        }
    }
}

/// Every language under `locales/`: English first, then by tag.
pub fn all() -> &'static [Language] {
    static ALL: LazyLock<Vec<Language>> = LazyLock::new(|| {
        let mut languages: Vec<Language> = LOCALES
            .locales()
            .map(|id| Language {
                tag: id.to_string(),
                rtl: id.character_direction() == unic_langid::CharacterDirection::RTL,
                id: id.clone(),
            })
            .collect();
        languages.sort_by(|a, b| (a.tag != FALLBACK, &a.tag).cmp(&(b.tag != FALLBACK, &b.tag)));
        languages
    });
    &ALL
}

/// The language with `tag` (as the folder is named, any case).
pub fn find(tag: &str) -> Option<&'static Language> {
    all().iter().find(|l| l.tag.eq_ignore_ascii_case(tag))
}

/// The language of a page that offers `offered` (never empty): `asked` (from `?lang=`) when
/// offered, else the first of the browser's `Accept-Language` that is offered, else the
/// first offered.
pub fn choose(
    offered: &[&'static Language],
    asked: Option<&str>,
    accept_language: Option<&str>,
) -> &'static Language {
    if let Some(language) =
        asked.and_then(|tag| offered.iter().find(|l| l.tag.eq_ignore_ascii_case(tag)))
    {
        return language;
    }
    for wanted in accept_language.map(preferences).unwrap_or_default() {
        if let Some(language) = best_match(offered, wanted) {
            return language;
        }
    }
    offered[0]
}

/// The offered language for one tag a browser asked for: the same tag, else the same
/// primary language (`fr-CA` is answered in `fr`, `pt` in `pt-BR`).
fn best_match(offered: &[&'static Language], wanted: &str) -> Option<&'static Language> {
    let primary = |tag: &str| {
        tag.split('-')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    offered
        .iter()
        .find(|l| l.tag.eq_ignore_ascii_case(wanted))
        .or_else(|| offered.iter().find(|l| primary(&l.tag) == primary(wanted)))
        .copied()
}

/// The tags of an `Accept-Language` header, most wanted first (`q=0` and `*` left out;
/// equal weights keep the header's order).
fn preferences(header: &str) -> Vec<&str> {
    let mut weighted: Vec<(&str, f32)> = header
        .split(',')
        .take(MAX_ACCEPTED)
        .filter_map(|item| {
            let mut parts = item.split(';');
            let tag = parts.next()?.trim();
            let mut weight = 1.0;
            for parameter in parts {
                if let Some(q) = parameter.trim().strip_prefix("q=") {
                    weight = q
                        .trim()
                        .parse()
                        .ok()
                        .filter(|q: &f32| (0.0..=1.0).contains(q))?;
                }
            }
            let plausible = !tag.is_empty()
                && tag != "*"
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            (plausible && weight > 0.0).then_some((tag, weight))
        })
        .collect();
    weighted.sort_by(|a, b| b.1.total_cmp(&a.1));
    weighted.into_iter().map(|(tag, _)| tag).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(offered: &[&str], asked: Option<&str>, header: Option<&str>, expected: &str) {
        let offered: Vec<&'static Language> = offered.iter().map(|t| find(t).unwrap()).collect();
        assert_eq!(
            choose(&offered, asked, header).tag(),
            expected,
            "{offered:?} {asked:?} {header:?}"
        );
    }

    #[test]
    fn a_page_speaks_what_was_asked_then_what_the_browser_prefers() {
        check(&["ar", "fr"], None, None, "ar");
        check(&["ar", "fr"], Some("fr"), Some("ar"), "fr");
        check(&["ar", "fr"], Some("FR"), None, "fr");
        check(&["ar", "fr"], Some("pt"), Some("fr-MA,ar;q=0.5"), "fr");
        check(&["ar", "fr"], None, Some("fr-MA, ar;q=0.5"), "fr");
        check(&["ar", "fr"], None, Some("fr;q=0.4, ar;q=0.9"), "ar");
        check(&["ar", "fr"], None, Some("en-GB, de;q=0.8"), "ar");
        check(&["ar", "fr"], None, Some("fr;q=0, ar;q=0.1"), "ar");
        check(&["en", "es"], None, Some("es-419,en;q=0.1"), "es");
        check(&["en", "es"], None, Some("*;q=1, es;q=0.5"), "es");
        check(&["en", "es"], None, Some(";;;,,q=,es;q=abc"), "en");
        check(&["pt"], None, Some("pt-BR"), "pt");
    }

    #[test]
    fn languages_are_the_locale_folders_english_first() {
        let tags: Vec<&str> = all().iter().map(Language::tag).collect();
        assert_eq!(tags, ["en", "ar", "es", "fr", "pt"]);
        assert_eq!(find("ar").unwrap().dir(), "rtl");
        assert_eq!(find("pt").unwrap().dir(), "ltr");
    }

    #[test]
    fn messages_take_their_arguments() {
        let en = find("en").unwrap();
        assert_eq!(en.t("send"), "Send report");
        // Fluent isolates arguments for mixed-direction text.
        assert_eq!(
            en.t_with("danger-call", "number", "999"),
            "Call the police on \u{2068}999\u{2069}."
        );
        assert_eq!(en.t("no-such-message"), "no-such-message");
    }
}
