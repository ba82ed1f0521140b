//! Where a report comes from: the countries the portal has a page for and the international
//! page, each with its languages, emergency number, hotline and support services (in each of
//! its languages), read from
//! `crates/ward/portal/countries.toml` (built into the binary, checked when the service
//! starts).

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use super::language::{self, Language};

/// The data file, as built in.
const BUILT_IN: &str = include_str!("../../portal/countries.toml");

/// A portal page's place: one country, or the international page.
#[derive(Debug)]
pub struct Place {
    /// Lower-case ISO 3166-1 alpha-2; `None` for the international page.
    code: Option<String>,
    /// Never empty; the first is the default.
    languages: Vec<&'static Language>,
    emergency: Option<String>,
    hotline: Option<String>,
    /// Where someone upset by what they saw can talk to someone, by language tag: one for
    /// each of `languages`.
    support: BTreeMap<String, String>,
}

impl Place {
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    pub fn languages(&self) -> &[&'static Language] {
        &self.languages
    }

    pub fn emergency(&self) -> Option<&str> {
        self.emergency.as_deref()
    }

    pub fn hotline(&self) -> Option<&str> {
        self.hotline.as_deref()
    }

    /// The support services named to someone reading in `tag`.
    pub fn support(&self, tag: &str) -> Option<&str> {
        self.support.get(tag).map(String::as_str)
    }

    /// The path of this place's form (`/report`, `/report/ma`).
    pub fn base(&self) -> String {
        match &self.code {
            Some(code) => format!("/report/{code}"),
            None => "/report".to_string(),
        }
    }
}

/// Every place the portal has a page for.
#[derive(Debug)]
pub struct Places {
    international: Place,
    countries: BTreeMap<String, Place>,
}

impl Places {
    /// The built-in data file's places.
    pub fn built_in() -> anyhow::Result<Places> {
        Places::parse(BUILT_IN).context("reading the portal's countries (portal/countries.toml)")
    }

    /// The international page, or the country with `code` (as in a path: only lower case).
    pub fn get(&self, code: Option<&str>) -> Option<&Place> {
        match code {
            None => Some(&self.international),
            Some(code) => self.countries.get(code),
        }
    }

    /// Every country, by code.
    pub fn countries(&self) -> impl Iterator<Item = &Place> {
        self.countries.values()
    }

