//! What the report says about the machine, read from `/proc`.

/// What the report says about the machine.
pub struct Machine {
    pub cores: usize,
    pub model: String,
    pub memory: String,
}

impl Machine {
    /// Reads the machine; call it before pinning, which narrows the cores
    /// this process sees.
    pub fn describe() -> Self {
        Self {
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            model: cpu_model(),
            memory: memory_total(),
        }
    }
}

/// `model name` from /proc/cpuinfo.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// `MemTotal` from /proc/meminfo, in GiB.
fn memory_total() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
        })
        .map_or_else(
            || "unknown".to_string(),
            |kib| format!("{:.1} GiB", kib / 1024.0 / 1024.0),
        )
}

/// The 1, 5 and 15 minute load averages: how busy the machine was.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "?".to_string())
}
