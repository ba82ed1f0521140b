//! Dates as lists write them, normalised to RFC 3339 in UTC.
//!
//! Forms read (VICS exports carry all of them):
//!
//! - RFC 3339 and its ISO 8601 relatives: `2019-05-01T10:00:00Z`, with a fraction
//!   (`2023-06-07T02:31:49.8300Z`), an offset (`+02:00`, `+0200`), no zone, a space for the
//!   `T`, or without seconds;
//! - .NET's JSON dates, milliseconds since 1970: `/Date(1556704800000)/`, with or without an
//!   offset (`/Date(1556704800000+0200)/`, which does not change the instant);
//! - US dates: `5/1/2019 10:00:00 AM`, `5/1/2019 22:00:00`, `5/1/2019 10:00 PM`.
//!
//! A time without a zone is taken as UTC: lists that omit it give no other answer. The result
//! is `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the fraction without trailing zeros. Anything else
//! (a date without a time, a year outside 0001 to 9999, 31 February) is not a date here, and
//! the caller keeps the text as given.

/// The text as RFC 3339 in UTC, if it is a date in one of the forms above.
pub fn normalise(text: &str) -> Option<String> {
    let text = text.trim();
    if let Some(inner) = text
        .strip_prefix("/Date(")
        .and_then(|t| t.strip_suffix(")/"))
    {
        return dotnet(inner);
    }
    if text.contains('/') {
        return us(text);
    }
    iso(text)
}

/// Unix seconds as RFC 3339 in UTC.
pub fn from_unix_seconds(seconds: i64) -> Option<String> {
    format_utc(seconds, "")
}

/// An instant: seconds since 1970 and the fraction's digits.
fn format_utc(seconds: i64, fraction: &str) -> Option<String> {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if !(1..=9999).contains(&year) {
        return None;
    }
    let fraction = fraction.trim_end_matches('0');
    let dot = if fraction.is_empty() { "" } else { "." };
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{dot}{fraction}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    ))
}

/// A civil date and time with an offset east of UTC in seconds.
#[allow(clippy::too_many_arguments)]
fn instant(
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    fraction: &str,
    offset: i64,
) -> Option<String> {
    let valid = (1..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..60).contains(&second)
        && fraction.len() <= 9
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    format_utc(seconds - offset, fraction)
}

/// `1556704800000`, `-1000`, `1556704800000+0200`.
fn dotnet(inner: &str) -> Option<String> {
    let sign_at = inner
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c == '+' || c == '-')
        .map(|(at, _)| at);
    let (millis, offset) = match sign_at {
        Some(at) => (&inner[..at], Some(&inner[at..])),
        None => (inner, None),
    };
    if let Some(offset) = offset {
        // Checked for form only (.NET writes `+hhmm`): the milliseconds are UTC whatever it
        // says.
        if offset.len() != 5 {
            return None;
        }
        offset_seconds(offset)?;
    }
    let millis: i64 = digits_signed(millis)?;
    let fraction = format!("{:03}", millis.rem_euclid(1000));
    format_utc(millis.div_euclid(1000), &fraction)
}

/// `2019-05-01T10:00:00.5+02:00` and the forms listed in the module's documentation.
fn iso(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if bytes.len() < 16
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
    {
        return None;
    }
    let year = number(text.get(0..4)?)?;
    let month = number(text.get(5..7)?)?;
    let day = number(text.get(8..10)?)?;
    let (clock, offset) = split_zone(text.get(11..)?)?;
    let (hour, minute, second, fraction) = clock_parts(clock)?;
    instant(year, month, day, hour, minute, second, fraction, offset)
}