    fn parse(text: &str) -> anyhow::Result<Places> {
        let file: File = toml::from_str(text)?;
        let languages: Vec<&'static Language> = language::all().iter().collect();
        check_support("international", &languages, &file.international.support)?;
        let international = Place {
            code: None,
            languages,
            emergency: None,
            hotline: file.international.hotline,
            support: file.international.support,
        };
        let mut countries = BTreeMap::new();
        for (code, country) in file.countries {
            if !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase())) {
                bail!("{code:?} is not a lower-case ISO 3166-1 alpha-2 code");
            }
            if country.languages.is_empty() {
                bail!("{code}: no languages");
            }
            let languages = country
                .languages
                .iter()
                .map(|tag| {
                    language::find(tag)
                        .with_context(|| format!("{code}: no language {tag:?} under locales/"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            check_support(&code, &languages, &country.support)?;
            let place = Place {
                code: Some(code.clone()),
                languages,
                emergency: Some(country.emergency),
                hotline: country.hotline,
                support: country.support,
            };
            countries.insert(code, place);
        }
        Ok(Places {
            international,
            countries,
        })
    }
}

/// A place names its support services in each of its languages, and in no other.
fn check_support(
    place: &str,
    languages: &[&'static Language],
    support: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    for language in languages {
        match support.get(language.tag()) {
            Some(text) if !text.trim().is_empty() => {}
            _ => bail!("{place}: no support services in {:?}", language.tag()),
        }
    }
    if let Some(other) = support
        .keys()
        .find(|tag| !languages.iter().any(|l| l.tag() == tag.as_str()))
    {
        bail!("{place}: support services in {other:?}, which is not one of its languages");
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    international: International,
    countries: BTreeMap<String, Country>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct International {
    hotline: Option<String>,
    #[serde(default)]
    support: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Country {
    languages: Vec<String>,
    emergency: String,
    hotline: Option<String>,
    #[serde(default)]
    support: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        format!("{:#}", Places::parse(text).unwrap_err())
    }

    /// The international page's table, naming its support services in every language.
    fn international(hotline: &str) -> String {
        let mut table = format!("[international]\n{hotline}[international.support]\n");
        for language in language::all() {
            table.push_str(&format!("{} = \"S\"\n", language.tag()));
        }
        table
    }

    #[test]
    fn the_built_in_countries_have_their_languages_and_names() {
        let places = Places::built_in().unwrap();
        let morocco = places.get(Some("ma")).unwrap();
        let tags: Vec<&str> = morocco.languages().iter().map(|l| l.tag()).collect();
        assert_eq!(tags, ["ar", "fr"]);
        assert_eq!(morocco.emergency(), Some("19"));
        assert_eq!(morocco.base(), "/report/ma");
        // Support services in each of its languages, and none in another.
        assert!(
            morocco
                .support("fr")
                .unwrap()
                .contains("Child Helpline International")
        );
        assert!(
            morocco
                .support("ar")
                .unwrap()
                .contains("Child Helpline International")
        );
        assert_eq!(morocco.support("en"), None);
        assert!(
            places
                .get(Some("gb"))
                .unwrap()
                .support("en")
                .unwrap()
                .contains("Samaritans")
        );
        assert!(places.get(Some("MA")).is_none());
        assert!(places.get(Some("zz")).is_none());
        let international = places.get(None).unwrap();
        assert_eq!(international.languages().len(), language::all().len());
        assert_eq!(international.base(), "/report");
        // Each country is named in every language.
        for country in places.countries() {
            let id = format!("country-{}", country.code().unwrap());
            for language in language::all() {
                assert_ne!(language.t(&id), id, "{id} in {}", language.tag());
            }
        }
    }

    #[test]
    fn a_hotline_names_its_pages() {
        let places = Places::parse(&format!(
            "{}[countries.ie]\nlanguages = [\"en\"]\nemergency = \"112\"\nhotline = \"Hotline Y\"\nsupport.en = \"Z\"\n",
            international("hotline = \"Hotline X\"\n"),
        ))
        .unwrap();
        assert_eq!(places.get(None).unwrap().hotline(), Some("Hotline X"));
        assert_eq!(places.get(Some("ie")).unwrap().hotline(), Some("Hotline Y"));
    }

    #[test]
    fn bad_data_is_refused_with_the_reason() {
        let country = |code: &str, languages: &str| {
            format!(
                "{}[countries.{code}]\nlanguages = {languages}\nemergency = \"112\"\nsupport.en = \"S\"\n",
                international("")
            )
        };
        assert!(error(&country("GB", "[\"en\"]")).contains("not a lower-case"));
        assert!(error(&country("gbr", "[\"en\"]")).contains("not a lower-case"));
        assert!(error(&country("gb", "[]")).contains("no languages"));
        assert!(error(&country("gb", "[\"xx\"]")).contains("no language \"xx\""));
        assert!(error("[countries.gb]\nlanguages = [\"en\"]\n").contains("emergency"));
        // Support services in each of the place's languages, and only those.
        assert!(
            error(&country("ca", "[\"en\", \"fr\"]")).contains("ca: no support services in \"fr\"")
        );
        assert!(error(&country("fr", "[\"fr\"]")).contains("fr: no support services in \"fr\""));
        assert!(
            error(&country("gb", "[\"en\"]").replace(
                "support.en = \"S\"",
                "support.en = \"S\"\nsupport.ar = \"T\""
            ))
            .contains("gb: support services in \"ar\", which is not one of its languages")
        );
        assert!(
            error(&country("gb", "[\"en\"]").replace("support.en = \"S\"", "support.en = \" \""))
                .contains("no support services in \"en\"")
        );
        assert!(
            error("[countries.gb]\nlanguages = [\"en\"]\nemergency = \"1\"\nsupport.en = \"S\"\n")
                .contains("international: no support services")
        );
        assert!(Places::parse(&country("gb", "[\"en\"]")).is_ok());
        assert!(
            error("[countries.gb]\nlanguages = [\"en\"]\nemergency = \"1\"\ncolour = 1\n")
                .contains("colour")
        );
    }
}
