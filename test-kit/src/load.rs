//! The figures load drivers print.

/// Resident memory of process `pid` (`None`: this process), KiB, from
/// `/proc` (Linux only; `None` elsewhere).
pub fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The `p` quantile (0–1, nearest rank) of sorted microsecond values, in
/// milliseconds; 0 for no values.
pub fn percentile_ms(sorted_micros: &[u64], p: f64) -> f64 {
    if sorted_micros.is_empty() {
        return 0.0;
    }
    let i = ((sorted_micros.len() as f64 - 1.0) * p).round() as usize;
    sorted_micros[i.min(sorted_micros.len() - 1)] as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_nearest_rank() {
        let v = [1000, 2000, 3000, 4000, 5000];
        assert_eq!(percentile_ms(&v, 0.0), 1.0);
        assert_eq!(percentile_ms(&v, 0.5), 3.0);
        assert_eq!(percentile_ms(&v, 1.0), 5.0);
        assert_eq!(percentile_ms(&[], 0.5), 0.0);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn own_memory_is_known() {
        assert!(rss_kib(None).unwrap() > 0);
        assert_eq!(rss_kib(Some(u32::MAX)), None);
    }
}
