//! The seed's `ModelCatalog` / `ModelEntry` (WU2.1) and its `new`, `add_model` and `save`
//! (WU2.2), copied field for field, behind a small command line for the compatibility test:
//!
//!   seedcatalog roundtrip [FILE]   read a catalog (FILE or stdin), write it back as the seed's
//!                                  `save` would (serde_json::to_string_pretty) on stdout
//!   seedcatalog new POOL_ID        write a fresh catalog as `new` + `add_model` x2 + `save`
//!   seedcatalog stamp SECS NANOS   the `updated_at` text for that instant since the epoch
//!
//! Any catalog that does not fit the seed's types exits 1 with serde's message on stderr.
//! `chrono` is not used: Debian's package pulls in 40 more crates, so `rfc3339_now` formats the
//! time by hand exactly as `chrono::Utc::now().to_rfc3339()` does (`+00:00`, AutoSi fraction).

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

// ---- the seed's types, verbatim ----------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelCatalog {
    pub version: String,
    pub pool_id: String,
    pub updated_at: String,
    pub models: Vec<ModelEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEntry {
    pub id: String,
    pub name: String,
    pub path: PathBuf,
    pub format: String,
    pub size_gb: f64,
    pub architecture: String,
    pub downloaded: bool,
    pub backends: Vec<String>,
    pub metadata: serde_json::Value,
}

impl ModelCatalog {
    pub fn new(pool_id: String) -> Self {
        Self {
            version: "1.0".to_string(),
            pool_id,
            updated_at: rfc3339_now(),
            models: Vec::new(),
        }
    }

    pub fn find_model(&self, id: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.id == id)
    }

    pub fn add_model(&mut self, entry: ModelEntry) -> Result<(), String> {
        if self.find_model(&entry.id).is_some() {
            return Err(format!("Model {} already exists", entry.id));
        }
        self.models.push(entry);
        self.updated_at = rfc3339_now();
        Ok(())
    }

    /// The seed's `save` without the file: the exact bytes it would write.
    pub fn to_saved_text(&self) -> Result<String, String> {
        serde_json::to_string_pretty(self).map_err(|e| e.to_string())
    }
}

// ---- chrono::Utc::now().to_rfc3339() without chrono --------------------------------------

fn rfc3339_now() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock before 1970");
    format_rfc3339(now.as_secs(), now.subsec_nanos())
}

/// chrono's `to_rfc3339` (SecondsFormat::AutoSi): no fraction when nanos are 0, else the
/// shortest of 3, 6 or 9 digits that is exact; always `+00:00` for UTC.
fn format_rfc3339(secs: u64, nanos: u32) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    let fraction = if nanos == 0 {
        String::new()
    } else if nanos % 1_000_000 == 0 {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos % 1_000 == 0 {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{:09}", nanos)
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}+00:00",
        year,
        month,
        day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        fraction
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

// ---- command line --------------------------------------------------------------------------

fn roundtrip(text: &str) -> Result<String, String> {
    let catalog: ModelCatalog = serde_json::from_str(text).map_err(|e| e.to_string())?;
    catalog.to_saved_text()
}

fn fresh_catalog(pool_id: String) -> Result<String, String> {
    let mut catalog = ModelCatalog::new(pool_id);
    // The seed's `rbee-hive models register` entry (WU2.3) for two of its test models.
    catalog.add_model(ModelEntry {
        id: "tinyllama".to_string(),
        name: "TinyLlama 1.1B Chat".to_string(),
        path: PathBuf::from(".test-models/tinyllama"),
        format: "safetensors".to_string(),
        size_gb: 2.2,
        architecture: "llama".to_string(),
        downloaded: true,
        backends: vec!["cpu".to_string(), "metal".to_string(), "cuda".to_string()],
        metadata: serde_json::json!({
            "repo": "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
            "context_length": 2048,
            "vocab_size": 32000,
            "quantization": "Q4_K_M"
        }),
    })?;
    catalog.add_model(ModelEntry {
        id: "qwen-0.5b".to_string(),
        name: "Qwen2.5 0.5B Instruct".to_string(),
        path: PathBuf::from(".test-models/qwen-0.5b"),
        format: "safetensors".to_string(),
        size_gb: 0.0,
        architecture: "qwen2".to_string(),
        downloaded: false,
        backends: vec!["cpu".to_string(), "metal".to_string(), "cuda".to_string()],
        metadata: serde_json::json!({ "repo": "Qwen/Qwen2.5-0.5B-Instruct" }),
    })?;
    catalog.to_saved_text()
}

fn run(args: &[String]) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["roundtrip"] | ["roundtrip", "-"] => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| e.to_string())?;
            writeln!(out, "{}", roundtrip(&text)?).map_err(|e| e.to_string())
        }
        ["roundtrip", file] => {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {}", file, e))?;
            writeln!(out, "{}", roundtrip(&text)?).map_err(|e| e.to_string())
        }
        ["stamp", secs, nanos] => {
            let secs = secs.parse().map_err(|_| "stamp: SECS must be a number".to_string())?;
            let nanos = nanos.parse().map_err(|_| "stamp: NANOS must be a number".to_string())?;
            writeln!(out, "{}", format_rfc3339(secs, nanos)).map_err(|e| e.to_string())
        }
        ["new", pool_id] => {
            write!(out, "{}", fresh_catalog(pool_id.to_string())?).map_err(|e| e.to_string())
        }
        _ => Err("usage: seedcatalog roundtrip [FILE] | new POOL_ID | stamp SECS NANOS".to_string()),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(message) = run(&args) {
        eprintln!("error: {}", message);
        std::process::exit(1);
    }
}
