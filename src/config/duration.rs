//! Durations as people write them: a whole number and a unit, `ms`, `s`,
//! `m`, `h` or `d` (`500ms`, `10s`, `7d`); `0` alone is zero. The same text
//! is accepted by the flags, the environment and the file, and printed by
//! `newswire config check`.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serializer};

/// The shortest interval a timer may be given.
pub const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// Units from the largest, with their length in milliseconds.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses `500ms`, `10s`, `5m`, `2h`, `7d` or `0`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let digits_end = text
        .find(|character: char| !character.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 10s, 5m, 2h or 7d"))?;
    let (_, milliseconds_per_unit) = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .ok_or_else(|| format!("{text:?} has no unit: use ms, s, m, h or d"))?;
    number
        .checked_mul(*milliseconds_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// A duration of at least `MIN_INTERVAL`, for timers.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration < MIN_INTERVAL {
        return Err(format!("{text:?} is shorter than 10ms"));
    }
    Ok(duration)
}

/// `duration` in the largest unit that holds it exactly (`7d`, `90s`).
pub fn format_duration(duration: Duration) -> String {
    let milliseconds = duration.as_millis() as u64;
    if milliseconds == 0 {
        return "0".to_string();
    }
    UNITS
        .iter()
        .find(|(_, length)| milliseconds.is_multiple_of(*length))
        .map(|(unit, length)| format!("{}{unit}", milliseconds / length))
        .unwrap_or_else(|| format!("{milliseconds}ms"))
}

/// Serde `with` module for duration keys of the configuration file.
pub mod text {
    use super::*;

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_duration(*duration))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_a_unit() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_interval("5ms").is_err());
    }

    #[test]
    fn a_printed_duration_reads_back_as_itself() {
        for text in ["0", "500ms", "1500ms", "10s", "90s", "5m", "2h", "7d"] {
            let duration = parse_duration(text).expect("valid");
            assert_eq!(format_duration(duration), text);
        }
    }
}
