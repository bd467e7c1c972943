//! A small command-line parser: flags with values, boolean switches, and one-line errors.
//! (Hand-written so that every mistake yields exactly one `error: …` line, as the CLI promises.)

use std::collections::HashMap;

#[derive(Debug)]
pub struct Args {
    values: HashMap<&'static str, String>,
    switches: Vec<&'static str>,
}

/// One accepted option: its names (first is canonical) and whether it takes a value.
pub struct Opt {
    pub names: &'static [&'static str],
    pub takes_value: bool,
}

pub const fn value(names: &'static [&'static str]) -> Opt {
    Opt {
        names,
        takes_value: true,
    }
}

pub const fn switch(names: &'static [&'static str]) -> Opt {
    Opt {
        names,
        takes_value: false,
    }
}

impl Args {
    pub fn parse(argv: &[String], spec: &[Opt]) -> Result<Args, String> {
        let mut values = HashMap::new();
        let mut switches = Vec::new();
        let mut i = 0;
        while i < argv.len() {
            let arg = &argv[i];
            // Accept --flag=value as well as --flag value.
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
                _ => (arg.as_str(), None),
            };
            let opt = spec
                .iter()
                .find(|o| o.names.contains(&name))
                .ok_or_else(|| format!("unknown argument '{arg}' (try --help)"))?;
            let key = opt.names[0];
            if opt.takes_value {
                let v = match inline {
                    Some(v) => v,
                    None => {
                        i += 1;
                        argv.get(i)
                            .cloned()
                            .ok_or_else(|| format!("{name} needs a value"))?
                    }
                };
                values.insert(key, v);
            } else {
                switches.push(key);
            }
            i += 1;
        }
        Ok(Args { values, switches })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn has(&self, key: &str) -> bool {
        self.switches.contains(&key)
    }

    pub fn require(&self, key: &str) -> Result<&str, String> {
        self.get(key).ok_or_else(|| format!("{key} is required"))
    }

    /// A parsed value, or the default when absent.
    pub fn num<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("{key}: '{v}' is not a valid number")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[Opt] = &[
        value(&["-m", "--model"]),
        value(&["-n"]),
        switch(&["--json"]),
    ];

    fn parse(a: &[&str]) -> Result<Args, String> {
        Args::parse(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>(), SPEC)
    }

    #[test]
    fn values_switches_and_aliases() {
        let a = parse(&["--model=x.gguf", "-n", "5", "--json"]).unwrap();
        assert_eq!(a.get("-m"), Some("x.gguf"));
        assert_eq!(a.num("-n", 0usize).unwrap(), 5);
        assert!(a.has("--json"));
    }

    #[test]
    fn mistakes_are_one_line_errors() {
        assert!(parse(&["--bogus"])
            .unwrap_err()
            .contains("unknown argument"));
        assert!(parse(&["-m"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["-n", "x"])
            .unwrap()
            .num("-n", 0usize)
            .unwrap_err()
            .contains("not a valid number"));
    }
}
