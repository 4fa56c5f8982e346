//! Durations as flags and the config file take them: a number and a unit, "24h", "30m", "365d"
//! (humantime's forms, "1h 30m" included), or 0.

use std::time::Duration;

/// The longest duration a setting takes: beyond a century, a window means "forever", which
/// each setting says in its own way (0 for history).
const LONGEST: Duration = Duration::from_secs(100 * 365 * 86_400);

/// A duration of zero or more.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let duration = humantime::parse_duration(text).map_err(|e| {
        format!("{e}: give a number and a unit, such as 30m, 24h or 365d (s, m, h, d, w)")
    })?;
    if duration > LONGEST {
        return Err(format!(
            "{text} is longer than a century, the longest this takes"
        ));
    }
    Ok(duration)
}

/// A duration of at least a second.
pub fn parse_positive(text: &str) -> Result<Duration, String> {
    let duration = parse(text)?;
    if duration < Duration::from_secs(1) {
        return Err(format!("{text} is shorter than a second: give at least 1s"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit_and_say_which_when_missing() {
        assert_eq!(parse("365d"), Ok(Duration::from_secs(365 * 86_400)));
        assert_eq!(parse("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse(" 10m "), Ok(Duration::from_secs(600)));
        assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        let bare = parse("365").unwrap_err();
        assert!(bare.contains("30m, 24h or 365d"), "{bare}");
        assert!(parse("-1d").is_err());
        assert!(parse("101y").unwrap_err().contains("century"));
        assert!(parse_positive("0").unwrap_err().contains("at least 1s"));
        assert_eq!(parse_positive("1s"), Ok(Duration::from_secs(1)));
    }
}
