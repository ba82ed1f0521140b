//! Where a report comes from: the countries the portal has a page for and the international
//! page, each with its languages, emergency number and hotline, read from
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
        let international = Place {
            code: None,
            languages: language::all().iter().collect(),
            emergency: None,
            hotline: file.international.hotline,
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
            let place = Place {
                code: Some(code.clone()),
                languages,
                emergency: Some(country.emergency),
                hotline: country.hotline,
            };
            countries.insert(code, place);
        }
        Ok(Places {
            international,
            countries,
        })
    }
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Country {
    languages: Vec<String>,
    emergency: String,
    hotline: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        format!("{:#}", Places::parse(text).unwrap_err())
    }

    #[test]
    fn the_built_in_countries_have_their_languages_and_names() {
        let places = Places::built_in().unwrap();
        let morocco = places.get(Some("ma")).unwrap();
        let tags: Vec<&str> = morocco.languages().iter().map(|l| l.tag()).collect();
        assert_eq!(tags, ["ar", "fr"]);
        assert_eq!(morocco.emergency(), Some("19"));
        assert_eq!(morocco.base(), "/report/ma");
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
        let places = Places::parse(
            "[international]\nhotline = \"Hotline X\"\n[countries.ie]\nlanguages = [\"en\"]\nemergency = \"112\"\nhotline = \"Hotline Y\"\n",
        )
        .unwrap();
        assert_eq!(places.get(None).unwrap().hotline(), Some("Hotline X"));
        assert_eq!(places.get(Some("ie")).unwrap().hotline(), Some("Hotline Y"));
    }

    #[test]
    fn bad_data_is_refused_with_the_reason() {
        let country = |code: &str, languages: &str| {
            format!("[countries.{code}]\nlanguages = {languages}\nemergency = \"112\"\n")
        };
        assert!(error(&country("GB", "[\"en\"]")).contains("not a lower-case"));
        assert!(error(&country("gbr", "[\"en\"]")).contains("not a lower-case"));
        assert!(error(&country("gb", "[]")).contains("no languages"));
        assert!(error(&country("gb", "[\"xx\"]")).contains("no language \"xx\""));
        assert!(error("[countries.gb]\nlanguages = [\"en\"]\n").contains("emergency"));
        assert!(
            error("[countries.gb]\nlanguages = [\"en\"]\nemergency = \"1\"\ncolour = 1\n")
                .contains("colour")
        );
    }
}
