//! Settings that are choices, each an enum parsed once when the configuration loads; the
//! error names the allowed values (the loader adds the key). The engine converts them to its
//! own types (a torch device, a tensor kind) where it uses them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `models.loading`: when a worker loads its model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loading {
    /// Before the worker starts; a model that does not load fails the start.
    Eager,
    /// On the worker thread at once; submissions wait until it is loaded.
    #[default]
    Background,
    /// On the worker thread when the first input arrives.
    Lazy,
}

/// A precision a model's weights and activations can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// 32-bit IEEE floats: the reference every other precision is checked against.
    F32,
    /// bfloat16: f32's range with 8 bits of mantissa.
    Bf16,
    /// IEEE half precision.
    F16,
}

impl Precision {
    /// Every precision, the reference (f32) first.
    pub const ALL: [Precision; 3] = [Precision::F32, Precision::Bf16, Precision::F16];

    /// `f32`, `bf16` or `f16`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::F16 => "f16",
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `inference.precision`: chosen by probing at load (`auto`) or fixed by the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PrecisionSetting {
    /// Probe every precision the device runs at load and keep the fastest that agrees with f32.
    #[default]
    Auto,
    /// Always this precision.
    Fixed(Precision),
}

/// What [`PrecisionSetting::from_str`] accepts, for error messages.
pub const PRECISION_VALUES: &str = "auto, f32, bf16 or f16";

impl FromStr for PrecisionSetting {
    type Err = String;

    /// `auto`, `f32` (`fp32`, `float32`), `bf16` (`bfloat16`) or `f16` (`fp16`, `float16`),
    /// in any case.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "auto" => PrecisionSetting::Auto,
            "f32" | "fp32" | "float32" => PrecisionSetting::Fixed(Precision::F32),
            "bf16" | "bfloat16" => PrecisionSetting::Fixed(Precision::Bf16),
            "f16" | "fp16" | "float16" => PrecisionSetting::Fixed(Precision::F16),
            _ => return Err(format!("expected {PRECISION_VALUES}, got {s:?}")),
        })
    }
}

impl TryFrom<String> for PrecisionSetting {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        value.parse()
    }
}

impl From<PrecisionSetting> for String {
    fn from(setting: PrecisionSetting) -> Self {
        match setting {
            PrecisionSetting::Auto => "auto".into(),
            PrecisionSetting::Fixed(precision) => precision.as_str().into(),
        }
    }
}

/// `inference.device`: where the models run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceSetting {
    /// The first CUDA device when the machine has one, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// The CUDA device of this index (`cuda` alone means 0). Whether it exists is checked
    /// when the models load.
    Cuda(usize),
}

/// What [`DeviceSetting::from_str`] accepts, for error messages.
pub const DEVICE_VALUES: &str = "auto, cpu, cuda or cuda:N";

impl FromStr for DeviceSetting {
    type Err = String;

    /// `auto`, `cpu`, `cuda` or `cuda:N`, in any case.
    fn from_str(s: &str) -> Result<Self, String> {
        let invalid = || format!("expected {DEVICE_VALUES}, got {s:?}");
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "auto" => DeviceSetting::Auto,
            "cpu" => DeviceSetting::Cpu,
            "cuda" => DeviceSetting::Cuda(0),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceSetting::Cuda)
                .ok_or_else(invalid)?,
        })
    }
}

impl TryFrom<String> for DeviceSetting {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        value.parse()
    }
}

impl From<DeviceSetting> for String {
    fn from(setting: DeviceSetting) -> Self {
        setting.to_string()
    }
}

impl fmt::Display for DeviceSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSetting::Auto => f.write_str("auto"),
            DeviceSetting::Cpu => f.write_str("cpu"),
            DeviceSetting::Cuda(index) => write!(f, "cuda:{index}"),
        }
    }
}

/// `inference.threads`: a count of torch intra-op threads, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// Every core this process may run on: its CPU affinity mask and cgroup CPU quota, as
    /// `std::thread::available_parallelism` reads them (1 when they cannot be read).
    Auto,
    /// Exactly this many.
    Count(usize),
}

impl Threads {
    /// The number of threads this setting means on this machine.
    pub fn count(self) -> usize {
        match self {
            Threads::Count(n) => n,
            Threads::Auto => std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

impl Serialize for Threads {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Threads::Auto => serializer.serialize_str("auto"),
            Threads::Count(n) => serializer.serialize_u64(*n as u64),
        }
    }
}

impl<'de> Deserialize<'de> for Threads {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Threads;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("auto or a positive number of threads")
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Threads, E> {
                usize::try_from(n)
                    .ok()
                    .filter(|&n| n > 0)
                    .map(Threads::Count)
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(n), &self))
            }

            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Threads, E> {
                u64::try_from(n)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(n), &self))
                    .and_then(|n| self.visit_u64(n))
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Threads, E> {
                if s.trim().eq_ignore_ascii_case("auto") {
                    Ok(Threads::Auto)
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Str(s), &self))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// Whether `temperature` is one a generator accepts (0 = greedy, at most 2): the range of
/// `sampling.*.temperature` and of a request's override.
pub fn valid_temperature(temperature: f32) -> bool {
    (0.0..=2.0).contains(&temperature)
}

/// Whether `top_p` is a usable nucleus threshold, in (0, 1]: the range of
/// `sampling.*.top_p` and of a request's override.
pub fn valid_top_p(top_p: f32) -> bool {
    top_p > 0.0 && top_p <= 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_in_any_spelling_and_name_the_allowed_values() {
        let parse = |s: &str| s.parse::<PrecisionSetting>();
        assert_eq!(parse("auto"), Ok(PrecisionSetting::Auto));
        assert_eq!(parse("BF16"), Ok(PrecisionSetting::Fixed(Precision::Bf16)));
        assert_eq!(parse("fp16"), Ok(PrecisionSetting::Fixed(Precision::F16)));
        assert_eq!(
            parse("float32"),
            Ok(PrecisionSetting::Fixed(Precision::F32))
        );
        let err = parse("int8").unwrap_err();
        assert!(
            err.contains(PRECISION_VALUES) && err.contains("int8"),
            "{err}"
        );
        for precision in Precision::ALL {
            let text = String::from(PrecisionSetting::Fixed(precision));
            assert_eq!(parse(&text), Ok(PrecisionSetting::Fixed(precision)));
        }
    }

    #[test]
    fn devices_parse_in_any_case() {
        assert_eq!("CPU".parse::<DeviceSetting>(), Ok(DeviceSetting::Cpu));
        assert_eq!(" auto ".parse::<DeviceSetting>(), Ok(DeviceSetting::Auto));
        assert_eq!("cuda".parse::<DeviceSetting>(), Ok(DeviceSetting::Cuda(0)));
        assert_eq!(
            "cuda:3".parse::<DeviceSetting>(),
            Ok(DeviceSetting::Cuda(3))
        );
        for bad in ["gpu", "cuda:", "cuda:-1", "cuda:x", ""] {
            let err = bad.parse::<DeviceSetting>().unwrap_err();
            assert!(err.contains(DEVICE_VALUES), "{err}");
        }
        assert_eq!(DeviceSetting::Cuda(2).to_string(), "cuda:2");
    }

    #[test]
    fn sampling_ranges() {
        assert!(valid_temperature(0.0) && valid_temperature(2.0));
        assert!(!valid_temperature(2.1) && !valid_temperature(f32::NAN));
        assert!(valid_top_p(1.0) && !valid_top_p(0.0) && !valid_top_p(f32::NAN));
    }
}
