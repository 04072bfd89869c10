//! The protocols' results as a Markdown table: a row per method, a column pair (W1, W2) per
//! transition, and the mean over transitions.

use super::{Score, Transition};
use std::fmt::Write as _;

fn cell(s: &Score) -> String {
    let w1 = if s.w1_sd > 0.0 {
        format!("{:.3} ± {:.3}", s.w1, s.w1_sd)
    } else {
        format!("{:.3}", s.w1)
    };
    let w2 = if s.w2.is_finite() {
        format!("{:.3}", s.w2)
    } else {
        "–".to_string()
    };
    format!(" {w1} | {w2} |")
}

/// `title`, then a Markdown table of `rows` (transitions, in the order given): one row per
/// method in order of first appearance, W1 (± sd over repeats) and W2 per transition (`–` where
/// a method has no score or no W2, e.g. a published W1 only), and the mean over the transitions
/// the method has, when there are several.
pub fn markdown_table(title: &str, rows: &[Transition]) -> String {
    let mut methods: Vec<&str> = Vec::new();
    for r in rows {
        for (m, _) in &r.scores {
            if !methods.contains(&m.as_str()) {
                methods.push(m);
            }
        }
    }
    let mean = rows.len() > 1;
    let mut out = format!("{title}\n| method |");
    for r in rows {
        let tag = if r.left_out { ", left out" } else { "" };
        let _ = write!(out, " → t{} = {}{tag}: W1 | W2 |", r.k, r.time);
    }
    if mean {
        out.push_str(" mean W1 | mean W2 |");
    }
    out.push_str("\n|---|");
    out.push_str(&"---|---|".repeat(rows.len() + usize::from(mean)));
    out.push('\n');
    for m in methods {
        let _ = write!(out, "| {m} |");
        let mut had = Vec::new();
        for r in rows {
            match r.scores.iter().find(|(n, _)| n == m) {
                Some((_, s)) => {
                    out.push_str(&cell(s));
                    had.push(*s);
                }
                None => out.push_str(" – | – |"),
            }
        }
        if mean {
            let n = had.len().max(1) as f64;
            let w1 = had.iter().map(|s| s.w1).sum::<f64>() / n;
            let w2 = had.iter().map(|s| s.w2).sum::<f64>() / n;
            out.push_str(&cell(&Score { w1, w1_sd: 0.0, w2 }));
        }
        out.push('\n');
    }
    out
}
