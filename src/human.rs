//! Counts, times and durations as people read them: "1 credential", "2
//! entries", "2026-12-05 22:04 EET" (local time, with the zone), "15m".
//! `--json` keeps RFC 3339 times and seconds; only what people read passes
//! through here.

use std::time::Duration;

use jiff::tz::TimeZone;

/// `n` and the noun in the form that fits it: "1 credential", "2 entries".
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// An RFC 3339 time in the local time zone, to the minute, with the zone:
/// "2026-12-05 22:04 EET". Text that is not such a time is shown as it is.
pub fn local_time(rfc3339: &str) -> String {
    in_zone(rfc3339, &TimeZone::system())
}

fn in_zone(rfc3339: &str, zone: &TimeZone) -> String {
    let Ok(at) = rfc3339.trim().parse::<jiff::Timestamp>() else {
        return rfc3339.to_string();
    };
    let local = at.to_zoned(zone.clone());
    jiff::fmt::strtime::format("%Y-%m-%d %H:%M %Z", &local)
        .or_else(|_| jiff::fmt::strtime::format("%Y-%m-%d %H:%M %:z", &local))
        .unwrap_or_else(|_| rfc3339.to_string())
}

/// A duration in the largest units that say it, to the second: "15m",
/// "2h 59m 58s", "0s".
pub fn duration(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_noun_that_fits() {
        assert_eq!(count(0, "credential", "credentials"), "0 credentials");
        assert_eq!(count(1, "credential", "credentials"), "1 credential");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
    }

    #[test]
    fn times_are_local_to_the_minute_with_the_zone() {
        let helsinki = TimeZone::posix("EET-2").unwrap();
        assert_eq!(
            in_zone("2026-12-05T20:04:31Z", &helsinki),
            "2026-12-05 22:04 EET"
        );
        assert_eq!(
            in_zone("2026-12-05T20:04:31Z", &TimeZone::UTC),
            "2026-12-05 20:04 UTC"
        );
        assert_eq!(in_zone("yesterday", &helsinki), "yesterday");
    }

    #[test]
    fn durations_in_human_units() {
        assert_eq!(duration(Duration::from_secs(900)), "15m");
        assert_eq!(duration(Duration::from_secs(10798)), "2h 59m 58s");
        assert_eq!(duration(Duration::from_millis(1500)), "1s");
    }
}