/// `5/1/2019 10:00:00 AM`: month, day, year, then a 12-hour clock with AM or PM or a
/// 24-hour one.
fn us(text: &str) -> Option<String> {
    let (date, rest) = text.split_once(' ')?;
    let mut date_parts = date.split('/');
    let month = number(date_parts.next()?)?;
    let day = number(date_parts.next()?)?;
    let year_text = date_parts.next()?;
    if date_parts.next().is_some() || year_text.len() != 4 {
        return None;
    }
    let year = number(year_text)?;
    let rest = rest.trim();
    let (clock, meridiem) = match rest.rsplit_once(' ') {
        Some((clock, meridiem)) => (clock.trim(), Some(meridiem.to_ascii_uppercase())),
        None => (rest, None),
    };
    let (hour, minute, second, fraction) = clock_parts(clock)?;
    let hour = match meridiem.as_deref() {
        None => hour,
        Some(_) if !(1..=12).contains(&hour) => return None,
        Some("AM") => hour % 12,
        Some("PM") => hour % 12 + 12,
        Some(_) => return None,
    };
    instant(year, month, day, hour, minute, second, fraction, 0)
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fraction` (the hour may have one digit).
fn clock_parts(clock: &str) -> Option<(i64, i64, i64, &str)> {
    let mut parts = clock.split(':');
    let hour_text = parts.next()?;
    let minute_text = parts.next()?;
    let seconds_text = parts.next();
    if parts.next().is_some() || !(1..=2).contains(&hour_text.len()) || minute_text.len() != 2 {
        return None;
    }
    let (second, fraction) = match seconds_text {
        None => (0, ""),
        Some(text) => {
            let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
            if whole.len() != 2 || (text.contains('.') && fraction.is_empty()) {
                return None;
            }
            (number(whole)?, fraction)
        }
    };
    Some((number(hour_text)?, number(minute_text)?, second, fraction))
}

/// Splits a clock from its zone: `Z`, `+02:00`, `-0530`, or none (UTC).
fn split_zone(text: &str) -> Option<(&str, i64)> {
    if let Some(clock) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
        return Some((clock, 0));
    }
    match text.rfind(['+', '-']) {
        Some(at) => Some((&text[..at], offset_seconds(&text[at..])?)),
        None => Some((text, 0)),
    }
}

/// `+02:00`, `+0200` or `-05` as seconds east of UTC.
fn offset_seconds(text: &str) -> Option<i64> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let rest = rest.replace(':', "");
    if !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match rest.len() {
        2 => (number(&rest)?, 0),
        4 => (number(&rest[..2])?, number(&rest[2..])?),
        _ => return None,
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours * 3600 + minutes * 60))
}

/// Decimal digits only (no sign, no spaces), at most 18 of them.
fn number(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn digits_signed(text: &str) -> Option<i64> {
    match text.strip_prefix('-') {
        Some(rest) => number(rest).map(|n| -n),
        None => number(text),
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day counted from 1970-01-01: the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Option<&str>) {
        assert_eq!(normalise(text).as_deref(), expected, "{text:?}");
    }

    #[test]
    fn forms_lists_write() {
        let utc = Some("2019-05-01T10:00:00Z");
        check("2019-05-01T10:00:00Z", utc);
        check("2019-05-01T10:00:00", utc);
        check("2019-05-01 10:00:00", utc);
        check("2019-05-01T10:00Z", utc);
        check("2019-05-01T12:00:00+02:00", utc);
        check("2019-05-01T12:00:00+0200", utc);
        check("2019-05-01T05:00:00-05", utc);
        check(" 2019-05-01t10:00:00z ", utc);
        check("/Date(1556704800000)/", Some("2019-05-01T10:00:00Z"));
        check("/Date(1556704800000+0200)/", Some("2019-05-01T10:00:00Z"));
        check("/Date(1556704800123)/", Some("2019-05-01T10:00:00.123Z"));
        check("/Date(-1000)/", Some("1969-12-31T23:59:59Z"));
        check("5/1/2019 10:00:00 AM", utc);
        check("5/1/2019 10:00 am", utc);
        check("05/01/2019 10:00:00", utc);
        check("5/1/2019 12:00:00 AM", Some("2019-05-01T00:00:00Z"));
        check("5/1/2019 12:30:00 PM", Some("2019-05-01T12:30:00Z"));
        check("5/1/2019 10:00:00 PM", Some("2019-05-01T22:00:00Z"));
        check("2023-06-07T02:31:49.8300Z", Some("2023-06-07T02:31:49.83Z"));
        check("2023-06-07T02:31:49.000Z", Some("2023-06-07T02:31:49Z"));
        // Crossing a day, a year and a leap day.
        check("2020-01-01T01:00:00+02:00", Some("2019-12-31T23:00:00Z"));
        check("2020-02-29T23:30:00-01:00", Some("2020-03-01T00:30:00Z"));
        check("2000-02-29T00:00:00Z", Some("2000-02-29T00:00:00Z"));
    }

    #[test]
    fn not_dates() {
        for text in [
            "",
            "2019-05-01",
            "2019-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2019-13-01T00:00:00Z",
            "2019-05-01T24:00:00Z",
            "2019-05-01T10:60:00Z",
            "2019-05-01T10:00:00.Z",
            "2019-05-01T10:00:00+25:00",
            "2019-05-01X10:00:00",
            "0000-01-01T00:00:00Z",
            "13/1/2019 10:00:00",
            "5/1/19 10:00:00",
            "5/1/2019 13:00:00 PM",
            "5/1/2019 0:00:00 AM",
            "5/1/2019 10:00:00 XM",
            "/Date(abc)/",
            "/Date(99999999999999999999)/",
            "/Date(1556704800000+02)/",
            "Series 2019-05-01T10:00:00Z",
            "true",
            "١٢٣٤-05-01T10:00:00Z",
            "2019-05-01T10:00:00+aéb",
            "2019-05-01T10:00:00-é:b",
            "/Date(1+aéb)/",
        ] {
            check(text, None);
        }
    }

    #[test]
    fn unix_seconds() {
        assert_eq!(
            from_unix_seconds(1_625_167_804).as_deref(),
            Some("2021-07-01T19:30:04Z")
        );
        assert_eq!(
            from_unix_seconds(0).as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        assert_eq!(from_unix_seconds(i64::MAX), None);
        assert_eq!(from_unix_seconds(i64::MIN), None);
    }

    proptest::proptest! {
        /// Text from lists is anything: no form of it may panic.
        #[test]
        fn any_text_is_safe(text in "\\PC{0,40}") {
            let _ = normalise(&text);
        }

        #[test]
        fn date_like_text_is_safe(
            text in "[0-9/:Tt Zz+.é-]{0,30}( [AaPp][Mm])?|/Date\\([0-9+é-]{0,24}\\)/",
        ) {
            if let Some(date) = normalise(&text) {
                // Normal forms are fixed points.
                let again = normalise(&date);
                proptest::prop_assert_eq!(again.as_deref(), Some(date.as_str()));
            }
        }
    }

    #[test]
    fn civil_days_round_trip() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
