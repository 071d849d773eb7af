//! The standard `process_*` families (resident memory, CPU time, open files, start time) of
//! this server's own process, read at scrape time through `sysinfo`.

use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};

use super::readings::{Kind, Readings};

/// Adds this process's families to `readings`; nothing where the platform does not tell.
pub fn read_into(readings: &mut Readings) {
    let Ok(pid) = sysinfo::get_current_pid() else {
        return;
    };
    let mut system = System::new();
    let refresh = ProcessRefreshKind::nothing()
        .with_memory()
        .with_cpu()
        .without_tasks();
    system.refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), false, refresh);
    let Some(process) = system.process(pid) else {
        return;
    };
    readings
        .family(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            Kind::Gauge,
        )
        .sample(&[], process.memory());
    readings
        .family(
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes.",
            Kind::Gauge,
        )
        .sample(&[], process.virtual_memory());
    readings
        .family(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            Kind::Counter,
        )
        .sample(&[], process.accumulated_cpu_time() as f64 / 1000.0);
    readings
        .family(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch in seconds.",
            Kind::Gauge,
        )
        .sample(&[], process.start_time());
    if let Some(open) = process.open_files() {
        readings
            .family(
                "process_open_fds",
                "Number of open file descriptors.",
                Kind::Gauge,
            )
            .sample(&[], open as u64);
    }
    if let Some(limit) = process.open_files_limit() {
        readings
            .family(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                Kind::Gauge,
            )
            .sample(&[], limit as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the unlabelled sample `name` in `text`.
    fn sample(text: &str, name: &str) -> f64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
            .parse()
            .expect("a number")
    }

    #[test]
    fn reads_this_process() {
        // Busy for 50 ms, so that the CPU time is past the kernel's 10 ms tick.
        let busy_until = std::time::Instant::now() + std::time::Duration::from_millis(50);
        while std::time::Instant::now() < busy_until {
            std::hint::spin_loop();
        }
        let mut readings = Readings::new();
        read_into(&mut readings);
        let mut text = String::new();
        readings.render(&mut text);
        assert!(
            sample(&text, "process_resident_memory_bytes") > 1e6,
            "{text}"
        );
        assert!(sample(&text, "process_cpu_seconds_total") > 0.0, "{text}");
        assert!(sample(&text, "process_open_fds") > 0.0, "{text}");
        let started = sample(&text, "process_start_time_seconds");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        assert!(started <= now && now - started < 86_400.0, "{text}");
    }
}
