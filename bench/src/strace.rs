//! Reading `strace -f -tt -e trace=execve` output: which processes the
//! server started during a task start, and how long each lived.

/// `git worktree add` from strace's argv `"git", "-C", "…", "-c", "k=v", "worktree", "add", …`:
/// the program and its first two words that are not options or their values.
fn command_name(args: &str) -> String {
    let words: Vec<&str> = args.split(", ").map(|w| w.trim_matches('"')).collect();
    let program = words
        .first()
        .map_or("", |w| w.rsplit('/').next().unwrap_or(w));
    let mut out = vec![program];
    let mut i = 1;
    while i < words.len() && out.len() < 3 {
        match words[i] {
            "-C" | "-c" => i += 1,
            w if w.starts_with('-') => {}
            w => out.push(w),
        }
        i += 1;
    }
    out.join(" ")
}

/// Seconds since midnight from strace's `HH:MM:SS.micros`.
fn clock(t: &str) -> Option<f64> {
    let mut parts = t.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    Some(h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
}

/// "`command` N ms" for every process that exec'd and exited in `strace -f
/// -tt -e trace=execve` output, longest first.
pub fn parse(text: &str) -> Vec<String> {
    use std::collections::HashMap;
    // pid → (first exec time, command, exit time)
    let mut procs: HashMap<&str, (f64, String, Option<f64>)> = HashMap::new();
    for line in text.lines() {
        let mut it = line.splitn(3, ' ');
        let (Some(pid), Some(t), Some(rest)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let Some(t) = clock(t) else { continue };
        if rest.starts_with("execve(") && rest.ends_with("= 0") {
            let args = rest
                .split_once('[')
                .and_then(|(_, a)| a.split_once(']'))
                .map_or("", |(a, _)| a);
            procs.entry(pid).or_insert((t, command_name(args), None));
        } else if (rest.starts_with("+++ exited") || rest.starts_with("+++ killed"))
            && let Some(p) = procs.get_mut(pid)
        {
            p.2 = Some(t);
        }
    }
    let mut out: Vec<(f64, String)> = procs
        .into_values()
        .filter_map(|(start, cmd, end)| end.map(|e| ((e - start) * 1_000.0, cmd)))
        .collect();
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter()
        .map(|(ms, cmd)| format!("`{cmd}` {ms:.1} ms"))
        .collect()
}
