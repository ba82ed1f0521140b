//! Categories: an analyst's granular assessment of content, and the labels of each
//! classification scheme derived from it through explicit tables.
//!
//! The facts are what the analyst saw (the apparent age group and the most severe activity);
//! the UK scheme (CAID, IWF: A, B, C) and the industry classification system (used by NCMEC:
//! A1, A2, B1, B2) are derived from them, never from each other. Where a scheme has no label
//! for the facts (the industry scheme for indecent images that are neither a sex act nor a
//! lascivious exhibition, or for an unknown age group), the derived label is `None`: a label
//! is never guessed.

use crate::error::Error;

/// The apparent age group of the youngest child shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AgeGroup {
    Prepubescent,
    Pubescent,
    /// The analyst could not tell.
    Unknown,
}

/// The most severe activity shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Activity {
    /// Penetrative sexual activity.
    Penetrative,
    /// Sexual activity with an animal.
    Bestiality,
    /// Sadism.
    Sadism,
    /// Non-penetrative sexual activity.
    NonPenetrative,
    /// Lascivious exhibition of the genitals or anus.
    LasciviousExhibition,
    /// Other indecent images (posing, nudity) that are none of the above.
    OtherIndecent,
}

/// The UK categories (CAID, IWF).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UkCategory {
    A,
    B,
    C,
}

/// The industry classification system's categories (used by NCMEC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndustryCategory {
    A1,
    A2,
    B1,
    B2,
}

/// An assessment: the facts from which every scheme's label is derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Assessment {
    pub age_group: AgeGroup,
    pub activity: Activity,
}

/// The UK category of each activity (A: penetrative, bestiality, sadism; B: non-penetrative;
/// C: other indecent images).
pub const UK_TABLE: [(Activity, UkCategory); 6] = [
    (Activity::Penetrative, UkCategory::A),
    (Activity::Bestiality, UkCategory::A),
    (Activity::Sadism, UkCategory::A),
    (Activity::NonPenetrative, UkCategory::B),
    (Activity::LasciviousExhibition, UkCategory::C),
    (Activity::OtherIndecent, UkCategory::C),
];

/// The industry category of each age group and activity (A prepubescent, B pubescent; 1 a
/// sex act, 2 lascivious exhibition). Pairs not listed have no industry label.
pub const INDUSTRY_TABLE: [(AgeGroup, Activity, IndustryCategory); 10] = [
    (
        AgeGroup::Prepubescent,
        Activity::Penetrative,
        IndustryCategory::A1,
    ),
    (
        AgeGroup::Prepubescent,
        Activity::Bestiality,
        IndustryCategory::A1,
    ),
    (
        AgeGroup::Prepubescent,
        Activity::Sadism,
        IndustryCategory::A1,
    ),
    (
        AgeGroup::Prepubescent,
        Activity::NonPenetrative,
        IndustryCategory::A1,
    ),
    (
        AgeGroup::Prepubescent,
        Activity::LasciviousExhibition,
        IndustryCategory::A2,
    ),
    (
        AgeGroup::Pubescent,
        Activity::Penetrative,
        IndustryCategory::B1,
    ),
    (
        AgeGroup::Pubescent,
        Activity::Bestiality,
        IndustryCategory::B1,
    ),
    (AgeGroup::Pubescent, Activity::Sadism, IndustryCategory::B1),
    (
        AgeGroup::Pubescent,
        Activity::NonPenetrative,
        IndustryCategory::B1,
    ),
    (
        AgeGroup::Pubescent,
        Activity::LasciviousExhibition,
        IndustryCategory::B2,
    ),
];

impl Assessment {
    /// The UK category.
    pub fn uk(&self) -> UkCategory {
        UK_TABLE
            .iter()
            .find(|(activity, _)| *activity == self.activity)
            .map(|(_, category)| *category)
            .expect("every activity has a UK category")
    }

    /// The industry category, if the scheme has one for these facts.
    pub fn industry(&self) -> Option<IndustryCategory> {
        INDUSTRY_TABLE
            .iter()
            .find(|(age, activity, _)| *age == self.age_group && *activity == self.activity)
            .map(|(_, _, category)| *category)
    }
}

