//! A tiny command-line parser: `--name value` and `--flag`, with a help text.

use std::collections::HashMap;

/// Whether `--name` appears in `help` as a whole option name.
fn documented(help: &str, name: &str) -> bool {
    let key = format!("--{name}");
    help.match_indices(&key).any(|(i, _)| {
        help[i + key.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '-' || c == '_'))
    })
}

/// Parsed arguments.
pub struct Args {
    values: HashMap<String, String>,
    flags: Vec<String>,
}

impl Args {
    /// Parses `std::env::args`; prints `help` and exits on `--help`. `flags` take no value; an
    /// option that `help` does not list is an error (a mistyped option is never ignored).
    pub fn parse(help: &str, flags: &[&str]) -> Result<Self, String> {
        let mut values = HashMap::new();
        let mut seen = Vec::new();
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            if a == "--help" || a == "-h" {
                println!("{help}");
                std::process::exit(0);
            }
            let Some(name) = a.strip_prefix("--") else {
                return Err(format!("unexpected argument `{a}` (see --help)"));
            };
            if !documented(help, name) {
                return Err(format!("unknown option `--{name}` (see --help)"));
            }
            if flags.contains(&name) {
                seen.push(name.to_string());
            } else {
                let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                values.insert(name.to_string(), v);
            }
        }
        Ok(Self {
            values,
            flags: seen,
        })
    }

    /// Whether a flag was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    /// A value parsed as `T`, or `default`.
    pub fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.values.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name}: cannot parse `{v}`")),
        }
    }

    /// A comma-separated list parsed as `T`, or `default` (itself such a list).
    pub fn list<T: std::str::FromStr>(&self, name: &str, default: &str) -> Result<Vec<T>, String> {
        let text = self.values.get(name).map(String::as_str).unwrap_or(default);
        text.split(',')
            .map(|v| {
                v.trim()
                    .parse::<T>()
                    .map_err(|_| format!("--{name}: cannot parse `{}`", v.trim()))
            })
            .collect()
    }

    /// A value as given, if given.
    pub fn values_get(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    /// A string value, or `default`.
    pub fn string(&self, name: &str, default: &str) -> String {
        self.values
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }
}