/// Gives a fieldless enum its names, both ways: `ALL`, `name()`, `Display`, and `FromStr`
/// failing with `$error(message)` (of type `$error_type`) that lists the names. Used for the categories here and
/// for the store's roles, kinds and settings.
#[macro_export]
macro_rules! named_values {
    ($type:ident, $what:literal, $error_type:ty = $error:path, $($variant:ident => $name:literal),+ $(,)?) => {
        impl $type {
            pub const ALL: &'static [$type] = &[$($type::$variant),+];

            pub fn name(self) -> &'static str {
                match self {
                    $($type::$variant => $name),+
                }
            }
        }

        impl ::std::fmt::Display for $type {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::std::str::FromStr for $type {
            type Err = $error_type;

            fn from_str(text: &str) -> ::std::result::Result<$type, Self::Err> {
                $type::ALL
                    .iter()
                    .copied()
                    .find(|v| v.name() == text)
                    .ok_or_else(|| {
                        let names: Vec<&str> = $type::ALL.iter().map(|v| v.name()).collect();
                        $error(format!(
                            "unknown {} {text:?} (expected one of {})",
                            $what,
                            names.join(", ")
                        ))
                    })
            }
        }
    };
}

crate::named_values!(AgeGroup, "age group", Error = Error::InvalidOption,
    Prepubescent => "prepubescent",
    Pubescent => "pubescent",
    Unknown => "unknown",
);
crate::named_values!(Activity, "activity", Error = Error::InvalidOption,
    Penetrative => "penetrative",
    Bestiality => "bestiality",
    Sadism => "sadism",
    NonPenetrative => "non_penetrative",
    LasciviousExhibition => "lascivious_exhibition",
    OtherIndecent => "other_indecent",
);
crate::named_values!(UkCategory, "UK category", Error = Error::InvalidOption, A => "A", B => "B", C => "C");
crate::named_values!(IndustryCategory, "industry category", Error = Error::InvalidOption, A1 => "A1", A2 => "A2", B1 => "B1", B2 => "B2");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_tables() {
        use Activity::*;
        use AgeGroup::*;
        let cases = [
            (
                Prepubescent,
                Penetrative,
                UkCategory::A,
                Some(IndustryCategory::A1),
            ),
            (
                Prepubescent,
                Sadism,
                UkCategory::A,
                Some(IndustryCategory::A1),
            ),
            (
                Prepubescent,
                NonPenetrative,
                UkCategory::B,
                Some(IndustryCategory::A1),
            ),
            (
                Prepubescent,
                LasciviousExhibition,
                UkCategory::C,
                Some(IndustryCategory::A2),
            ),
            (Prepubescent, OtherIndecent, UkCategory::C, None),
            (
                Pubescent,
                Bestiality,
                UkCategory::A,
                Some(IndustryCategory::B1),
            ),
            (
                Pubescent,
                NonPenetrative,
                UkCategory::B,
                Some(IndustryCategory::B1),
            ),
            (
                Pubescent,
                LasciviousExhibition,
                UkCategory::C,
                Some(IndustryCategory::B2),
            ),
            (Unknown, Penetrative, UkCategory::A, None),
            (Unknown, LasciviousExhibition, UkCategory::C, None),
        ];
        for (age_group, activity, uk, industry) in cases {
            let a = Assessment {
                age_group,
                activity,
            };
            assert_eq!((a.uk(), a.industry()), (uk, industry), "{a:?}");
        }
    }

    #[test]
    fn every_activity_has_a_uk_label_and_names_round_trip() {
        for &activity in Activity::ALL {
            for &age_group in AgeGroup::ALL {
                Assessment {
                    age_group,
                    activity,
                }
                .uk();
            }
            assert_eq!(activity.name().parse::<Activity>().unwrap(), activity);
        }
        for &age in AgeGroup::ALL {
            assert_eq!(age.name().parse::<AgeGroup>().unwrap(), age);
        }
        for &c in IndustryCategory::ALL {
            assert_eq!(c.name().parse::<IndustryCategory>().unwrap(), c);
        }
        for &c in UkCategory::ALL {
            assert_eq!(c.name().parse::<UkCategory>().unwrap(), c);
        }
        assert!("A3".parse::<IndustryCategory>().is_err());
        assert!("Penetrative".parse::<Activity>().is_err());
    }
}
